import { Construct } from "constructs";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { DbSubnetGroup } from "@cdktf/provider-aws/lib/db-subnet-group";
import { RdsCluster } from "@cdktf/provider-aws/lib/rds-cluster";
import { RdsClusterInstance } from "@cdktf/provider-aws/lib/rds-cluster-instance";
import { RdsClusterParameterGroup } from "@cdktf/provider-aws/lib/rds-cluster-parameter-group";

export interface AuroraDatabaseProps {
  readonly namePrefix: string;
  readonly subnetIds: readonly string[];
  readonly securityGroupId: string;
  /** Aurora PostgreSQL version, 16.x. */
  readonly engineVersion: string;
  /** Minimum ACU; 0 lets the cluster pause. */
  readonly minCapacity: number;
  readonly maxCapacity: number;
  /** Idle seconds before pausing (used when minCapacity is 0). */
  readonly autoPauseSeconds: number;
  readonly backupRetentionDays: number;
  /** Retention of the cluster's PostgreSQL log group. */
  readonly logRetentionDays: number;
  /** Refuse connections without TLS (`rds.force_ssl=1`): only when the pinned OpenHands app can use TLS (1.8.0+). */
  readonly requireTls: boolean;
}

/**
 * Marks a cluster whose parameter group leaves TLS optional because the pinned app cannot use it; the policy
 * suppression of the forced-TLS check applies to such clusters only (src/policy/suppressions.ts).
 */
export const TLS_OPTIONAL_TAG = { key: "openhands-team:database-tls", value: "optional-for-openhands-1.7" } as const;

/** Master user of the cluster; the spawner creates one database and one login per user with it. */
export const MASTER_USERNAME = "ohmaster";

/**
 * Aurora Serverless v2 PostgreSQL, one writer, for OpenHands' conversation metadata (one database per user).
 *
 * Nothing is lost on destroy: deletion protection, a final snapshot, `prevent_destroy`, and automated
 * backups. The master password is generated and rotated by RDS in Secrets Manager
 * (`manage_master_user_password`), so no password exists in Terraform.
 *
 * TLS decision: from OpenHands 1.8.0 the app reads DB_SSL_MODE for both its drivers and the spawner sets it to
 * `require`, so the parameter group forces TLS (`rds.force_ssl=1`, minimum TLS 1.2). OpenHands 1.7 runs its
 * startup migrations through pg8000 with no SSL arguments and reads no SSL setting, so with a 1.7 pair
 * `rds.force_ssl=1` would stop it from starting: then the group sets `rds.force_ssl=0` and the cluster carries
 * TLS_OPTIONAL_TAG (the cluster sits in private subnets, is not publicly accessible, and its security group
 * admits the host alone). The spawner's own connections use TLS either way. `rds.force_ssl` applies at the
 * next reboot of the writer (docs/operations.md, "Upgrading OpenHands").
 *
 * Minor versions: AWS upgrades the cluster itself (`auto_minor_version_upgrade`), so `engineVersion` is the
 * version a new cluster starts with and Terraform ignores later differences; otherwise the next plan after an
 * upgrade would try to downgrade and fail. A major upgrade is a deliberate change made outside this module.
 *
 * The PostgreSQL log group `/aws/rds/cluster/<id>/postgresql` is created here, with the configured retention,
 * before the cluster: left to RDS it would keep logs forever.
 */
export class AuroraDatabase extends Construct {
  readonly clusterIdentifier: string;
  readonly clusterArn: string;
  readonly endpoint: string;
  readonly port: number;
  /** Secrets Manager secret of the master user, owned and rotated by RDS. */
  readonly masterSecretArn: string;
  readonly writerInstanceIdentifier: string;
  /** `/aws/rds/cluster/<id>/postgresql`. */
  readonly logGroupName: string;

