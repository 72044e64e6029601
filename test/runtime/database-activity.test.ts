/**
 * The database-activity probe and the idle gate. The CloudWatch probe is the real SDK client pointed at a local
 * HTTP server posing as CloudWatch (AWS JSON 1.0, `GraniteServiceVersion20100801.GetMetricData`), so the request
 * it sends and the answer it parses are the wire's, not a mock's.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../shared/log.js';
import { cloudWatchActivityProbe } from '../../shared/runtime/cloudwatch-activity.js';
import { databaseActivityProbe, databaseActivitySettingsFromEnv, localActivityProbe, type DatabaseActivityProbe } from '../../shared/runtime/database-activity.js';
import { decideScheduledRun } from '../../shared/runtime/idle-gate.js';
import { noPendingWork, timedKey, timeOfKey, type PendingWork, type PendingWorkListing } from '../../shared/storage/pending-work.js';

interface Seen {
  target: string | undefined;
  body: Record<string, unknown>;
}

describe('the CloudWatch probe, against a server posing as CloudWatch', () => {
  let server: Server;
  let endpoint: string;
  const seen: Seen[] = [];
  let answer: (body: Record<string, unknown>) => { status: number; json: unknown };

  const read = async (request: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
  };

  beforeAll(async () => {
    server = createServer((request, response) => {
      void read(request).then((body) => {
        seen.push({ target: request.headers['x-amz-target'] as string | undefined, body });
        const { status, json } = answer(body);
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
        response.end(JSON.stringify(json));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    seen.length = 0;
  });
  // Nothing stubbed outlives its test: the files of a fork share one process (vitest.config.ts).
  afterEach(() => vi.unstubAllEnvs());

  const client = () => new CloudWatchClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  const now = new Date('2026-12-03T07:00:00.000Z');
  const series = (points: Array<[string, number]>) => ({
    status: 200,
    json: {
      MetricDataResults: [{ Id: 'capacity', Label: 'ServerlessDatabaseCapacity', StatusCode: 'Complete', Timestamps: points.map(([at]) => Date.parse(at) / 1000), Values: points.map(([, value]) => value) }],
      Messages: [],
    },
  });

  it('asks for the 1-minute maxima of the cluster capacity over the window, and finds the latest minute above 0 ACU', async () => {
    answer = () => series([['2026-12-03T06:58:00Z', 0], ['2026-12-03T06:55:00Z', 0.5], ['2026-12-03T06:54:00Z', 1]]);
    const activity = await cloudWatchActivityProbe({ region: 'us-east-1', clusterId: 'reelay-dev-cluster', windowSeconds: 600 }, client()).probe(now);
    expect(activity).toEqual({ lastActiveAt: new Date('2026-12-03T06:55:00Z'), source: 'cloudwatch' });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.target).toBe('GraniteServiceVersion20100801.GetMetricData');
    expect(seen[0]?.body).toMatchObject({
      StartTime: Date.parse('2026-12-03T06:50:00Z') / 1000,
      EndTime: now.getTime() / 1000,
      MetricDataQueries: [
        {
          Id: 'capacity',
          MetricStat: {
            Metric: { Namespace: 'AWS/RDS', MetricName: 'ServerlessDatabaseCapacity', Dimensions: [{ Name: 'DBClusterIdentifier', Value: 'reelay-dev-cluster' }] },
            Period: 60,
            Stat: 'Maximum',
          },
        },
      ],
    });
  });

  it('reads a paused writer (0 ACU, or no data points at all) as inactive', async () => {
    answer = () => series([['2026-12-03T06:59:00Z', 0], ['2026-12-03T06:58:00Z', 0]]);
    const probe = cloudWatchActivityProbe({ region: 'us-east-1', clusterId: 'c', windowSeconds: 600 }, client());
    expect((await probe.probe(now)).lastActiveAt).toBeNull();
    answer = () => series([]);
    expect((await probe.probe(now)).lastActiveAt).toBeNull();
  });

  it('throws when CloudWatch refuses (the gate then runs the sweeps)', async () => {
    answer = () => ({ status: 400, json: { __type: 'com.amazonaws.cloudwatch#AccessDenied', message: 'not authorized to perform: cloudwatch:GetMetricData' } });
    const probe = cloudWatchActivityProbe({ region: 'us-east-1', clusterId: 'c', windowSeconds: 600 }, client());
    await expect(probe.probe(now)).rejects.toThrow(/not authorized/);
  });

  it('is the probe DATABASE_CLUSTER_ID names, at CLOUDWATCH_ENDPOINT', async () => {
    answer = () => series([['2026-12-03T06:59:00Z', 2]]);
    // The client takes the role's keys from the process environment, as in Lambda.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'test');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'test');
    const settings = databaseActivitySettingsFromEnv({ DATABASE_CLUSTER_ID: 'from-env', CLOUDWATCH_ENDPOINT: endpoint, DATABASE_AUTO_PAUSE_SECONDS: '3600' });
    expect(settings).toMatchObject({ clusterId: 'from-env', autoPauseSeconds: 3600, windowSeconds: 600, slackSeconds: 300 });
    const probe = databaseActivityProbe(settings);
    expect((await probe?.probe(now))?.lastActiveAt).toEqual(new Date('2026-12-03T06:59:00Z'));
    expect(seen.at(-1)?.body).toMatchObject({ MetricDataQueries: [{ MetricStat: { Metric: { Dimensions: [{ Value: 'from-env' }] } } }] });
    expect(databaseActivityProbe(databaseActivitySettingsFromEnv({}))).toBeUndefined();
  });
});

describe('the local probe: the Data API’s last call, read as a cluster pausing after the auto-pause delay', () => {
  let server: Server;
  let url: string;
  let lastCallAt: string | null = null;
  beforeAll(async () => {
    server = createServer((_request, response) => response.end(JSON.stringify({ lastCallAt })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/_local/activity`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('is up from a call until the delay passes, and seen within the window after that', async () => {
    const probe = localActivityProbe(url, { autoPauseSeconds: 300, windowSeconds: 600 });
    const now = new Date('2026-12-03T07:00:00.000Z');
    lastCallAt = null;
    expect((await probe.probe(now)).lastActiveAt).toBeNull();
    lastCallAt = '2026-12-03T06:59:00.000Z'; // still up
    expect((await probe.probe(now)).lastActiveAt).toEqual(now);
    lastCallAt = '2026-12-03T06:48:00.000Z'; // paused at 06:53, inside the window
    expect((await probe.probe(now)).lastActiveAt).toEqual(new Date('2026-12-03T06:53:00.000Z'));
    lastCallAt = '2026-12-03T06:40:00.000Z'; // paused at 06:45, before the window
    expect((await probe.probe(now)).lastActiveAt).toBeNull();
  });
});

describe('the idle gate', () => {
  const now = new Date('2026-12-03T07:00:00.000Z');
  const listing = (overrides: Partial<PendingWorkListing> = {}): PendingWorkListing => ({ markers: [], lastSweepAt: null, stampKeys: [], ...overrides });
  const markers = (result: PendingWorkListing | Error): PendingWork => ({
    ...noPendingWork,
    durable: true,
    list: async () => {
      if (result instanceof Error) throw result;
      return result;
    },
  });
  let probed = 0;
  const probe = (lastActiveAt: Date | null | Error): DatabaseActivityProbe => ({
    probe: async () => {
      probed += 1;
      if (lastActiveAt instanceof Error) throw lastActiveAt;
      return { lastActiveAt, source: 'cloudwatch' };
    },
  });
  const decide = (pendingWork: PendingWork, activity: DatabaseActivityProbe | undefined) =>
    decideScheduledRun({ pendingWork, probe: activity, autoPauseSeconds: 3600, logger: silentLogger }, now);
  beforeEach(() => {
    probed = 0;
  });

  it('runs on pending markers without asking CloudWatch', async () => {
    const decision = await decide(markers(listing({ markers: [{ key: '_reelay/pending/deferred/x', kind: 'deferred' }] })), probe(null));
    expect(decision).toMatchObject({ run: true, reason: 'pending' });
    expect(probed).toBe(0);
  });

  it('skips when the writer was paused for the whole window', async () => {
    expect(await decide(markers(listing()), probe(null))).toMatchObject({ run: false, reason: 'idle' });
  });

  it('skips when only its own last sweep kept the writer up (sweep + auto-pause + slack), and runs on activity after that', async () => {
    const lastSweepAt = new Date('2026-12-03T06:00:00.000Z');
    // Up until 07:00 after a sweep at 06:00 under a 60-minute pause: ours.
    expect(await decide(markers(listing({ lastSweepAt })), probe(new Date('2026-12-03T07:00:00.000Z')))).toMatchObject({ run: false, reason: 'own_activity' });
    // Up at 07:06, past 06:00 + 60 min + the 5-minute slack: someone else's traffic.
    const later = decideScheduledRun({ pendingWork: markers(listing({ lastSweepAt })), probe: probe(new Date('2026-12-03T07:06:00.000Z')), autoPauseSeconds: 3600, logger: silentLogger }, new Date('2026-12-03T07:07:00.000Z'));
    expect(await later).toMatchObject({ run: true, reason: 'awake' });
    // Never swept (or the stamp is gone): awake means awake.
    expect(await decide(markers(listing()), probe(new Date('2026-12-03T06:59:00.000Z')))).toMatchObject({ run: true, reason: 'awake' });
  });

  it('runs when in doubt: no marker store, no probe, a failed listing or a failed probe', async () => {
    expect(await decide(noPendingWork, probe(null))).toMatchObject({ run: true, reason: 'no_marker_store' });
    expect(await decide(markers(listing()), undefined)).toMatchObject({ run: true, reason: 'no_probe' });
    expect(await decide(markers(new Error('AccessDenied')), probe(null))).toMatchObject({ run: true, reason: 'listing_failed' });
    expect(await decide(markers(listing()), probe(new Error('throttled')))).toMatchObject({ run: true, reason: 'probe_failed' });
  });
});

describe('marker keys', () => {
  it('are unique, sort by time and give their time back', () => {
    const at = new Date('2026-12-03T07:00:00.123Z');
    const [first, second] = [timedKey('_reelay/pending/deferred/', at), timedKey('_reelay/pending/deferred/', at)];
    expect(first).not.toBe(second);
    expect(first).toMatch(/^_reelay\/pending\/deferred\/2026-12-03T07:00:00\.123Z-[0-9a-f-]{36}$/);
    expect(timeOfKey(first)).toEqual(at);
    expect(timeOfKey('_reelay/swept/not-a-stamp')).toBeNull();
    expect(timedKey('p/', new Date('2026-12-03T07:00:00.000Z')) < timedKey('p/', new Date('2026-12-03T07:00:01.000Z'))).toBe(true);
  });
});
