// Runs in a fresh Node process: imports one Lambda bundle, calls its handler with one event, and prints one line
// `SMOKE_RESULT {json}` saying how far it got (import, export, returned or threw). Handler logs go to stdout too.
import process from 'node:process';
import { pathToFileURL } from 'node:url';

const [bundlePath, eventJson, functionName] = process.argv.slice(2);

function describeError(error) {
  if (!(error instanceof Error)) return { kind: typeof error, value: String(error) };
  return {
    name: error.name,
    constructorName: error.constructor?.name,
    code: typeof error.code === 'string' ? error.code : undefined,
    message: error.message,
    stack: (error.stack ?? '').split('\n').slice(0, 6).join('\n'),
  };
}

function report(result) {
  process.stdout.write(`\nSMOKE_RESULT ${JSON.stringify(result)}\n`);
}

let module;
try {
  module = await import(pathToFileURL(bundlePath).href);
} catch (error) {
  report({ phase: 'import', error: describeError(error) });
  process.exit(0);
}
if (typeof module.handler !== 'function') {
  report({ phase: 'export', exports: Object.keys(module) });
  process.exit(0);
}
const context = {
  functionName,
  functionVersion: '$LATEST',
  awsRequestId: 'smoke-request-1',
  invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
  memoryLimitInMB: '512',
  logGroupName: `/aws/lambda/${functionName}`,
  logStreamName: 'smoke',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 25_000,
  done() {},
  fail() {},
  succeed() {},
};
try {
  const result = await module.handler(JSON.parse(eventJson), context);
  report({ phase: 'returned', result: result === undefined ? null : result });
} catch (error) {
  report({ phase: 'threw', error: describeError(error) });
}
// Open sockets or timers in a handler must not keep the smoke run alive.
process.exit(0);
