import { exampleConfig, synthDeployment, type Json } from "../support/template";
import { named, only, statements } from "../support/template";

describe("GIVEN the example configuration", () => {
  const synth = synthDeployment();
  const bucketNamed = (prefix: string) => named(synth, "data", "aws_s3_bucket", prefix);
  const companion = (type: string, prefix: string): Json => named(synth, "data", type, prefix);

  describe("WHEN looking at Aurora", () => {
    const cluster = only(synth, "data", "aws_rds_cluster");
    const instance = only(synth, "data", "aws_rds_cluster_instance");
    const parameters = only(synth, "data", "aws_rds_cluster_parameter_group");

    it("THEN it is Aurora Serverless v2 PostgreSQL 16 that scales to 0 ACU and pauses after the configured idle time", () => {
      expect(cluster).toEqual(expect.objectContaining({ engine: "aurora-postgresql", engine_mode: "provisioned", engine_version: "16.6" }));
      expect(cluster.serverlessv2_scaling_configuration).toEqual({ min_capacity: 0, max_capacity: 4, seconds_until_auto_pause: 600 });
      expect(instance.instance_class).toBe("db.serverless");
    });

    it("THEN the master password is managed by RDS in Secrets Manager and never written", () => {
      expect(cluster.manage_master_user_password).toBe(true);
      expect(cluster.master_password).toBeUndefined();
      expect(cluster.master_username).toBe("ohmaster");
    });

    it("THEN destroy loses nothing: deletion protection, a final snapshot, prevent_destroy, 7 days of backups", () => {
      expect(cluster.deletion_protection).toBe(true);
      expect(cluster.skip_final_snapshot).toBe(false);
      expect(cluster.final_snapshot_identifier).toBe("openhands-prod-aurora-final");
      expect(cluster.lifecycle.prevent_destroy).toBe(true);
      expect(cluster.backup_retention_period).toBe(7);
      expect(cluster.copy_tags_to_snapshot).toBe(true);
    });

    it("THEN AWS's minor upgrades do not make the next plan try a downgrade: engine_version changes are ignored", () => {
      expect(cluster.engine_version).toBe("16.6");
      expect(instance.auto_minor_version_upgrade).toBe(true);
      expect(cluster.lifecycle).toEqual({ prevent_destroy: true, ignore_changes: ["engine_version"] });
    });

    it("THEN its PostgreSQL log group is created here, before the cluster, with the configured retention", () => {
      const groups = Object.entries(synth.resources("data", "aws_cloudwatch_log_group"));
      const [name, group] = groups.find(([, g]) => g.name === "/aws/rds/cluster/openhands-prod-aurora/postgresql")!;
      expect(group.retention_in_days).toBe(30);
      expect(cluster.depends_on).toEqual([`aws_cloudwatch_log_group.${name}`]);
    });

    it("THEN it is encrypted, private, exports its logs and sits in the database security group", () => {
      expect(cluster.storage_encrypted).toBe(true);
      expect(instance.publicly_accessible).toBe(false);
      expect(cluster.enabled_cloudwatch_logs_exports).toEqual(["postgresql"]);
      expect(cluster.vpc_security_group_ids).toEqual([expect.stringContaining("security-groups_database_")]);
      expect(only(synth, "data", "aws_db_subnet_group").subnet_ids).toEqual(["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]);
    });

    it("THEN with the OpenHands 1.11.0 pair its parameter group forces TLS 1.2 or better and the cluster has no TLS exception tag", () => {
      expect(parameters.family).toBe("aurora-postgresql16");
      const byName = Object.fromEntries((parameters.parameter as Json[]).map((p) => [p.name, p.value]));
      expect(byName["rds.force_ssl"]).toBe("1");
      expect(byName.ssl_min_protocol_version).toBe("TLSv1.2");
      expect(byName.log_min_duration_statement).toBe("1000");
      expect(cluster.db_cluster_parameter_group_name).toContain("aws_rds_cluster_parameter_group.");
      expect(cluster.tags).toBeUndefined();
      // A move between pairs changes rds.force_ssl in place: the description (replacement-only) is left as it was.
      expect(parameters.lifecycle).toEqual({ ignore_changes: ["description"] });
    });

    it("THEN with the OpenHands 1.7.0 pair (no SSL setting in that app) TLS is optional and the cluster says why in a tag", () => {
      const old = synthDeployment(
        exampleConfig((raw) => {
          raw.openhands.app.tag = "1.7.0";
          raw.openhands.agentServer.tag = "1.19.1-python";
        }),
      );
      const byName = Object.fromEntries(
        (only(old, "data", "aws_rds_cluster_parameter_group").parameter as Json[]).map((p) => [p.name, p.value]),
      );
      expect(byName["rds.force_ssl"]).toBe("0");
      expect(byName.ssl_min_protocol_version).toBe("TLSv1.2");
      expect(only(old, "data", "aws_rds_cluster").tags).toEqual({ "openhands-team:database-tls": "optional-for-openhands-1.7" });
    });
  });

  describe("WHEN looking at the events bucket", () => {
    const ref = (type: string) => companion(type, "events_");

    it("THEN it blocks public access and disables ACLs", () => {
      expect(ref("aws_s3_bucket_public_access_block")).toEqual(
        expect.objectContaining({
          block_public_acls: true,
          block_public_policy: true,
          ignore_public_acls: true,
          restrict_public_buckets: true,
        }),
      );
      expect(ref("aws_s3_bucket_ownership_controls").rule).toEqual({ object_ownership: "BucketOwnerEnforced" });
    });

    it("THEN it is encrypted, versioned and keeps replaced versions 90 days", () => {
      expect(ref("aws_s3_bucket_server_side_encryption_configuration").rule[0].apply_server_side_encryption_by_default.sse_algorithm).toBe(
        "AES256",
      );
      expect(ref("aws_s3_bucket_versioning").versioning_configuration.status).toBe("Enabled");
      const rule = ref("aws_s3_bucket_lifecycle_configuration").rule[0];
      expect(rule.noncurrent_version_expiration).toEqual([{ noncurrent_days: 90 }]);
      expect(rule.abort_incomplete_multipart_upload).toEqual([{ days_after_initiation: 7 }]);
      expect(rule.expiration).toBeUndefined();
    });

    it("THEN its policy refuses plain HTTP and TLS older than 1.2", () => {
      const denies = statements(ref("aws_s3_bucket_policy").policy);
      expect(denies.map((s) => [s.Effect, s.Condition])).toEqual([
        ["Deny", { Bool: { "aws:SecureTransport": "false" } }],
        ["Deny", { NumericLessThan: { "s3:TlsVersion": "1.2" } }],
      ]);
    });

    it("THEN it cannot be destroyed or emptied by Terraform and logs its accesses", () => {
      const bucket = bucketNamed("events_");
      expect(bucket.lifecycle).toEqual({ prevent_destroy: true });
      expect(bucket.force_destroy).toBe(false);
      expect(bucket.bucket_prefix).toBe("openhands-prod-events-");
      expect(ref("aws_s3_bucket_logging").target_bucket).toContain("aws_s3_bucket.access-logs_bucket_");
    });

    it("THEN the access-log bucket admits S3 log delivery for the events bucket only", () => {
      const policy = statements(companion("aws_s3_bucket_policy", "access-logs_").policy);
      const delivery = policy.find((s) => s.Sid === "S3ServerAccessLogs")!;
      expect(delivery.Principal).toEqual({ Service: "logging.s3.amazonaws.com" });
      expect(delivery.Condition.ArnLike["aws:SourceArn"]).toContain("aws_s3_bucket.events_bucket_");
    });
  });

  describe("WHEN looking at EFS", () => {
    const fs = only(synth, "data", "aws_efs_file_system");

    it("THEN it is encrypted, elastic, tiered to IA, protected from destroy", () => {
      expect(fs).toEqual(expect.objectContaining({ encrypted: true, throughput_mode: "elastic", performance_mode: "generalPurpose" }));
      expect(fs.lifecycle_policy).toEqual([
        { transition_to_ia: "AFTER_30_DAYS" },
        { transition_to_primary_storage_class: "AFTER_1_ACCESS" },
      ]);
      expect(fs.lifecycle).toEqual({ prevent_destroy: true });
    });

    it("THEN it has a mount target in each private subnet, in the EFS security group", () => {
      const targets = Object.values(synth.resources("data", "aws_efs_mount_target"));
      expect(targets.map((t) => t.subnet_id)).toEqual(["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]);
      for (const t of targets) expect(t.security_groups).toEqual([expect.stringContaining("security-groups_efs_")]);
    });

    it("THEN its policy denies mounts without TLS and grants nothing by itself", () => {
      const policy = statements(only(synth, "data", "aws_efs_file_system_policy").policy);
      expect(policy).toHaveLength(1);
      expect(policy[0]).toEqual(expect.objectContaining({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }));
    });

    it("THEN EFS's own automatic backup is off because the deployment's plan covers it", () => {
      expect(only(synth, "data", "aws_efs_backup_policy").backup_policy).toEqual({ status: "DISABLED" });
    });
  });

  describe("WHEN looking at AWS Backup", () => {
    it("THEN a daily plan keeps 35 days in its own vault and selects Aurora and EFS", () => {
      const plan = only(synth, "data", "aws_backup_plan");
      expect(plan.rule[0]).toEqual(expect.objectContaining({ schedule: "cron(0 3 * * ? *)", lifecycle: { delete_after: 35 } }));
      expect(only(synth, "data", "aws_backup_vault").force_destroy).toBe(false);
      const selection = only(synth, "data", "aws_backup_selection");
      expect(selection.resources).toEqual([expect.stringContaining("aws_rds_cluster."), expect.stringContaining("aws_efs_file_system.")]);
    });

    it("THEN the backup role is assumable by AWS Backup only", () => {
      const role = only(synth, "data", "aws_iam_role");
      expect(JSON.parse(role.assume_role_policy).Statement[0].Principal).toEqual({ Service: "backup.amazonaws.com" });
    });
  });
});

describe("GIVEN a database that must stay warm (minCapacity 0.5)", () => {
  const synth = synthDeployment(exampleConfig((raw) => (raw.database.minCapacity = 0.5)));

  it("THEN no auto-pause is configured", () => {
    expect(only(synth, "data", "aws_rds_cluster").serverlessv2_scaling_configuration).toEqual({ min_capacity: 0.5, max_capacity: 4 });
  });
});
