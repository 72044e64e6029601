import { describe, expect, it } from 'vitest';
import { parseGroups, principalFromClaims } from '../../shared/http/principal.js';

describe('cognito:groups as API Gateway passes it', () => {
  it.each([
    ['[admin editors]', ['admin', 'editors']],
    ['admin,editors', ['admin', 'editors']],
    ['admin, editors', ['admin', 'editors']],
    ['["admin","editors"]', ['admin', 'editors']],
    ['[admin]', ['admin']],
    ['admin', ['admin']],
    ['[]', []],
    ['', []],
  ])('reads %j as %j', (claim, groups) => {
    expect(parseGroups(claim)).toEqual(groups);
  });

  it('reads a real array from a direct invocation', () => {
    expect(parseGroups(['admin', 'editors'])).toEqual(['admin', 'editors']);
  });

  it('does not mistake a group that merely contains "admin" for the admin group', () => {
    expect(principalFromClaims({ sub: 'alice', 'cognito:groups': '[administrators not-admin]' })?.admin).toBe(false);
  });
});

describe('the principal', () => {
  it('is the token subject, admin when the groups hold admin', () => {
    expect(principalFromClaims({ sub: 'alice', 'cognito:groups': '[editors admin]' })).toMatchObject({ sub: 'alice', admin: true, groups: ['editors', 'admin'] });
    expect(principalFromClaims({ sub: 'bob' })).toMatchObject({ sub: 'bob', admin: false, groups: [] });
  });

  it('does not exist without claims or without a subject', () => {
    expect(principalFromClaims(undefined)).toBeUndefined();
    expect(principalFromClaims({ 'cognito:groups': '[admin]' })).toBeUndefined();
    expect(principalFromClaims({ sub: '' })).toBeUndefined();
  });
});
