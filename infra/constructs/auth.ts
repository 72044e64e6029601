/**
 * Who may call the API. Either a Cognito user pool created here (with the admin group, `admin` unless `-c adminGroup`
 * names another; admins carry it in the `cognito:groups` claim, which the handlers compare by exact name), or an
 * external OIDC issuer given by context. Either way API Gateway verifies the JWT (issuer, audience — `aud` of an ID
 * token or `client_id` of an access token —, expiry, signature, and the route's scopes) before a Lambda runs.
 */
import { Annotations, Aws, Duration, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer, HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import type { AuthConfig } from '../config.js';

/** The Hosted UI base URL of a Cognito prefix domain in this stack's region. */
export function hostedUiUrl(domainPrefix: string): string {
  return `https://${domainPrefix}.auth.${Aws.REGION}.amazoncognito.com`;
}

/** Browser sign-in through the Hosted UI (the web console): a prefix domain and the client's OAuth settings. */
export interface HostedUiProps {
  readonly domainPrefix: string;
  /** Callback and sign-out URLs: the console's URL (and, for dev, the local console's). */
  readonly urls: readonly string[];
}

export interface AuthProps {
  readonly config: AuthConfig;
  /** The user pool's admin group (with an external issuer, the group that issuer must put in `cognito:groups`). */
  readonly adminGroup: string;
  /** Present when the web console is deployed and signs in through this stack's user pool. */
  readonly hostedUi?: HostedUiProps;
  /**
   * Every scope some route requires (`routeScopes`). With the stack's user pool, a scope written `server/name` gets
   * a resource server that issues it, and the Hosted UI client may request it. @default none
   */
  readonly requiredScopes?: readonly string[];
  readonly removalPolicy: RemovalPolicy;
  /** Protects the user pool (and so every account in it) from an accidental stack deletion. */
  readonly deletionProtection: boolean;
}

export class Auth extends Construct {
  readonly authorizer: apigwv2.IHttpRouteAuthorizer;
  /** Present only when the stack owns the user pool. */
  readonly userPool: cognito.UserPool | undefined;
  readonly userPoolClient: cognito.UserPoolClient | undefined;
  /** Present when `hostedUi` was given. */
  readonly hostedUiDomain: cognito.UserPoolDomain | undefined;

  constructor(scope: Construct, id: string, props: AuthProps) {
    super(scope, id);
    if (props.config.kind === 'external') {
      this.userPool = undefined;
      this.userPoolClient = undefined;
      this.hostedUiDomain = undefined;
      if (props.hostedUi) throw new Error('a Hosted UI needs the stack\'s user pool; with an external issuer the console signs in there');
      this.authorizer = new HttpJwtAuthorizer('JwtAuthorizer', props.config.issuer, {
        jwtAudience: [...props.config.audience],
      });
      return;
    }

    const userPool = new cognito.UserPool(this, 'UserPool', {
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      autoVerify: { email: true },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      deletionProtection: props.deletionProtection,
      removalPolicy: props.removalPolicy,
    });
    Validations.of(userPool).acknowledge(
      {
        id: 'AwsSolutions-COG2',
        reason:
          'TOTP MFA is offered to every user (optional); forcing it is a product decision left to the operator, who can ' +
          'switch the pool to REQUIRED without code changes.',
      },
      {
        id: 'AwsSolutions-COG8',
        reason:
          'The Plus feature plan (threat protection) is billed per monthly active user; the Essentials plan covers ' +
          'admin-created users with strong passwords and optional TOTP. Operators can upgrade without code changes.',
      },
    );
    new cognito.CfnUserPoolGroup(this, 'AdminGroup', {
      userPoolId: userPool.userPoolId,
      groupName: props.adminGroup,
      description: 'reelay operators: migrations and diagnostics',
    });

    // A public client (no secret) for the web console and the CLI: SRP and admin-initiated password auth, plus the
    // authorization-code grant when the console is deployed (the console always sends a PKCE S256 challenge, which
    // Cognito verifies for public clients). No Hosted UI, no OAuth: aws-cdk-lib would otherwise enable the implicit
    // grant with an example.com callback.
    const hostedUi = props.hostedUi;
    const requiredScopes = resourceServerScopes(this, userPool, props.requiredScopes ?? []);
    // Tokens of the client's own sign-in flows (SRP, admin-initiate-auth) carry aws.cognito.signin.user.admin only.
    const oauthOnly = requiredScopes.filter((required) => required !== cognito.OAuthScope.COGNITO_ADMIN);
    if (oauthOnly.length > 0 && !hostedUi) {
      Annotations.of(this).addWarningV2(
        'reelay:scopes-without-oauth',
        `routeScopes requires ${oauthOnly.map((required) => required.scopeName).join(', ')}, which only OAuth flows put in this pool's tokens: ` +
          'deploy the console (-c console=true) or add an OAuth client; the tokens of admin-initiate-auth carry aws.cognito.signin.user.admin only.',
      );
    }
    const userPoolClient = userPool.addClient('Client', {
      generateSecret: false,
      authFlows: { userSrp: true, adminUserPassword: true },
      preventUserExistenceErrors: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
      ...(hostedUi
        ? {
            oAuth: {
              flows: { authorizationCodeGrant: true },
              scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE, ...requiredScopes],
              callbackUrls: [...hostedUi.urls],
              logoutUrls: [...hostedUi.urls],
            },
            supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
          }
        : { disableOAuth: true }),
    });
    this.hostedUiDomain = hostedUi ? userPool.addDomain('HostedUi', { cognitoDomain: { domainPrefix: hostedUi.domainPrefix } }) : undefined;

    this.userPool = userPool;
    this.userPoolClient = userPoolClient;
    this.authorizer = new HttpUserPoolAuthorizer('UserPoolAuthorizer', userPool, {
      userPoolClients: [userPoolClient],
    });
  }
}

