/**
 * Aurora PostgreSQL Serverless v2, reached only through the RDS Data API.
 * The cluster sits in isolated subnets with no NAT gateway and a security group without ingress rules: nothing can
 * open a socket to it, the Lambdas stay outside the VPC (the Data API is an HTTPS endpoint), and the VPC costs
 * nothing at idle. Min capacity 0 lets the writer pause; the Data API resumes it (DatabaseResumingException).
 */
import { Validations, type RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { DatabaseConfig } from '../config.js';

/**
 * 16.6: the Data API needs Aurora PostgreSQL 16.1+ and scaling to 0 ACU needs 16.3+ (AWS Aurora User Guide:
 * data-api regions table, aurora-serverless-v2 capacity). Minor upgrades stay automatic.
 */
export const auroraEngineVersion = rds.AuroraPostgresEngineVersion.VER_16_6;

export interface DatabaseProps {
  readonly config: DatabaseConfig;
  readonly removalPolicy: RemovalPolicy;
  readonly deletionProtection: boolean;
  readonly logRetention: logs.RetentionDays;
  /** @default 'reelay' */
  readonly databaseName?: string;
}

export class Database extends Construct {
  readonly vpc: ec2.Vpc;
  readonly cluster: rds.DatabaseCluster;
  /** The generated master credentials; the Data API authenticates every call with this secret. */
  readonly secret: secretsmanager.ISecret;
  readonly databaseName: string;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    this.databaseName = props.databaseName ?? 'reelay';

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
    });
    // Rejected traffic is the only kind worth seeing in a VPC nobody should reach; it costs nothing at idle.
    const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: this.vpc,
      description: 'Aurora for reelay: no ingress, the Data API is the only way in',
      allowAllOutbound: false,
    });

    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: auroraEngineVersion }),
      credentials: rds.Credentials.fromGeneratedSecret('reelay_admin'),
      defaultDatabaseName: this.databaseName,
      writer: rds.ClusterInstance.serverlessV2('Writer', { autoMinorVersionUpgrade: true }),
      serverlessV2MinCapacity: props.config.minCapacity,
      serverlessV2MaxCapacity: props.config.maxCapacity,
      ...(props.config.minCapacity === 0 ? { serverlessV2AutoPauseDuration: props.config.autoPause } : {}),
      enableDataApi: true,
      storageEncrypted: true,
      // IAM database authentication for any future direct connection (e.g. through a bastion); passwords stay unused.
      iamAuthentication: true,
      backup: { retention: props.config.backupRetention },
      deletionProtection: props.deletionProtection,
      removalPolicy: props.removalPolicy,
      copyTagsToSnapshot: true,
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [securityGroup],
    });
    if (!this.cluster.secret) throw new Error('the cluster must have generated credentials for the Data API');
    this.secret = this.cluster.secret;

    // cluster.secret is the attachment; the secret itself is the cluster's "Secret" child. It must outlive a retained
    // cluster (CDK leaves it at Delete), or a retained prod cluster would keep data nobody can log in to.
    const generatedSecret = this.cluster.node.findChild('Secret') as rds.DatabaseSecret;
    generatedSecret.applyRemovalPolicy(props.removalPolicy);
    Validations.of(generatedSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotation needs a rotation Lambda inside the VPC plus a Secrets Manager interface endpoint or NAT (an hourly cost ' +
        'this stack avoids). The Data API reads the secret on every call, so rotation can be added later without code ' +
        'changes (docs/DEPLOY.md).',
    });
    if (!props.deletionProtection) {
      Validations.of(this.cluster).acknowledge({
        id: 'AwsSolutions-RDS10',
        reason: 'The dev stage is disposable by design (cdk destroy must succeed); prod enables deletion protection.',
      });
    }
  }

  /** Data API calls on this cluster plus reading the secret they authenticate with. */
  grantDataApiAccess(grantee: iam.IGrantable): iam.Grant {
    return this.cluster.grantDataApiAccess(grantee);
  }
}