  constructor(scope: Construct, id: string, props: AuroraDatabaseProps) {
    super(scope, id);
    const subnets = new DbSubnetGroup(this, "subnets", {
      name: `${props.namePrefix}-aurora`,
      description: "Private subnets of the OpenHands database",
      subnetIds: [...props.subnetIds],
    });
    const parameters = new RdsClusterParameterGroup(this, "parameters", {
      name: `${props.namePrefix}-aurora-pg16`,
      family: "aurora-postgresql16",
      description: props.requireTls
        ? "OpenHands: TLS required, slow statements logged"
        : "OpenHands: TLS optional for its pg8000 migrations, slow statements logged",
      parameter: [
        { name: "rds.force_ssl", value: props.requireTls ? "1" : "0", applyMethod: "pending-reboot" },
        { name: "ssl_min_protocol_version", value: "TLSv1.2", applyMethod: "pending-reboot" },
        { name: "log_min_duration_statement", value: "1000" },
        { name: "log_connections", value: "1" },
        { name: "log_disconnections", value: "1" },
      ],
      // The description cannot change in place (a new group of the same name would be needed): a deployment that
      // moves to a TLS-capable pair keeps its old description and changes only rds.force_ssl.
      lifecycle: { ignoreChanges: ["description"] },
    });
    const paused = props.minCapacity === 0;
    const clusterIdentifier = `${props.namePrefix}-aurora`;
    const logGroup = new CloudwatchLogGroup(this, "postgresql-logs", {
      name: `/aws/rds/cluster/${clusterIdentifier}/postgresql`,
      retentionInDays: props.logRetentionDays,
    });
    const cluster = new RdsCluster(this, "cluster", {
      clusterIdentifier,
      engine: "aurora-postgresql",
      engineMode: "provisioned",
      engineVersion: props.engineVersion,
      masterUsername: MASTER_USERNAME,
      manageMasterUserPassword: true,
      dbSubnetGroupName: subnets.name,
      dbClusterParameterGroupName: parameters.name,
      vpcSecurityGroupIds: [props.securityGroupId],
      storageEncrypted: true,
      deletionProtection: true,
      skipFinalSnapshot: false,
      finalSnapshotIdentifier: `${props.namePrefix}-aurora-final`,
      backupRetentionPeriod: props.backupRetentionDays,
      preferredBackupWindow: "02:00-03:00",
      preferredMaintenanceWindow: "sun:04:00-sun:05:00",
      copyTagsToSnapshot: true,
      iamDatabaseAuthenticationEnabled: true,
      enabledCloudwatchLogsExports: ["postgresql"],
      serverlessv2ScalingConfiguration: {
        minCapacity: props.minCapacity,
        maxCapacity: props.maxCapacity,
        ...(paused ? { secondsUntilAutoPause: props.autoPauseSeconds } : {}),
      },
      // The final snapshot would be taken under a fixed name on every replacement; a replacement is a restore job.
      // AWS's minor upgrades change the version: ignored, or the next plan would try to downgrade.
      lifecycle: { preventDestroy: true, ignoreChanges: ["engine_version"] },
      dependsOn: [logGroup],
      ...(props.requireTls ? {} : { tags: { [TLS_OPTIONAL_TAG.key]: TLS_OPTIONAL_TAG.value } }),
    });
    const writer = new RdsClusterInstance(this, "writer", {
      identifier: `${props.namePrefix}-aurora-1`,
      clusterIdentifier: cluster.id,
      instanceClass: "db.serverless",
      engine: "aurora-postgresql",
      publiclyAccessible: false,
      autoMinorVersionUpgrade: true,
      dbSubnetGroupName: subnets.name,
      copyTagsToSnapshot: true,
    });
    this.clusterIdentifier = cluster.clusterIdentifier;
    this.clusterArn = cluster.arn;
    this.endpoint = cluster.endpoint;
    this.port = 5432;
    this.masterSecretArn = cluster.masterUserSecret.get(0).secretArn;
    this.writerInstanceIdentifier = writer.identifier;
    this.logGroupName = logGroup.name;
  }
}
