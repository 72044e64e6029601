/**
 * Choosing a driver from the environment: the Data API when a cluster is named, pg for a URL, embedded PGlite
 * otherwise — so `npm start` needs no configuration and a Lambda needs only its cluster's ARNs.
 */
import { describe, expect, it } from 'vitest';
import { createDriver, driverConfigFromEnv } from '../../shared/db/create-driver.js';

describe('driverConfigFromEnv', () => {
  const cluster = {
    RDS_RESOURCE_ARN: 'arn:aws:rds:eu-west-1:123456789012:cluster:reelay',
    RDS_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:reelay-db',
  };

  it('picks the Data API when both ARNs are set, with database "reelay" unless RDS_DATABASE says otherwise', () => {
    expect(driverConfigFromEnv({ ...cluster, DATABASE_URL: 'postgres://ignored' })).toEqual({
      kind: 'data-api',
      resourceArn: cluster.RDS_RESOURCE_ARN,
      secretArn: cluster.RDS_SECRET_ARN,
      database: 'reelay',
    });
    expect(
      driverConfigFromEnv({ ...cluster, RDS_DATABASE: 'videos', DATA_API_ENDPOINT: 'http://127.0.0.1:4100', AWS_REGION: 'eu-west-1' }),
    ).toEqual({
      kind: 'data-api',
      resourceArn: cluster.RDS_RESOURCE_ARN,
      secretArn: cluster.RDS_SECRET_ARN,
      database: 'videos',
      endpoint: 'http://127.0.0.1:4100',
      region: 'eu-west-1',
    });
  });

  it('falls back to DATABASE_URL when only one ARN is set, then to PGlite', () => {
    expect(driverConfigFromEnv({ RDS_RESOURCE_ARN: cluster.RDS_RESOURCE_ARN, DATABASE_URL: 'postgres://db/x' })).toEqual({
      kind: 'pg',
      url: 'postgres://db/x',
    });
    expect(driverConfigFromEnv({ PGLITE_DATA_DIR: '.local/pglite' })).toEqual({ kind: 'pglite', dataDir: '.local/pglite' });
    expect(driverConfigFromEnv({})).toEqual({ kind: 'pglite' });
  });
});

describe('createDriver', () => {
  it('opens an in-memory PGlite driver when no data directory is given', async () => {
    const driver = await createDriver({ kind: 'pglite' });
    try {
      expect(driver.name).toBe('pglite');
      expect((await driver.execute('SELECT 2::int8 AS two')).rows).toEqual([{ two: 2n }]);
    } finally {
      await driver.close();
    }
  });

  it('builds a Data API driver without calling anything until it is used', async () => {
    const driver = await createDriver({
      kind: 'data-api',
      resourceArn: 'arn:aws:rds:us-east-1:123456789012:cluster:reelay',
      secretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:reelay',
      database: 'reelay',
      endpoint: 'http://127.0.0.1:1',
    });
    expect(driver.name).toBe('data-api');
    await driver.close();
  });

  it.skipIf(!process.env.DATABASE_URL)('opens a pg driver on a URL', async () => {
    const driver = await createDriver({ kind: 'pg', url: process.env.DATABASE_URL ?? '' });
    try {
      expect(driver.name).toBe('pg');
      expect((await driver.execute('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await driver.close();
    }
  });
});
