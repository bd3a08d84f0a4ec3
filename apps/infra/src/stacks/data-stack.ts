import type { Construct } from "constructs";
import { appSupportsDatabaseTls, type DeploymentConfig } from "../config/schema";
import { AuroraDatabase } from "../constructs/data/aurora-database";
import { DataBackupPlan } from "../constructs/data/data-backup-plan";
import { PrivateBucket } from "../constructs/data/private-bucket";
import { WorkspaceFileSystem } from "../constructs/data/workspace-file-system";
import { DeploymentStack } from "./deployment-stack";
import type { NetworkStack } from "./network-stack";

export interface DataStackProps {
  readonly network: NetworkStack;
}

/**
 * Main region: the stateful resources (Aurora, the events bucket, EFS, backups), apart from compute so that a
 * compute change never plans a replacement here. Every store is protected from `destroy`.
 */
export class DataStack extends DeploymentStack {
  readonly eventsBucketName: string;
  readonly eventsBucketArn: string;
  readonly accessLogsBucketName: string;
  readonly databaseClusterIdentifier: string;
  readonly databaseClusterArn: string;
  readonly databaseEndpoint: string;
  readonly databasePort: number;
  readonly databaseMasterSecretArn: string;
  readonly databaseWriterInstanceIdentifier: string;
  /** The cluster's PostgreSQL log group (created here, with the configured retention). */
  readonly databaseLogGroupName: string;
  readonly fileSystemId: string;
  readonly fileSystemArn: string;
  /** ECS mode: the host's access point (every mount goes through one). */
  readonly hostAccessPointId?: string;
  readonly backupVaultName: string;

  constructor(scope: Construct, config: DeploymentConfig, props: DataStackProps) {
    super(scope, "data", { config, region: config.region });
    const network = props.network;
    const prefix = this.names.prefix;
    const events = new PrivateBucket(this, "events", {
      bucketPrefix: `${prefix}-events-`,
      noncurrentVersionDays: 90,
      preventDestroy: true,
    });
    // Server access logs of the events bucket; a log bucket cannot log to itself.
    const accessLogs = new PrivateBucket(this, "access-logs", {
      bucketPrefix: `${prefix}-access-logs-`,
      noncurrentVersionDays: 30,
      expireAfterDays: 365,
      extraPolicyStatements: (bucketArn) => [
        {
          Sid: "S3ServerAccessLogs",
          Effect: "Allow",
          Principal: { Service: "logging.s3.amazonaws.com" },
          Action: "s3:PutObject",
          Resource: `${bucketArn}/*`,
          Condition: { ArnLike: { "aws:SourceArn": events.bucketArn } },
        },
      ],
    });
    events.sendAccessLogsTo(accessLogs);
    const database = new AuroraDatabase(this, "aurora", {
      namePrefix: prefix,
      subnetIds: network.privateSubnetIds,
      securityGroupId: network.databaseSecurityGroupId,
      engineVersion: config.database.engineVersion,
      minCapacity: config.database.minCapacity,
      maxCapacity: config.database.maxCapacity,
      autoPauseSeconds: config.database.autoPauseSeconds,
      backupRetentionDays: config.database.backupRetentionDays,
      logRetentionDays: config.monitoring.logRetentionDays,
      requireTls: appSupportsDatabaseTls(config.openhands.app.tag),
    });
    const fileSystem = new WorkspaceFileSystem(this, "workspaces", {
      namePrefix: prefix,
      subnetIds: network.privateSubnetIds,
      securityGroupId: network.fileSystemSecurityGroupId,
      computeMode: config.compute.mode,
    });
    const backup = new DataBackupPlan(this, "backup", {
      namePrefix: prefix,
      resourceArns: [database.clusterArn, fileSystem.fileSystemArn],
      retentionDays: config.backup.retentionDays,
    });
    this.eventsBucketName = events.bucketName;
    this.eventsBucketArn = events.bucketArn;
    this.accessLogsBucketName = accessLogs.bucketName;
    this.databaseClusterIdentifier = database.clusterIdentifier;
    this.databaseClusterArn = database.clusterArn;
    this.databaseEndpoint = database.endpoint;
    this.databasePort = database.port;
    this.databaseMasterSecretArn = database.masterSecretArn;
    this.databaseWriterInstanceIdentifier = database.writerInstanceIdentifier;
    this.databaseLogGroupName = database.logGroupName;
    this.fileSystemId = fileSystem.fileSystemId;
    this.fileSystemArn = fileSystem.fileSystemArn;
    this.hostAccessPointId = fileSystem.hostAccessPointId;
    this.backupVaultName = backup.vaultName;
    this.operatorOutput("database_log_group", database.logGroupName, "CloudWatch log group of Aurora's PostgreSQL log");
    this.operatorOutput("database_cluster", database.clusterIdentifier, "Aurora cluster identifier");
    this.operatorOutput("events_bucket", events.bucketName, "S3 bucket of the OpenHands event streams");
    this.operatorOutput("backup_vault", backup.vaultName, "AWS Backup vault with the daily recovery points of Aurora and EFS");
  }
}
