/**
 * `npm run verify -- --api <url> [--token <jwt>] [--admin-token <jwt>] [--apply-migrations] [--timeout <s>] [--clip <file>]`:
 * the post-deploy check, against `npm start` or a deployed stack (docs/DEPLOY.md, "Check the deployment"). One line
 * per check, a summary, exit code 1 when any check failed and 2 for a bad command line.
 */
import { parseVerifyArguments, usage, UsageError } from './args.js';
import { runVerify } from './verify.js';

async function main(): Promise<void> {
  const config = parseVerifyArguments(process.argv.slice(2));
  const outcome = await runVerify(config, (line) => process.stdout.write(`${line}\n`));
  process.exitCode = outcome.ok ? 0 : 1;
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`${error.message}\n${usage}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`npm run verify failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
