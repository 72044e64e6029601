/**
 * Who may call what, read from the synthesised template: CORS origins a browser app may use (never `*` on prod), the
 * admin group (`-c adminGroup`), and OAuth scopes required per route (`-c routeScopes`, API Gateway's
 * authorizationScopes), with the stack's user pool able to issue them.
 */
import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { readConfigFrom, type ContextKey } from '../../infra/config.js';
import { ConsoleSite, type ConsoleRuntimeConfig } from '../../infra/constructs/console-site.js';
import { loadManifest } from '../../infra/manifest.js';
import { buildApp } from '../../infra/reelay-app.js';
import { cdkJsonContext, functionLogicalId, resourcesOfType, synthesize, type Synthesized } from './support/synth.js';

const manifest = loadManifest();
const read = (values: Partial<Record<ContextKey, unknown>>) => () => readConfigFrom((key) => values[key]);

function routeResource(synth: Synthesized, routeKey: string) {
  const route = resourcesOfType(synth.json, 'AWS::ApiGatewayV2::Route').find(([, resource]) => resource.Properties?.RouteKey === routeKey);
  if (!route) throw new Error(`no route ${routeKey}`);
  return route[1].Properties ?? {};
}

function environmentOf(synth: Synthesized, name: string): Record<string, unknown> {
  const props = synth.json.Resources[functionLogicalId(synth, name)]?.Properties as { Environment?: { Variables?: Record<string, unknown> } };
  return props.Environment?.Variables ?? {};
}

function warningsOf(synth: Synthesized): string[] {
  return synth.stack.node
    .findAll()
    .flatMap((construct) => construct.node.metadata)
    .filter((entry) => entry.type === 'aws:cdk:warning')
    .map((entry) => String(entry.data));
}

describe('CORS origins', () => {
  it('refuses * on the prod stage with a clear synth error, for the API and the bucket alike', () => {
    expect(read({ stage: 'prod', corsOrigins: '*' })).toThrow('context "corsOrigins" may not be * on the prod stage: name the origins of your web app');
    expect(read({ stage: 'prod', corsOrigins: ['https://video.example.com', '*'] })).toThrow(/may not be \* on the prod stage/);
    const app = new App({ context: { ...cdkJsonContext(), stage: 'prod', corsOrigins: '*', 'aws:cdk:bundling-stacks': [] } });
    expect(() => buildApp(app, { nag: false })).toThrow(/may not be \* on the prod stage/);
  });

  it('allows * on dev only on its own: mixed into a list it would silently allow every origin', () => {
    expect(readConfigFrom((key) => ({ corsOrigins: '*' })[key as string]).corsOrigins).toEqual(['*']);
    expect(read({ corsOrigins: 'https://a.example,*' })).toThrow(/\* alone/);
  });

  it('refuses plain-HTTP origins on prod, and keeps them for dev', () => {
    expect(read({ stage: 'prod', corsOrigins: 'https://video.example.com,http://video.example.com' })).toThrow(/plain-HTTP origin http:\/\/video.example.com on the prod stage/);
    expect(read({ stage: 'prod', corsOrigins: 'http://localhost:3000' })).toThrow(/plain-HTTP/);
    expect(readConfigFrom((key) => ({ corsOrigins: 'http://localhost:5173' })[key as string]).corsOrigins).toEqual(['http://localhost:5173']);
  });

  it.each([
    ['https://video.example.com/', /did you mean https:\/\/video.example.com\?/],
    ['https://video.example.com/app', /did you mean https:\/\/video.example.com\?/],
    ['https://*.example.com', /scheme, host and port only/],
    ['video.example.com', /scheme, host and port only/],
    ['null', /scheme, host and port only/],
    ['ftp://video.example.com', /scheme, host and port only/],
  ])('refuses %s, which no browser sends as an Origin', (origin, message) => {
    expect(read({ corsOrigins: origin })).toThrow(message);
    expect(read({ stage: 'prod', corsOrigins: origin })).toThrow(message);
  });
});

describe('the admin group and route scopes in context', () => {
  it('defaults the admin group to admin and refuses names no Cognito group can have', () => {
    expect(readConfigFrom(() => undefined).adminGroup).toBe('admin');
    expect(readConfigFrom((key) => ({ adminGroup: 'reelay-ops' })[key as string]).adminGroup).toBe('reelay-ops');
    expect(read({ adminGroup: 'reelay ops' })).toThrow(/adminGroup/);
    expect(read({ adminGroup: 'x'.repeat(129) })).toThrow(/adminGroup/);
  });

  it('reads routeScopes from a CLI string or a cdk.json object', () => {
    const scopes = { 'POST /api/videos/upload': ['reelay/upload'], admin: ['reelay/admin'] };
    expect(readConfigFrom((key) => ({ routeScopes: JSON.stringify(scopes) })[key as string]).routeScopes).toEqual(scopes);
    expect(readConfigFrom((key) => ({ routeScopes: scopes })[key as string]).routeScopes).toEqual(scopes);
    expect(readConfigFrom(() => undefined).routeScopes).toEqual({});
  });

  it.each([
    ['{"user":', /JSON such as/],
    ['["reelay/upload"]', /JSON object/],
    ['{"none":["a"]}', /route keys such as/],
    ['{"/api/videos":["a"]}', /route keys such as/],
    ['{"user":[]}', /one or more scopes/],
    ['{"user":"reelay/upload"}', /one or more scopes/],
    ['{"user":["reelay upload"]}', /one or more scopes/],
    ['{"user":["say \\"hi\\""]}', /one or more scopes/],
  ])('refuses routeScopes=%s', (value, message) => {
    expect(read({ routeScopes: value })).toThrow(message);
  });

  it.each([
    ['{"GET /api/nothing":["a/b"]}', /not a route of functions\/routes.json/],
    ['{"GET /api/database/health":["a/b"]}', /public route/],
    ['{"POST /api/webhooks/mux":["a/b"]}', /public route/],
  ])('fails the synth for routeScopes=%s', (routeScopes, message) => {
    expect(() => synthesize({ routeScopes })).toThrow(message);
  });
});

