/**
 * The CloudWatch side of the database-activity probe (shared/runtime/database-activity.ts), in a module of its own so
 * that only the reconcile function's bundle carries @aws-sdk/client-cloudwatch, and it is evaluated on first use.
 *
 * One GetMetricData call ($0.01 per 1000 metrics requested: ~3000 a month at one every 15 minutes) reads the 1-minute
 * maxima of `ServerlessDatabaseCapacity`: Aurora reports 0 ACU while the writer is paused, and more while it is up.
 */
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { DatabaseActivity, DatabaseActivityProbe, DatabaseActivitySettings } from './database-activity.js';

let cached: { key: string; client: CloudWatchClient } | undefined;

function clientFor(settings: Pick<DatabaseActivitySettings, 'region' | 'cloudWatchEndpoint'>): CloudWatchClient {
  const key = `${settings.region} ${settings.cloudWatchEndpoint ?? ''}`;
  if (cached?.key !== key) {
    cached = {
      key,
      client: new CloudWatchClient({
        region: settings.region,
        ...(settings.cloudWatchEndpoint === undefined ? {} : { endpoint: settings.cloudWatchEndpoint }),
        // One quick retry: a probe that fails means "run the sweeps", never a stuck schedule.
        maxAttempts: 2,
      }),
    };
  }
  return cached.client;
}

export function cloudWatchActivityProbe(
  settings: Pick<DatabaseActivitySettings, 'region' | 'cloudWatchEndpoint' | 'windowSeconds'> & { readonly clusterId: string },
  client: CloudWatchClient = clientFor(settings),
): DatabaseActivityProbe {
  return {
    async probe(now): Promise<DatabaseActivity> {
      const result = await client.send(
        new GetMetricDataCommand({
          StartTime: new Date(now.getTime() - settings.windowSeconds * 1000),
          EndTime: now,
          ScanBy: 'TimestampDescending',
          MetricDataQueries: [
            {
              Id: 'capacity',
              ReturnData: true,
              MetricStat: {
                Metric: { Namespace: 'AWS/RDS', MetricName: 'ServerlessDatabaseCapacity', Dimensions: [{ Name: 'DBClusterIdentifier', Value: settings.clusterId }] },
                Period: 60,
                Stat: 'Maximum',
              },
            },
          ],
        }),
      );
      const series = result.MetricDataResults?.find((entry) => entry.Id === 'capacity');
      const timestamps = series?.Timestamps ?? [];
      const values = series?.Values ?? [];
      let lastActiveAt: Date | null = null;
      values.forEach((value, index) => {
        const at = timestamps[index];
        if (value > 0 && at !== undefined && (lastActiveAt === null || at.getTime() > lastActiveAt.getTime())) lastActiveAt = at;
      });
      return { lastActiveAt, source: 'cloudwatch' };
    },
  };
}
