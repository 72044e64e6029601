/**
 * Who may call the API. Either a Cognito user pool created here (with an `admin` group; admins carry it in the
 * `cognito:groups` claim, which the admin handlers check), or an external OIDC issuer given by context. Either way
 * API Gateway verifies the JWT (issuer, audience, expiry, signature) before a Lambda runs.
 */
import { Duration, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer, HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import type { AuthConfig } from '../config.js';

export const adminGroupName = 'admin';

export interface AuthProps {
  readonly config: AuthConfig;
  readonly removalPolicy: RemovalPolicy;
  /** Protects the user pool (and so every account in it) from an accidental stack deletion. */
  readonly deletionProtection: boolean;
}

export class Auth extends Construct {
  readonly authorizer: apigwv2.IHttpRouteAuthorizer;
  /** Present only when the stack owns the user pool. */
  readonly userPool: cognito.UserPool | undefined;
  readonly userPoolClient: cognito.UserPoolClient | undefined;

  constructor(scope: Construct, id: string, props: AuthProps) {
    super(scope, id);
    if (props.config.kind === 'external') {
      this.userPool = undefined;
      this.userPoolClient = undefined;
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

    // A public client (no secret) for the web console and the CLI; SRP and admin-initiated password auth only.
    const userPoolClient = userPool.addClient('Client', {
      generateSecret: false,
      authFlows: { userSrp: true, adminUserPassword: true },
      preventUserExistenceErrors: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
    });

    this.userPool = userPool;
    this.userPoolClient = userPoolClient;
    this.authorizer = new HttpUserPoolAuthorizer('UserPoolAuthorizer', userPool, {
      userPoolClients: [userPoolClient],
    });
  }
}
