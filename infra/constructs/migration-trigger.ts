/**
 * Runs the migrate function during every deployment that changes it, after the cluster and its writer exist, and
 * waits for the result: a migration that throws makes the custom resource fail, so the deployment fails (and rolls
 * back) loudly instead of shipping code against an old schema. The same function stays invocable by operators
 * (`aws lambda invoke`, docs/DEPLOY.md).
 *
 * The trigger invokes with an empty payload `{}`; the migrate handler treats that as "apply pending migrations" and
 * then gives the database roles the passwords of their secrets. The functions that log in as those roles are created
 * or updated only after it succeeded (`executeBefore`): they never run against a database whose role does not exist
 * yet or has no password, and a failed migration leaves them on their previous version.
 */
import type { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as triggers from 'aws-cdk-lib/triggers';
import { Construct } from 'constructs';

export interface MigrationTriggerProps {
  readonly handler: lambda.Function;
  /** Everything that must be deployed first: the cluster (with its writer instance) and the handler's grants. */
  readonly executeAfter: readonly Construct[];
  /** Everything that needs the migrated schema and the roles' passwords: deployed after the trigger succeeded. */
  readonly executeBefore?: readonly Construct[];
  readonly timeout: Duration;
}

export class MigrationTrigger extends Construct {
  readonly trigger: triggers.Trigger;

  constructor(scope: Construct, id: string, props: MigrationTriggerProps) {
    super(scope, id);
    this.trigger = new triggers.Trigger(this, 'Trigger', {
      handler: props.handler,
      invocationType: triggers.InvocationType.REQUEST_RESPONSE,
      timeout: props.timeout,
      executeOnHandlerChange: true,
      executeAfter: [...props.executeAfter],
      executeBefore: [...(props.executeBefore ?? [])],
    });
  }
}
