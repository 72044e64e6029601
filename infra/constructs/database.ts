/**
 * Aurora PostgreSQL Serverless v2, reached only through the RDS Data API.
 * The cluster sits in isolated subnets with no NAT gateway and a security group without ingress rules: nothing can
 * open a socket to it, the Lambdas stay outside the VPC (the Data API is an HTTPS endpoint), and the VPC costs
 * nothing at idle. Min capacity 0 lets the writer pause; the Data API resumes it (DatabaseResumingException).
 *
 * One generated Secrets Manager secret per database login: the master (`reelay_admin`, migrations) and the two roles
 * migration 0004 creates (`reelay_app`, `reelay_read`). The migrate function gives the roles their secrets'
 * passwords at deploy time (shared/db/roles.ts); each function may read only the secret of the role it logs in as.
 */
import { Validations, type Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { DatabaseConfig } from '../config.js';
import type { DatabaseAccess } from '../manifest.js';

/** The master user, which owns the schema and runs the migrations. */
export const masterUsername = 'reelay_admin';

/**
 * The roles of migration 0004 (shared/db/roles.ts names them for the runtime; test/infra checks the two agree), by
 * the manifest capability that logs in as them.
 */
export const roleUsernames = { database: 'reelay_app', 'database-read': 'reelay_read' } as const satisfies Partial<Record<DatabaseAccess, string>>;
export type RoleAccess = keyof typeof roleUsernames;

/** What the Data API needs on the cluster (aws-cdk-lib's grantDataApiAccess also grants the master secret). */
export const dataApiActions = [
  'rds-data:BatchExecuteStatement',
  'rds-data:BeginTransaction',
  'rds-data:CommitTransaction',
  'rds-data:ExecuteStatement',
  'rds-data:RollbackTransaction',
] as const;

const rotationReason =
  'Rotation needs a rotation Lambda inside the VPC plus a Secrets Manager interface endpoint or NAT (an hourly cost ' +
  'this stack avoids). The Data API reads the secret on every call, so rotation can be added later without code ' +
  'changes (docs/DEPLOY.md).';

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
  /** The generated master credentials: the migrate and admin functions' Data API secret. */
  readonly secret: secretsmanager.ISecret;
  /** The roles' generated credentials (`{username, password}` plus the cluster's connection fields), by capability. */
  readonly roleSecrets: Readonly<Record<RoleAccess, secretsmanager.ISecret>>;
  readonly databaseName: string;
  /** How long the writer stays up without connections before pausing; undefined when it never pauses (min > 0 ACU). */
  readonly autoPause: Duration | undefined;

  constructor(scope: Construct, id: string, props: DatabaseProps) {
    super(scope, id);
    this.databaseName = props.databaseName ?? 'reelay';
    this.autoPause = props.config.minCapacity === 0 ? props.config.autoPause : undefined;

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
      credentials: rds.Credentials.fromGeneratedSecret(masterUsername),
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
    Validations.of(generatedSecret).acknowledge({ id: 'AwsSolutions-SMG4', reason: rotationReason });

    const roleSecret = (access: RoleAccess, id: string): secretsmanager.ISecret => {
      const secret = new rds.DatabaseSecret(this, id, {
        username: roleUsernames[access],
        dbname: this.databaseName,
        // Kept in the secret so a multi-user rotation Lambda can be added later without changing the secret.
        masterSecret: generatedSecret,
      });
      secret.applyRemovalPolicy(props.removalPolicy);
      Validations.of(secret).acknowledge({ id: 'AwsSolutions-SMG4', reason: rotationReason });
      return secret.attach(this.cluster);
    };
    this.roleSecrets = { database: roleSecret('database', 'AppSecret'), 'database-read': roleSecret('database-read', 'ReadSecret') };
    if (!props.deletionProtection) {
      Validations.of(this.cluster).acknowledge({
        id: 'AwsSolutions-RDS10',
        reason: 'The dev stage is disposable by design (cdk destroy must succeed); prod enables deletion protection.',
      });
    }
  }

  /** The secret a function with this database capability authenticates its Data API calls with. */
  secretFor(access: DatabaseAccess): secretsmanager.ISecret {
    return access === 'database-migrations' ? this.secret : this.roleSecrets[access];
  }

  /** Data API calls on this cluster plus reading the one secret of the role `access` names, and no other secret. */
  grantDataApiAccess(grantee: iam.IGrantable, access: DatabaseAccess): secretsmanager.ISecret {
    iam.Grant.addToPrincipal({ grantee, actions: [...dataApiActions], resourceArns: [this.cluster.clusterArn] });
    const secret = this.secretFor(access);
    secret.grantRead(grantee);
    return secret;
  }
}
