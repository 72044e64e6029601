/**
 * Least privilege in the database, as synthesised: one generated secret per database login (the master and the two
 * roles of migration 0004), each function configured with and allowed to read only the secret of the role its
 * `uses` name, the functions that log in as a role deployed only after the migration (which creates the roles and
 * sets their passwords) succeeded, and the public health route throttled on its own.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { masterUsername, roleUsernames } from '../../infra/constructs/database.js';
import { databaseAccessOf, loadManifest } from '../../infra/manifest.js';
import { databaseRoles } from '../../shared/db/roles.js';
import { functionLogicalId, resourcesOfType, synthesize, type CfnResourceJson, type Synthesized } from './support/synth.js';

const manifest = loadManifest();

/** The username a generated secret is created for (its SecretStringTemplate), rendered without tokens. */
function usernameOf(secret: CfnResourceJson): string | undefined {
  const template = (secret.Properties?.GenerateSecretString as { SecretStringTemplate?: unknown } | undefined)?.SecretStringTemplate;
  const text = typeof template === 'string' ? template : JSON.stringify(template);
  return /\\?"username\\?":\\?"(\w+)\\?"/.exec(text ?? '')?.[1];
}

describe('database roles in the synthesised stack', () => {
  let synth: Synthesized;
  beforeAll(() => {
    synth = synthesize();
  }, 120_000);

  const resources = () => synth.json.Resources;
  /** Logical id of the secret attachment a database secret ARN in the template refers to. */
  const attachmentFor = (username: string): string => {
    const [secretId] = resourcesOfType(synth.json, 'AWS::SecretsManager::Secret').find(([, secret]) => usernameOf(secret) === username) ?? [];
    const [attachmentId] =
      resourcesOfType(synth.json, 'AWS::SecretsManager::SecretTargetAttachment').find(([, attachment]) => (attachment.Properties?.SecretId as { Ref?: string }).Ref === secretId) ?? [];
    if (!attachmentId) throw new Error(`no attached secret for ${username}`);
    return attachmentId;
  };
  const usernameByAccess = { database: roleUsernames.database, 'database-read': roleUsernames['database-read'], 'database-migrations': masterUsername } as const;

  it('generates one secret per database login: the master and each role of migration 0004', () => {
    const usernames = resourcesOfType(synth.json, 'AWS::SecretsManager::Secret')
      .map(([, secret]) => usernameOf(secret))
      .filter((name) => name !== undefined)
      .sort();
    expect(usernames).toEqual([masterUsername, ...Object.values(databaseRoles)].sort());
    // The infra's role names are the runtime's (shared/db/roles.ts), which are the migration's.
    expect(Object.values(roleUsernames).sort()).toEqual(Object.values(databaseRoles).sort());
  });

  it.each(manifest.functions.map((fn) => [fn.name, fn] as const))('%s is configured with the secret of its role only', (name, spec) => {
    const env = (resources()[functionLogicalId(synth, name)]?.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    const access = databaseAccessOf(spec);
    if (access === undefined) {
      expect(env.RDS_SECRET_ARN).toBeUndefined();
      return;
    }
    expect(env.RDS_SECRET_ARN).toEqual({ Ref: attachmentFor(usernameByAccess[access]) });
  });

  it('lets the video-changes function write as the application role while the videos function stays read-only', () => {
    const secretOf = (name: string) => (resources()[functionLogicalId(synth, name)]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables.RDS_SECRET_ARN;
    expect(secretOf('video-changes')).toEqual({ Ref: attachmentFor(roleUsernames.database) });
    expect(secretOf('videos')).toEqual({ Ref: attachmentFor(roleUsernames['database-read']) });
  });

  it('gives the migrate function, and only it, the roles’ secrets to set their passwords', () => {
    for (const spec of manifest.functions) {
      const env = (resources()[functionLogicalId(synth, spec.name)]?.Properties?.Environment as { Variables?: Record<string, unknown> }).Variables ?? {};
      if (!spec.uses.includes('database-roles')) {
        expect(env.DATABASE_ROLE_SECRET_ARNS, spec.name).toBeUndefined();
        continue;
      }
      expect(spec.name).toBe('migrate');
      const refs = JSON.stringify(env.DATABASE_ROLE_SECRET_ARNS);
      for (const role of Object.values(databaseRoles)) expect(refs).toContain(attachmentFor(role));
    }
  });

  it('deploys every function that logs in as a role after the migration trigger (roles and passwords exist first)', () => {
    const [triggerId] = resourcesOfType(synth.json, 'Custom::Trigger');
    expect(triggerId).toBeDefined();
    for (const spec of manifest.functions) {
      const access = databaseAccessOf(spec);
      const dependsOn = resources()[functionLogicalId(synth, spec.name)]?.DependsOn ?? [];
      const afterTrigger = (Array.isArray(dependsOn) ? dependsOn : [dependsOn]).includes(triggerId?.[0] as string);
      expect(afterTrigger, spec.name).toBe(access === 'database' || access === 'database-read');
    }
  });

  it('throttles the public health route on its own, below the stage', () => {
    const [[, stage] = []] = resourcesOfType(synth.json, 'AWS::ApiGatewayV2::Stage');
    const health = manifest.routes.find((route) => route.routeKey === 'GET /api/database/health');
    expect(health?.throttle).toBeDefined();
    expect(stage?.Properties?.RouteSettings).toEqual({
      'GET /api/database/health': { ThrottlingRateLimit: health?.throttle?.rateLimit, ThrottlingBurstLimit: health?.throttle?.burstLimit },
    });
    const defaults = stage?.Properties?.DefaultRouteSettings as { ThrottlingRateLimit: number; ThrottlingBurstLimit: number };
    expect(health?.throttle?.rateLimit).toBeLessThan(defaults.ThrottlingRateLimit);
    expect(health?.throttle?.burstLimit).toBeLessThan(defaults.ThrottlingBurstLimit);
  });
});
