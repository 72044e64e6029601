/**
 * Who may call the API. Either a Cognito user pool created here (with an `admin` group; admins carry it in the
 * `cognito:groups` claim, which the admin handlers check), or an external OIDC issuer given by context. Either way
 * API Gateway verifies the JWT (issuer, audience, expiry, signature) before a Lambda runs.
 */
import { Aws, Duration, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer, HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import type { AuthConfig } from '../config.js';

export const adminGroupName = 'admin';

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
  /** Present when the web console is deployed and signs in through this stack's user pool. */
  readonly hostedUi?: HostedUiProps;
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
      groupName: adminGroupName,
      description: 'reelay operators: migrations and diagnostics',
    });

    // A public client (no secret) for the web console and the CLI: SRP and admin-initiated password auth, plus the
    // authorization-code grant when the console is deployed (the console always sends a PKCE S256 challenge, which
    // Cognito verifies for public clients). No Hosted UI, no OAuth: aws-cdk-lib would otherwise enable the implicit
    // grant with an example.com callback.
    const hostedUi = props.hostedUi;
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
              scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
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
