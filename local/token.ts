/**
 * `npm run token -- --sub alice [--admin] [--group editors] [--expires-in 12h]` prints a bearer token that the local
 * API emulator accepts:  curl -H "Authorization: Bearer $(npm run -s token -- --sub alice)" http://127.0.0.1:3000/api/videos
 */
import { parseArgs } from 'node:util';
import { createLocalAuth } from './auth/local-auth.js';

const usage = 'usage: npm run token -- --sub <user id> [--admin] [--group <name>]... [--expires-in <span, e.g. 12h>]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sub: { type: 'string' },
      admin: { type: 'boolean', default: false },
      group: { type: 'string', multiple: true, default: [] },
      'expires-in': { type: 'string', default: '12h' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.sub) {
    process.stderr.write(`${usage}\n`);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const auth = await createLocalAuth();
  const token = await auth.mintToken({ sub: values.sub, admin: values.admin, groups: values.group, expiresIn: values['expires-in'] });
  process.stdout.write(`${token}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n${usage}\n`);
  process.exitCode = 1;
});