/** Cognito's own scopes, which every pool can issue without a resource server. */
const cognitoScopes: Readonly<Record<string, cognito.OAuthScope>> = {
  openid: cognito.OAuthScope.OPENID,
  email: cognito.OAuthScope.EMAIL,
  phone: cognito.OAuthScope.PHONE,
  profile: cognito.OAuthScope.PROFILE,
  'aws.cognito.signin.user.admin': cognito.OAuthScope.COGNITO_ADMIN,
};

/**
 * The OAuth scopes of `scopes` as the pool issues them: Cognito's own as they are, and `identifier/name` (Cognito
 * writes a resource server's scopes so; a scope name has no `/`) through one resource server per identifier. A
 * scope of neither form can only come from a pre token generation trigger (V2 can add scopes), so it gets a warning.
 */
function resourceServerScopes(scope: Construct, userPool: cognito.UserPool, scopes: readonly string[]): cognito.OAuthScope[] {
  const byServer = new Map<string, Set<string>>();
  const result: cognito.OAuthScope[] = [];
  for (const name of new Set(scopes)) {
    const own = Object.hasOwn(cognitoScopes, name) ? cognitoScopes[name] : undefined;
    if (own) {
      result.push(own);
      continue;
    }
    const slash = name.lastIndexOf('/');
    if (slash <= 0 || slash === name.length - 1) {
      Annotations.of(scope).addWarningV2(
        'reelay:scope-not-issued',
        `routeScopes requires "${name}", which the stack's user pool does not issue (only a pre token generation trigger could add it); write resource-server scopes as "server/name", e.g. reelay/upload`,
      );
      continue;
    }
    const server = name.slice(0, slash);
    byServer.set(server, (byServer.get(server) ?? new Set()).add(name.slice(slash + 1)));
  }
  for (const [identifier, names] of byServer) {
    const scopeList = [...names].map((scopeName) => new cognito.ResourceServerScope({ scopeName, scopeDescription: `reelay routes that require ${identifier}/${scopeName}` }));
    const server = userPool.addResourceServer(`ResourceServer-${identifier.replace(/[^A-Za-z0-9]+/g, '-')}`, { identifier, scopes: scopeList });
    result.push(...scopeList.map((resourceScope) => cognito.OAuthScope.resourceServer(server, resourceScope)));
  }
  return result;
}
