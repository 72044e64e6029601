/**
 * The HTTP API (API Gateway v2): one route per entry of functions/routes.json, each a Lambda proxy integration with
 * payload format 2.0. `user` and `admin` routes need a valid JWT (the admin handlers also demand the admin group),
 * and the OAuth scopes `routeScopes` names for them; `none` routes are public by design (Mux webhooks are
 * signature-checked, health never reaches the database). The $default stage throttles every route and writes JSON
 * access logs; a route with a `throttle` in the manifest (the public health check) gets its own, lower, route-level
 * limit.
 */
import { Duration, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { RouteScopes } from '../config.js';
import type { FunctionManifest, RouteSpec } from '../manifest.js';
import type { Functions } from './functions.js';

export interface ReelayHttpApiProps {
  readonly manifest: FunctionManifest;
  readonly functions: Functions;
  readonly authorizer: apigwv2.IHttpRouteAuthorizer;
  /** Scopes per route key or auth level (infra/config.ts); a token needs one of its route's. @default none */
  readonly routeScopes?: RouteScopes;
  readonly corsOrigins: readonly string[];
  readonly throttle: { readonly rateLimit: number; readonly burstLimit: number };
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** Fields of every access log line ($context variables of HTTP APIs); never the Authorization header or a body. */
const accessLogFields: Record<string, string> = {
  requestId: '$context.requestId',
  time: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  routeKey: '$context.routeKey',
  method: '$context.httpMethod',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  sub: '$context.authorizer.claims.sub',
};

export class ReelayHttpApi extends Construct {
  readonly api: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogs: logs.LogGroup;
  /** Route key ("GET /api/videos") → the route construct. */
  readonly routes = new Map<string, apigwv2.HttpRoute>();

  constructor(scope: Construct, id: string, props: ReelayHttpApiProps) {
    super(scope, id);
    this.api = new apigwv2.HttpApi(this, 'Api', {
      description: 'reelay: uploads, videos, Mux webhooks, operations',
      createDefaultStage: false,
      corsPreflight:
        props.corsOrigins.length > 0
          ? {
              allowOrigins: [...props.corsOrigins],
              // The methods of the manifest's routes, as the local API emulator allows them.
              allowMethods: [...new Set([...props.manifest.routes.map((route) => route.method), 'OPTIONS' as const])].map(
                (method) => apigwv2.CorsHttpMethod[method],
              ),
              // The token, the JSON body, and the key that makes a retried create safe.
              allowHeaders: ['authorization', 'content-type', 'idempotency-key'],
              // What a browser may read: a create answered from its Idempotency-Key, when to retry, the request id.
              exposeHeaders: ['idempotent-replayed', 'retry-after', 'apigw-requestid'],
              maxAge: Duration.hours(1),
            }
          : undefined,
    });

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttle.rateLimit, burstLimit: props.throttle.burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(accessLogFields)),
      },
    });

    const integrations = new Map<string, HttpLambdaIntegration>();
    const integrationFor = (functionName: string): HttpLambdaIntegration => {
      let integration = integrations.get(functionName);
      if (!integration) {
        integration = new HttpLambdaIntegration(`${functionName}Integration`, props.functions.get(functionName), {
          payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
        });
        integrations.set(functionName, integration);
      }
      return integration;
    };

    const scopesOf = routeScopesResolver(props.manifest, props.routeScopes ?? {});
    for (const route of props.manifest.routes) {
      const scopes = scopesOf(route);
      const [created] = this.api.addRoutes({
        path: route.path,
        methods: [apigwv2.HttpMethod[route.method]],
        integration: integrationFor(route.functionName),
        authorizer: route.auth === 'none' ? new apigwv2.HttpNoneAuthorizer() : props.authorizer,
        ...(scopes && { authorizationScopes: [...scopes] }),
      });
      if (!created) throw new Error(`no route created for ${route.routeKey}`);
      if (route.auth === 'none') acknowledgePublicRoute(created, route);
      this.routes.set(route.routeKey, created);
    }
    this.throttleRoutes(props.manifest.routes);
  }

  /** Route-level throttling (the stage's RouteSettings, keyed by route key); the stage can name only routes that exist. */
  private throttleRoutes(routes: readonly RouteSpec[]): void {
    const throttled = routes.filter((route) => route.throttle !== undefined);
    if (throttled.length === 0) return;
    const stage = this.stage.node.defaultChild as apigwv2.CfnStage;
    // RouteSettings is untyped JSON in the L1: CDK passes it through as written, so the keys are CloudFormation's.
    stage.routeSettings = Object.fromEntries(
      throttled.map((route) => [route.routeKey, { ThrottlingRateLimit: route.throttle?.rateLimit, ThrottlingBurstLimit: route.throttle?.burstLimit }]),
    );
    for (const route of throttled) stage.node.addDependency(this.routes.get(route.routeKey) as apigwv2.HttpRoute);
  }

  /** The invoke URL of the $default stage, without a trailing slash. */
  get url(): string {
    return this.api.apiEndpoint;
  }
}

/**
 * The scopes of each route: its own entry, else its auth level's. An entry for a route the manifest does not have, or
 * for a public one (no authorizer to check a scope), fails the synth instead of silently protecting nothing.
 */
function routeScopesResolver(manifest: FunctionManifest, routeScopes: RouteScopes): (route: RouteSpec) => readonly string[] | undefined {
  for (const key of Object.keys(routeScopes)) {
    if (key === 'user' || key === 'admin') continue;
    const route = manifest.routes.find((candidate) => candidate.routeKey === key);
    if (!route) throw new Error(`context "routeScopes" names ${key}, which is not a route of functions/routes.json`);
    if (route.auth === 'none') throw new Error(`context "routeScopes" names ${key}, a public route (auth "none"): scopes need the JWT authorizer`);
  }
  const entry = (key: string) => (Object.hasOwn(routeScopes, key) ? routeScopes[key] : undefined);
  return (route) => (route.auth === 'none' ? undefined : (entry(route.routeKey) ?? entry(route.auth)));
}

/**
 * Why each public function may be called without a JWT. A new `none` route for a function not listed here fails the
 * synth: making something public should come with a reason a reviewer reads.
 */
export const publicRouteReasons: Readonly<Record<string, string>> = {
  'mux-webhook':
    'Mux cannot send a JWT; every request is verified by its HMAC mux-signature (300 s tolerance) before anything is read or stored.',
  health:
    'A liveness check for uptime monitors: it makes no database call (so it cannot wake a paused cluster), reveals no ' +
    'schema, user data or secrets, and has its own route-level throttle.',
};

function acknowledgePublicRoute(route: apigwv2.HttpRoute, spec: RouteSpec): void {
  const reason = publicRouteReasons[spec.functionName];
  if (!reason) throw new Error(`${spec.routeKey} is public (auth "none") but ${spec.functionName} has no entry in publicRouteReasons`);
  Validations.of(route).acknowledge({
    id: 'AwsSolutions-APIG4',
    reason: `${spec.routeKey} is public by design (auth "none" in functions/routes.json): ${reason}`,
  });
}
