/**
 * Acknowledgements for resources that aws-cdk-lib adds on its own (singleton custom-resource handlers), each on that
 * resource's role and for one precise finding. Our own resources carry theirs next to the code that creates them.
 */
import { Validations, type CfnElement, type Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';

const basicExecutionRole = 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]';

interface FrameworkHandler {
  /** The singleton's construct id starts with this. */
  readonly idPrefix: string;
  readonly what: string;
  /** A Lambda function whose runtime aws-cdk-lib chooses (and moves forward with its releases). */
  readonly runtimeChosenByCdk?: boolean;
}

const frameworkHandlers: readonly FrameworkHandler[] = [
  {
    idPrefix: 'BucketNotificationsHandler',
    what: "aws-cdk-lib's bucket-notifications handler, which writes the upload bucket's event configuration at deploy time",
  },
  {
    idPrefix: 'Custom::S3AutoDeleteObjectsCustomResourceProvider',
    what: "aws-cdk-lib's auto-delete handler, which empties the disposable dev buckets on `cdk destroy`",
  },
  {
    idPrefix: 'AWSCDK.TriggerCustomResourceProvider',
    what: "aws-cdk-lib's trigger provider, which invokes the migrate function during deployment",
  },
  {
    idPrefix: 'Custom::CDKBucketDeployment',
    what: "aws-cdk-lib's BucketDeployment handler, which copies the web console into its bucket during deployment",
    runtimeChosenByCdk: true,
  },
];

/** Custom-resource providers name their role `Role`; Lambda functions (the BucketDeployment handler) `ServiceRole`. */
function roleOf(handler: IConstruct): IConstruct {
  const role = handler.node.tryFindChild('Role') ?? handler.node.tryFindChild('ServiceRole');
  if (!role) throw new Error(`expected a Role under ${handler.node.path}`);
  return role;
}

/**
 * Acknowledges the framework handlers present in `stack`. `migrationHandler` is the function the trigger provider may
 * invoke: CDK grants `lambda:InvokeFunction` on `<function ARN>:*` because the trigger calls a version of it.
 */
export function acknowledgeFrameworkResources(stack: Stack, migrationHandler: lambda.IFunction): void {
  for (const child of stack.node.children) {
    const handler = frameworkHandlers.find((candidate) => child.node.id.startsWith(candidate.idPrefix));
    if (!handler) continue;
    const role = roleOf(child);
    Validations.of(role).acknowledge({
      id: basicExecutionRole,
      reason: `Role of ${handler.what}; AWS's basic execution policy only lets it write its own CloudWatch logs.`,
    });
    if (handler.runtimeChosenByCdk) {
      Validations.of(child).acknowledge({
        id: 'AwsSolutions-L1',
        reason: `The runtime of ${handler.what} is chosen by aws-cdk-lib and moves with its releases; it runs only during deployments.`,
      });
    }
    if (handler.idPrefix === 'AWSCDK.TriggerCustomResourceProvider') {
      const functionLogicalId = stack.getLogicalId(migrationHandler.node.defaultChild as CfnElement);
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${functionLogicalId}.Arn>:*]`,
        reason:
          'The trigger invokes the current version of the migrate function; `:*` covers that function\'s versions only, ' +
          'no other function.',
      });
    }
  }
}
