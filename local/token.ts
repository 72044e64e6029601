/**
 * `npm run token -- --sub alice [--admin] [--group editors] [--scope reelay/upload] [--expires-in 12h]` prints a bearer
 * token that the local API emulator accepts:
 *   curl -H "Authorization: Bearer $(npm run -s token -- --sub alice)" http://127.0.0.1:3000/api/videos
 * `--admin` adds the admin group: `--admin-group`, else ADMIN_GROUP from the environment (as `npm start` reads it),
 * else `admin`. The key pair is the one `npm start` uses: `auth/` in `--state-dir`, else in `.local` (or REELAY_LOCAL_DIR).
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAdminGroup } from '../shared/http/principal.js';
import { createLocalAuth } from './auth/local-auth.js';
import { localStateDir } from './stack/config.js';

const usage =
  'usage: npm run token -- --sub <user id> [--admin] [--admin-group <name>] [--group <name>]... [--scope <scope>]... [--expires-in <span, e.g. 12h>] [--state-dir <folder>]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sub: { type: 'string' },
      admin: { type: 'boolean', default: false },
      'admin-group': { type: 'string' },
      group: { type: 'string', multiple: true, default: [] },
      scope: { type: 'string', multiple: true, default: [] },
      'expires-in': { type: 'string', default: '12h' },
      'state-dir': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.sub) {
    process.stderr.write(`${usage}\n`);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const stateDir = resolve(values['state-dir'] ?? localStateDir);
  const auth = await createLocalAuth({ adminGroup: parseAdminGroup(values['admin-group'] ?? process.env.ADMIN_GROUP), dir: join(stateDir, 'auth') });
  const token = await auth.mintToken({ sub: values.sub, admin: values.admin, groups: values.group, scopes: values.scope, expiresIn: values['expires-in'] });
  process.stdout.write(`${token}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n${usage}\n`);
  process.exitCode = 1;
});
