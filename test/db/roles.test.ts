/** The SCRAM-SHA-256 verifier the migrate function stores for a role, checked against RFC 7677's example exchange. */
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MigrationError } from '../../shared/errors.js';
import { scramSha256Verifier } from '../../shared/db/roles.js';

/*
 * RFC 7677, section 3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations. A server that
 * stores the verifier must produce the exchange's ServerSignature from ServerKey, and the client's proof must
 * recover a ClientKey whose hash is StoredKey.
 */
const rfc = {
  password: 'pencil',
  salt: 'W22ZaJ0SNY7soEsUEjb6gQ==',
  authMessage:
    'n=user,r=rOprNGfwEbeRWgbNEkqO,' +
    'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,' +
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  clientProof: 'dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverSignature: '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

describe('scramSha256Verifier', () => {
  it('produces the keys of RFC 7677’s example exchange', () => {
    const verifier = scramSha256Verifier(rfc.password, { salt: Buffer.from(rfc.salt, 'base64'), iterations: 4096 });
    const match = /^SCRAM-SHA-256\$4096:([^$]+)\$([^:]+):(.+)$/.exec(verifier);
    expect(match?.[1]).toBe(rfc.salt);
    const storedKey = Buffer.from(match?.[2] ?? '', 'base64');
    const serverKey = Buffer.from(match?.[3] ?? '', 'base64');
    expect(createHmac('sha256', serverKey).update(rfc.authMessage).digest('base64')).toBe(rfc.serverSignature);
    const clientSignature = createHmac('sha256', storedKey).update(rfc.authMessage).digest();
    const proof = Buffer.from(rfc.clientProof, 'base64');
    const clientKey = Buffer.from(proof.map((byte, index) => byte ^ (clientSignature[index] as number)));
    expect(createHash('sha256').update(clientKey).digest().equals(storedKey)).toBe(true);
  });

  it('salts every verifier anew', () => {
    expect(scramSha256Verifier('same-password')).not.toBe(scramSha256Verifier('same-password'));
  });

  it.each([['a space', 'with space'], ['non-ASCII', 'pässword'], ['a quote and a newline', "it's\n"], ['nothing', '']])(
    'refuses a password with %s (SASLprep would change it)',
    (_what, password) => {
      expect(() => scramSha256Verifier(password)).toThrow(MigrationError);
    },
  );
});
