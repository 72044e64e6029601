/**
 * Least privilege: every allowed action or resource with a `*`, and every AWS-managed
 * policy, must be acknowledged on its own resource with a reason; and each function holds exactly the permissions
 * its `uses` in functions/routes.json imply.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { deleteObjectActions, storedFileReadActions, UploadBucket, uploadObjectActions } from '../../infra/constructs/upload-bucket.js';
import { pendingWorkRoot } from '../../shared/storage/pending-work.js';
import { databaseAccessOf, loadManifest, type FunctionSpec } from '../../infra/manifest.js';
import { eventPublishersOf } from '../../infra/stack.js';
import { acknowledgedAt, iamFindings, renderForNag } from './support/acknowledgements.js';
import { constructPathOf, functionLogicalId, resourcesOfType, synthesize, type Synthesized } from './support/synth.js';

const manifest = loadManifest();
const eventPublishers = eventPublishersOf(manifest);
const xrayActions = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

/** All statements that apply to a function's role: its inline policies and attached policies. */
function statementsForFunction(synth: Synthesized, name: string): Statement[] {
  const fn = synth.json.Resources[functionLogicalId(synth, name)];
  const roleId = (fn?.Properties?.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const role = synth.json.Resources[roleId];
  expect(role?.Properties?.ManagedPolicyArns ?? []).toEqual([]);
  const statements: Statement[] = [];
  for (const [, policy] of resourcesOfType(synth.json, 'AWS::IAM::Policy')) {
    const roles = (policy.Properties?.Roles as Array<{ Ref: string }> | undefined) ?? [];
    if (!roles.some((ref) => ref.Ref === roleId)) continue;
    statements.push(...((policy.Properties?.PolicyDocument as { Statement: Statement[] }).Statement));
  }
  return statements;
}

function actionsOf(statements: Statement[]): string[] {
  return statements.flatMap((statement) => (Array.isArray(statement.Action) ? statement.Action : [statement.Action]));
}

function resourcesFor(statements: Statement[], prefix: string): string[] {
  return statements
    .filter((statement) => actionsOf([statement]).some((action) => action.startsWith(prefix)))
    .flatMap((statement) => (Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource]).map(renderForNag));
}

/** Which of the stack's secrets a rendered secretsmanager resource is. */
function secretsNamed(resources: readonly string[]): string[] {
  const labels: Array<[RegExp, string]> = [
    [/^<DatabaseClusterSecretAttachment\w+>$/, 'master'],
    [/^<DatabaseAppSecretAttachment\w+>$/, 'app'],
    [/^<DatabaseReadSecretAttachment\w+>$/, 'read'],
    [/^<MuxSecret\w+>$/, 'mux'],
    [/^<AssetBindingKey\w+>$/, 'binding'],
  ];
  return [...new Set(resources.map((resource) => labels.find(([pattern]) => pattern.test(resource))?.[1] ?? resource))].sort();
}

/** `mux-playback` reads the Mux secret (its URL signing key) only when the playback policy is signed. */
const readsMuxSecret = (spec: FunctionSpec, signed: boolean) => spec.uses.includes('mux') || (signed && spec.uses.includes('mux-playback'));

function expectedSecrets(spec: FunctionSpec, signed: boolean): string[] {
  const byAccess = { database: 'app', 'database-read': 'read', 'database-migrations': 'master' } as const;
  const access = databaseAccessOf(spec);
  return [
    ...(access ? [byAccess[access]] : []),
    ...(spec.uses.includes('database-roles') ? ['app', 'read'] : []),
    ...(readsMuxSecret(spec, signed) ? ['mux'] : []),
    ...(spec.uses.includes('mux-binding') ? ['binding'] : []),
  ].filter((label, index, all) => all.indexOf(label) === index).sort();
}

