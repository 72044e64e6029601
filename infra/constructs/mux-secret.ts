/**
 * The Mux credentials `{tokenId, tokenSecret, webhookSecret}` in Secrets Manager. The stack creates the secret with
 * empty values for the operator to fill (docs/DEPLOY.md), or uses an existing one given by `-c muxSecretArn=…`.
 * Functions read it at invoke time through the Parameters and Secrets Lambda Extension: the values never appear in a
 * template or in a function's environment.
 */
import { SecretValue, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface MuxSecretProps {
  /** An existing secret (complete or partial ARN); the stack creates one when absent. */
  readonly existingSecretArn: string | undefined;
  readonly removalPolicy: RemovalPolicy;
}

/** The JSON keys the functions expect (shared/mux/config.ts). */
export const muxSecretKeys = ['tokenId', 'tokenSecret', 'webhookSecret'] as const;

export class MuxSecret extends Construct {
  readonly secret: secretsmanager.ISecret;
  /** False when the secret came from context and the stack does not own it. */
  readonly createdByStack: boolean;

  constructor(scope: Construct, id: string, props: MuxSecretProps) {
    super(scope, id);
    if (props.existingSecretArn) {
      this.createdByStack = false;
      // A complete ARN ends in the six random characters Secrets Manager appends to the name.
      const complete = /-[A-Za-z0-9]{6}$/.test(props.existingSecretArn);
      this.secret = secretsmanager.Secret.fromSecretAttributes(this, 'Existing', {
        ...(complete ? { secretCompleteArn: props.existingSecretArn } : { secretPartialArn: props.existingSecretArn }),
      });
      return;
    }
    this.createdByStack = true;
    // Empty placeholders: until an operator stores real values, reading the secret fails with a typed configuration
    // error instead of calling Mux with bogus credentials. CloudFormation leaves later manual values alone as long as
    // this template value does not change.
    const placeholder = SecretValue.unsafePlainText('');
    const secret = new secretsmanager.Secret(this, 'Secret', {
      description: 'reelay: Mux API token and webhook signing secret, JSON {tokenId, tokenSecret, webhookSecret}',
      secretObjectValue: Object.fromEntries(muxSecretKeys.map((key) => [key, placeholder])),
      removalPolicy: props.removalPolicy,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Mux API tokens and webhook signing secrets are issued in the Mux dashboard; Secrets Manager cannot rotate them. ' +
        'Operators rotate them there and put the new values (docs/DEPLOY.md).',
    });
    this.secret = secret;
  }
}
