/**
 * cdk-nag AwsSolutionsChecks: zero unacknowledged findings, errors or warnings, in every
 * supported configuration; every acknowledgement sits on the resource it concerns (never a whole stack), names one
 * rule (and finding), gives a reason, and is still needed.
 */
import type { IConstruct } from 'constructs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { PolicyViolation } from 'aws-cdk-lib';
import { Stack, Stage } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { iamFindings, nagAcknowledgements } from './support/acknowledgements.js';
import { synthesize, type Synthesized } from './support/synth.js';

function describeViolations(violations: PolicyViolation[]): string[] {
  return violations.flatMap((violation) =>
    violation.violatingResources.map((resource) => `${violation.severity} ${violation.ruleName} at ${resource.constructPath}: ${violation.description}`),
  );
}

/** The findings cdk-nag would report if nothing were acknowledged (to spot acknowledgements nobody needs). */
function findingsIgnoringAcknowledgements(root: IConstruct): Array<{ id: string; path: string }> {
  const pack = new AwsSolutionsChecks();
  Object.defineProperty(pack, 'isAcknowledged', { value: () => false });
  return pack
    .validateScope(root)
    .violations.flatMap((violation) => violation.violatingResources.map((resource) => ({ id: violation.ruleName, path: resource.constructPath ?? '' })));
}

describe.each([
  ['dev (defaults: no alarms, no dashboard)', {}],
  ['dev with the alarms (an alarm e-mail, so a topic) and the dashboard', { alarmEmail: 'dev@example.com', dashboard: 'true' }],
  [
    'prod with alarm e-mail, an origin, the console, an admin group and route scopes',
    {
      stage: 'prod',
      alarmEmail: 'ops@example.com',
      corsOrigins: 'https://video.example.com',
      console: 'true',
      adminGroup: 'reelay-ops',
      routeScopes: '{"user":["reelay/api"],"admin":["reelay/admin"]}',
    },
  ],
  [
    'dev with an external issuer, an existing Mux secret, no access logs and the console',
    {
      jwtIssuer: 'https://auth.example.com/',
      jwtAudience: 'reelay',
      console: 'true',
      consoleAuthDomain: 'https://auth.example.com',
      consoleClientId: 'reelay',
      muxSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:reelay/mux-AbCdEf',
      bucketAccessLogs: 'false',
      reservedConcurrency: '{"ingest": 5}',
    },
  ],
  ['prod with the events webhook (generated key) and an alarm e-mail', { stage: 'prod', alarmEmail: 'ops@example.com', eventsWebhookUrl: 'https://hooks.example.com/reelay' }],
  [
    'dev on an existing bus (ARN), archived on request, with the webhook and an existing key secret',
    {
      eventBusName: 'arn:aws:events:eu-west-1:123456789012:event-bus/apps',
      eventsArchive: 'true',
      eventsWebhookUrl: 'https://hooks.example.com/reelay',
      eventsWebhookSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:reelay/webhook-key-AbCdEf',
    },
  ],
])('cdk-nag on %s', (_label, context) => {
  let synth: Synthesized;
  beforeAll(() => {
    // nag: true registers AwsSolutionsChecks exactly as infra/app.ts does: synthesis itself fails on a finding.
    synth = synthesize(context, { nag: true });
  }, 120_000);

  it('reports no unacknowledged finding (errors and warnings alike)', () => {
    const report = new AwsSolutionsChecks().validateScope(synth.stack);
    expect(describeViolations(report.violations)).toEqual([]);
  });

  it('acknowledges on resources only, never on a stage, stack or app', () => {
    const acknowledgements = nagAcknowledgements(synth.app);
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const ack of acknowledgements) {
      expect(Stack.isStack(ack.construct) || Stage.isStage(ack.construct), `${ack.id} on ${ack.path}`).toBe(false);
    }
  });

  it('names one rule per acknowledgement, with a reason a reviewer can weigh', () => {
    for (const ack of nagAcknowledgements(synth.app)) {
      expect(ack.id).toMatch(/^AwsSolutions-[A-Z]+\d+(\[[A-Za-z]+::.+\])?$/);
      expect(ack.reason.length, `${ack.id} on ${ack.path}`).toBeGreaterThanOrEqual(50);
    }
  });

  it('keeps no acknowledgement that nothing needs', () => {
    const needed = [...findingsIgnoringAcknowledgements(synth.stack), ...iamFindings(synth.json)];
    const stale = nagAcknowledgements(synth.app)
      .filter((ack) => !needed.some((finding) => finding.id === ack.id && (finding.path === ack.path || finding.path.startsWith(`${ack.path}/`))))
      .map((ack) => `${ack.id} on ${ack.path}`);
    expect(stale).toEqual([]);
  });
});