describe.each([
  ['dev', {}],
  // The console adds aws-cdk-lib's BucketDeployment handler, and the events webhook EventBridge's role for the API
  // destination, whose roles must be justified like every other.
  ['prod with alarm e-mail, the console and the events webhook', { stage: 'prod', alarmEmail: 'ops@example.com', console: 'true', eventsWebhookUrl: 'https://hooks.example.com/reelay' }],
  ['dev with signed playback', { muxPlaybackPolicy: 'signed' }],
])('IAM in %s', (_label, context: Record<string, unknown>) => {
  const signed = context.muxPlaybackPolicy === 'signed';
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthesize(context);
  }, 120_000);

  it('finds the wildcards it must (the check is not vacuous)', () => {
    const ids = iamFindings(synth.json).map((finding) => finding.id);
    expect(ids).toContainEqual(expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<Uploads\w+\.Arn>\/uploads\/\*\]$/));
    expect(ids).toContainEqual(expect.stringMatching(/^AwsSolutions-IAM5\[Resource::<Uploads\w+\.Arn>\/uploads\/\*\/captions\/\*\]$/));
  });

  it('justifies every wildcard and managed policy on the resource that holds it', () => {
    const unjustified = iamFindings(synth.json)
      .filter((finding) => !acknowledgedAt(synth.app, finding.path).has(finding.id))
      .map((finding) => `${finding.path}: ${finding.id}`);
    expect(unjustified).toEqual([]);
  });

  it('puts the markers where the functions look for them', () => {
    expect(UploadBucket.pendingWorkRoot).toBe(pendingWorkRoot);
  });

  it('never allows a bare "*" action, nor a service-wide "service:*" action; a bare "*" resource only for X-Ray tracing and the capacity metric', () => {
    for (const finding of iamFindings(synth.json)) {
      expect(finding.id).not.toMatch(/\[Action::\*\]$/);
      expect(finding.id).not.toMatch(/\[Action::[a-z0-9-]+:\*\]$/);
    }
    // X-Ray's two write actions name no resource (they support no resource-level permissions); nothing else may.
    for (const [, policy] of resourcesOfType(synth.json, 'AWS::IAM::Policy')) {
      for (const statement of (policy.Properties?.PolicyDocument as { Statement: Statement[] }).Statement) {
        const resources = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
        // cloudwatch:GetMetricData supports no resource-level permissions either: reconcile's idle gate alone reads it.
        if (resources.includes('*')) expect([xrayActions, ['cloudwatch:GetMetricData']]).toContainEqual(actionsOf([statement]).sort());
      }
    }
  });

  it.each(manifest.functions.map((fn) => [fn.name, fn] as const))('%s holds exactly what its uses imply', (name, spec) => {
    const statements = statementsForFunction(synth, name);
    expect(statements.every((statement) => statement.Effect === 'Allow')).toBe(true);
    const actions = actionsOf(statements);
    const services = new Set(actions.map((action) => action.split(':')[0]));
    const expected = new Set(['logs', 'xray']);
    const database = databaseAccessOf(spec);
    if (database) expected.add('rds-data').add('secretsmanager');
    if (spec.uses.includes('database-roles')) expected.add('secretsmanager');
    if (readsMuxSecret(spec, signed)) expected.add('secretsmanager');
    if (spec.uses.some((use) => use === 'bucket' || use === 'bucket-read' || use === 'bucket-delete' || use.startsWith('pending-work'))) expected.add('s3');
    if (spec.uses.includes('pending-work-sweep')) expected.add('cloudwatch');
    if (spec.trigger === 'sqs' || spec.uses.includes('ingest-dead-letters')) expected.add('sqs');
    const publishes = (eventPublishers as readonly string[]).includes(name);
    if (publishes) expected.add('events');
    expect([...services].sort()).toEqual([...expected].sort());

    // Events: the publishers may put events of source reelay on the stack's bus, and nothing else of EventBridge.
    const eventStatements = statements.filter((statement) => actionsOf([statement]).some((action) => action.startsWith('events:')));
    expect(eventStatements.map((statement) => [actionsOf([statement]), resourcesFor([statement], 'events:'), statement.Condition])).toEqual(
      publishes ? [[['events:PutEvents'], [expect.stringMatching(/^<EventsBus\w+\.Arn>$/)], { StringEquals: { 'events:source': 'reelay' } }]] : [],
    );

    // Tracing: X-Ray's two write actions, nothing else of X-Ray.
    expect(actions.filter((action) => action.startsWith('xray:')).sort()).toEqual(xrayActions);
    // Logging: only its own log group, and never CreateLogGroup.
    expect(actions.filter((action) => action.startsWith('logs:')).sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
    for (const target of resourcesFor(statements, 'logs:')) expect(target).toMatch(/^<Functions\w+Logs\w+\.Arn>$/);

    // CloudWatch: reconcile reads the capacity metric, and nothing else of CloudWatch; no other function reads it.
    expect(actions.filter((action) => action.startsWith('cloudwatch:'))).toEqual(spec.uses.includes('pending-work-sweep') ? ['cloudwatch:GetMetricData'] : []);

    // Markers: writing under _reelay/pending/ (notes), or writing, deleting and listing under _reelay/ (the sweep).
    const onMarkers = (statement: Statement) => resourcesFor([statement], 's3:').some((resource) => resource.includes(`/${pendingWorkRoot}`)) ||
      JSON.stringify(statement.Condition ?? {}).includes(pendingWorkRoot);
    const markerStatements = statements.filter(onMarkers);
    if (spec.uses.includes('pending-work')) {
      expect(markerStatements.map((statement) => [actionsOf([statement]).sort(), resourcesFor([statement], 's3:').map((resource) => /\/(_reelay\/.*)$/.exec(resource)?.[1])])).toEqual([
        [['s3:PutObject'], ['_reelay/pending/*']],
      ]);
    } else if (spec.uses.includes('pending-work-sweep')) {
      const objects = markerStatements.filter((statement) => !actionsOf([statement]).includes('s3:ListBucket'));
      expect(objects.map((statement) => [actionsOf([statement]).sort(), resourcesFor([statement], 's3:').map((resource) => /\/(_reelay\/.*)$/.exec(resource)?.[1])])).toEqual([
        [['s3:DeleteObject', 's3:PutObject'], ['_reelay/*']],
      ]);
      const markerListing = markerStatements.filter((statement) => actionsOf([statement]).includes('s3:ListBucket'));
      expect(markerListing.map((statement) => statement.Condition)).toEqual([{ StringLike: { 's3:prefix': '_reelay/*' } }]);
    } else {
      expect(markerStatements).toEqual([]);
    }

    // S3: each capability's actions, on object ARNs under the upload prefix; listing (for deletions) on the bucket,
    // only for keys under the prefix.
    const objectStatements = statements.filter((statement) => !onMarkers(statement) && actionsOf([statement]).some((action) => action.startsWith('s3:') && action !== 's3:ListBucket'));
    const objectActions = new Set(actionsOf(objectStatements));
    const expectedObjectActions = new Set<string>([
      ...(spec.uses.includes('bucket') ? uploadObjectActions : []),
      ...(spec.uses.includes('bucket-read') ? storedFileReadActions : []),
      ...(spec.uses.includes('bucket-delete') ? deleteObjectActions : []),
    ]);
    expect([...objectActions].sort()).toEqual([...expectedObjectActions].sort());
    const objectResources = new Set(resourcesFor(objectStatements, 's3:'));
    const expectedObjectResources = new Set<string>();
    if (spec.uses.includes('bucket') || spec.uses.includes('bucket-delete')) expectedObjectResources.add('uploads/*');
    if (spec.uses.includes('bucket-read')) expectedObjectResources.add('uploads/*/captions/*');
    expect([...objectResources].map((resource) => /^<Uploads\w+\.Arn>\/(.+)$/.exec(resource)?.[1] ?? resource).sort()).toEqual([...expectedObjectResources].sort());
    const listing = statements.filter((statement) => !onMarkers(statement) && actionsOf([statement]).includes('s3:ListBucket'));
    if (spec.uses.includes('bucket-delete')) {
      expect(listing).toHaveLength(1);
      expect(actionsOf(listing)).toEqual(['s3:ListBucket']);
      expect(resourcesFor(listing, 's3:')).toEqual([expect.stringMatching(/^<Uploads\w+\.Arn>$/)]);
      expect(listing[0]?.Condition).toEqual({ StringLike: { 's3:prefix': 'uploads/*' } });
    } else {
      expect(listing).toEqual([]);
    }
    if (database) {
      expect(resourcesFor(statements, 'rds-data:')).toEqual([expect.stringMatching(/:cluster:<DatabaseCluster\w+>$/)]);
    }
    // Secrets: the one database secret of the function's role, the roles' secrets for the one that sets their
    // passwords, the Mux secret for Mux users, the asset binding key for the functions that create, adopt or bind
    // assets; nothing else.
    expect(secretsNamed(resourcesFor(statements, 'secretsmanager:'))).toEqual(expectedSecrets(spec, signed));
    expect(actions.filter((action) => action.startsWith('secretsmanager:')).every((action) => ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'].includes(action))).toBe(true);
    if (spec.trigger === 'sqs') {
      expect(resourcesFor(statements, 'sqs:')).toEqual([expect.stringMatching(/^<UploadsIngestQueue\w+\.Arn>$/)]);
      expect(actions).not.toContain('sqs:SendMessage');
      // A throttled message is brought back when Mux says (functions/ingest/handler.ts).
      expect(actions).toContain('sqs:ChangeMessageVisibility');
    }
    if (spec.uses.includes('ingest-dead-letters')) {
      // The dead-letter drain: receive and delete on the DLQ, send back to the ingest queue; nothing else of SQS.
      const sqsStatements = statements.filter((statement) => actionsOf([statement]).some((action) => action.startsWith('sqs:')));
      expect(sqsStatements.map((statement) => [actionsOf([statement]).sort(), resourcesFor([statement], 'sqs:')])).toEqual([
        [['sqs:DeleteMessage', 'sqs:ReceiveMessage'], [expect.stringMatching(/^<UploadsDeadLetterQueue\w+\.Arn>$/)]],
        [['sqs:SendMessage'], [expect.stringMatching(/^<UploadsIngestQueue\w+\.Arn>$/)]],
      ]);
    } else if (spec.trigger !== 'sqs') {
      expect(actions.filter((action) => action.startsWith('sqs:'))).toEqual([]);
    }
  });

  it('gives no function role an AWS-managed policy', () => {
    for (const [, role] of resourcesOfType(synth.json, 'AWS::IAM::Role')) {
      if (constructPathOf(role).includes('/Functions/')) expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
    }
  });
});