describe('a stack with an admin group, route scopes and the console', () => {
  let synth: Synthesized;
  let published: ConsoleRuntimeConfig[];
  const routeScopes = { user: ['reelay/api'], 'POST /api/videos/upload': ['reelay/upload', 'reelay/api'], admin: ['reelay/admin', 'aws.cognito.signin.user.admin'] };
  beforeAll(() => {
    const publish = vi.spyOn(ConsoleSite.prototype, 'publish');
    try {
      synth = synthesize({ adminGroup: 'reelay-ops', routeScopes: JSON.stringify(routeScopes), console: 'true' });
      published = publish.mock.calls.map(([config]) => config);
    } finally {
      publish.mockRestore();
    }
  });

  it.each(manifest.routes.map((route) => [route.routeKey, route] as const))('%s requires its scopes (API Gateway authorizationScopes)', (key, route) => {
    const scopes = routeResource(synth, key).AuthorizationScopes;
    if (route.auth === 'none') expect(scopes).toBeUndefined();
    else if (key === 'POST /api/videos/upload') expect(scopes).toEqual(['reelay/upload', 'reelay/api']);
    else expect(scopes).toEqual(route.auth === 'admin' ? routeScopes.admin : routeScopes.user);
  });

  it('names the admin group in the user pool and in every HTTP function that takes tokens, and nowhere else', () => {
    synth.template.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: 'reelay-ops' });
    for (const fn of manifest.functions) expect(environmentOf(synth, fn.name).ADMIN_GROUP).toBe(fn.trigger === 'http' ? 'reelay-ops' : undefined);
  });

  it('lets the user pool issue the resource-server scopes, and the console client request them', () => {
    synth.template.resourceCountIs('AWS::Cognito::UserPoolResourceServer', 1);
    synth.template.hasResourceProperties('AWS::Cognito::UserPoolResourceServer', {
      Identifier: 'reelay',
      Scopes: Match.arrayWith([Match.objectLike({ ScopeName: 'api' }), Match.objectLike({ ScopeName: 'upload' }), Match.objectLike({ ScopeName: 'admin' })]),
    });
    const serverId = resourcesOfType(synth.json, 'AWS::Cognito::UserPoolResourceServer')[0]?.[0];
    const client = resourcesOfType(synth.json, 'AWS::Cognito::UserPoolClient')[0]?.[1].Properties;
    const fromServer = (name: string) => ({ 'Fn::Join': ['', [{ Ref: serverId }, `/${name}`]] });
    expect(client?.AllowedOAuthScopes).toEqual(['openid', 'email', 'profile', 'aws.cognito.signin.user.admin', fromServer('api'), fromServer('upload'), fromServer('admin')]);
    expect(published).toHaveLength(1);
    expect(published[0]?.auth.scopes).toEqual(['openid', 'email', 'profile', 'reelay/api', 'reelay/upload', 'reelay/admin', 'aws.cognito.signin.user.admin']);
    expect(published[0]?.adminGroup).toBe('reelay-ops');
  });

  it('warns when the stack\'s pool cannot put a required scope in its tokens', () => {
    expect(warningsOf(synth)).toEqual([]);
    const withoutConsole = synthesize({ routeScopes: '{"user":["reelay/api","custom-scope"]}' });
    const warnings = warningsOf(withoutConsole);
    expect(warnings).toContainEqual(expect.stringContaining('only OAuth flows put in this pool\'s tokens'));
    expect(warnings).toContainEqual(expect.stringContaining('"custom-scope", which the stack\'s user pool does not issue'));
    expect(warningsOf(synthesize({ routeScopes: '{"admin":["aws.cognito.signin.user.admin"]}' }))).toEqual([]);
  });
});

describe('an external issuer with route scopes', () => {
  it('applies them to the routes and creates no resource server', () => {
    const synth = synthesize({ jwtIssuer: 'https://auth.example.com/', jwtAudience: 'reelay-api', routeScopes: '{"admin":["api://reelay/admin"]}' });
    expect(routeResource(synth, 'GET /api/debug/video-diagnostics').AuthorizationScopes).toEqual(['api://reelay/admin']);
    expect(routeResource(synth, 'GET /api/videos').AuthorizationScopes).toBeUndefined();
    synth.template.resourceCountIs('AWS::Cognito::UserPoolResourceServer', 0);
    expect(environmentOf(synth, 'admin').ADMIN_GROUP).toBe('admin');
  });
});
