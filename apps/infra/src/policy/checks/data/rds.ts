import type { PolicyCheck } from "../../types";
import { blocks, companions, isTrue, resourcesOf, strings } from "../../graph";

const CLUSTER = ["aws_rds_cluster"];

/** Parameters of the cluster's parameter group, by name. */
function clusterParameters(stackJson: Record<string, any>, groupRef: unknown): Record<string, string> {
  const name = /aws_rds_cluster_parameter_group\.([^.]+)\./.exec(String(groupRef ?? ""))?.[1];
  const group = name ? resourcesOf(stackJson, "aws_rds_cluster_parameter_group")[name] : undefined;
  return Object.fromEntries(blocks(group?.parameter).map((p) => [String(p.name), String(p.value)]));
}

/** Aurora clusters and their instances. */
export const RDS_CHECKS: readonly PolicyCheck[] = [
  {
    id: "OHT_RDS_001",
    title: "Aurora storage is encrypted (CKV_AWS_96, AWS-0079)",
    resourceTypes: CLUSTER,
    evaluate: (r) => (isTrue(r.body.storage_encrypted) ? undefined : "storage_encrypted is not true"),
  },
  {
    id: "OHT_RDS_002",
    title: "Aurora has deletion protection (CKV_AWS_139, AWS-0343)",
    resourceTypes: CLUSTER,
    evaluate: (r) => (isTrue(r.body.deletion_protection) ? undefined : "deletion_protection is not true"),
  },
  {
    id: "OHT_RDS_003",
    title: "Aurora keeps automated backups at least 7 days (CKV_AWS_133, AWS-0077)",
    resourceTypes: CLUSTER,
    evaluate(r) {
      const days = Number(r.body.backup_retention_period ?? 1);
      return days >= 7 ? undefined : `backup_retention_period is ${days}`;
    },
  },
  {
    id: "OHT_RDS_004",
    title: "Aurora takes a final snapshot on deletion and copies tags to snapshots (CKV_AWS_313)",
    resourceTypes: CLUSTER,
    evaluate(r) {
      if (isTrue(r.body.skip_final_snapshot) || !r.body.final_snapshot_identifier) return "no final snapshot on deletion";
      return isTrue(r.body.copy_tags_to_snapshot) ? undefined : "copy_tags_to_snapshot is not true";
    },
  },
  {
    id: "OHT_RDS_005",
    title: "Aurora exports PostgreSQL logs to CloudWatch (CKV_AWS_324)",
    resourceTypes: CLUSTER,
    evaluate: (r) => ((r.body.enabled_cloudwatch_logs_exports ?? []).includes("postgresql") ? undefined : "postgresql log export is off"),
  },
  {
    id: "OHT_RDS_006",
    title: "Aurora's master password is managed by RDS in Secrets Manager, never in Terraform",
    resourceTypes: CLUSTER,
    evaluate(r) {
      if (r.body.master_password !== undefined) return "master_password is set in the configuration (it lands in cdktf.out and state)";
      return isTrue(r.body.manage_master_user_password) || r.body.snapshot_identifier
        ? undefined
        : "manage_master_user_password is not true";
    },
  },
  {
    id: "OHT_RDS_007",
    title: "Aurora instances are not publicly accessible (CKV_AWS_17, AWS-0180)",
    resourceTypes: ["aws_rds_cluster_instance"],
    evaluate: (r) => (isTrue(r.body.publicly_accessible) ? "publicly_accessible is true" : undefined),
  },
  {
    id: "OHT_RDS_008",
    title: "Aurora instances take minor version upgrades (CKV_AWS_226)",
    resourceTypes: ["aws_rds_cluster_instance"],
    evaluate: (r) => (r.body.auto_minor_version_upgrade === false ? "auto_minor_version_upgrade is false" : undefined),
  },
  {
    id: "OHT_RDS_009",
    title: "Aurora enables IAM database authentication (CKV_AWS_162, AWS-0176)",
    resourceTypes: CLUSTER,
    evaluate: (r) => (isTrue(r.body.iam_database_authentication_enabled) ? undefined : "iam_database_authentication_enabled is not true"),
  },
  {
    id: "OHT_RDS_010",
    title: "Aurora's parameter group forces TLS (rds.force_ssl = 1)",
    resourceTypes: CLUSTER,
    evaluate(r) {
      const value = clusterParameters(r.stackJson, r.body.db_cluster_parameter_group_name)["rds.force_ssl"];
      return value === "0" ? "rds.force_ssl is 0: clients may connect without TLS" : undefined;
    },
  },
  {
    id: "OHT_RDS_011",
    title: "Aurora logs slow statements (log_min_duration_statement set, CKV2_AWS_27)",
    resourceTypes: CLUSTER,
    evaluate(r) {
      const value = clusterParameters(r.stackJson, r.body.db_cluster_parameter_group_name).log_min_duration_statement;
      return value !== undefined && value !== "-1" ? undefined : "log_min_duration_statement is not set";
    },
  },
  {
    id: "OHT_RDS_012",
    title: "Aurora is in an AWS Backup selection (CKV2_AWS_8)",
    resourceTypes: CLUSTER,
    evaluate: (r) => (companions(r, "aws_backup_selection").length ? undefined : "no aws_backup_selection includes the cluster"),
  },
  {
    id: "OHT_RDS_013",
    title: "Aurora Serverless v2 can scale to zero when idle (min capacity 0 with auto-pause)",
    resourceTypes: CLUSTER,
    evaluate(r) {
      const scaling = blocks(r.body.serverlessv2_scaling_configuration)[0];
      if (!scaling) return undefined;
      if (Number(scaling.min_capacity) === 0 && scaling.seconds_until_auto_pause === undefined)
        return "min_capacity 0 without seconds_until_auto_pause";
      return undefined;
    },
  },
  {
    id: "OHT_RDS_014",
    title: "Aurora with automatic minor upgrades ignores engine_version drift (else the next plan tries a downgrade and fails)",
    resourceTypes: CLUSTER,
    evaluate(r) {
      if (r.body.engine_version === undefined) return undefined;
      const upgrading = companions(r, "aws_rds_cluster_instance", "cluster_identifier").some((i) => i.auto_minor_version_upgrade !== false);
      if (!upgrading) return undefined;
      const ignored = strings(blocks(r.body.lifecycle)[0]?.ignore_changes);
      return ignored.includes("engine_version") || ignored.includes("all")
        ? undefined
        : `engine_version ${String(r.body.engine_version)} is pinned while AWS upgrades minor versions: add lifecycle.ignore_changes ` +
            `= [engine_version]`;
    },
  },
  {
    id: "OHT_RDS_015",
    title: "Every log type Aurora exports goes to a log group of the stack with a retention (RDS would create it keeping logs forever)",
    resourceTypes: CLUSTER,
    evaluate(r) {
      const identifier = String(r.body.cluster_identifier ?? "");
      const groups = Object.values(resourcesOf(r.stackJson, "aws_cloudwatch_log_group"));
      const missing = strings(r.body.enabled_cloudwatch_logs_exports).filter((type) => {
        const name = `/aws/rds/cluster/${identifier}/${type}`;
        return !groups.some((g) => g.name === name && Number(g.retention_in_days ?? 0) > 0);
      });
      if (missing.length)
        return `no log group with a retention for ${missing.map((t) => `/aws/rds/cluster/${identifier}/${t}`).join(", ")}`;
      // Created after the cluster, the group would already exist (made by RDS) and the apply would fail.
      const exported = strings(r.body.enabled_cloudwatch_logs_exports).length > 0;
      const waits = strings(r.body.depends_on).some((d) => d.startsWith("aws_cloudwatch_log_group."));
      return exported && !waits ? "the cluster does not depend on its log groups: RDS may create them first" : undefined;
    },
  },
];
