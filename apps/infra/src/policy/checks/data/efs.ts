import type { PolicyCheck } from "../../types";
import { blocks, companions, isTrue, parsePolicy } from "../../graph";

/** EFS file systems: encrypted, TLS only, backed up. */
export const EFS_CHECKS: readonly PolicyCheck[] = [
  {
    id: "OHT_EFS_001",
    title: "EFS file system is encrypted at rest (CKV_AWS_42, AWS-0037)",
    resourceTypes: ["aws_efs_file_system"],
    evaluate(r) {
      return isTrue(r.body.encrypted) ? undefined : "encrypted is not true";
    },
  },
  {
    id: "OHT_EFS_002",
    title: "EFS file system policy denies access without TLS",
    resourceTypes: ["aws_efs_file_system"],
    evaluate(r) {
      const policy = companions(r, "aws_efs_file_system_policy")[0];
      const statements = (parsePolicy(policy?.policy)?.Statement ?? []) as any[];
      return statements.some((s) => s.Effect === "Deny" && s.Condition?.Bool?.["aws:SecureTransport"] === "false")
        ? undefined
        : "no file system policy statement denies aws:SecureTransport = false";
    },
  },
  {
    id: "OHT_EFS_003",
    title: "EFS file system is in an AWS Backup selection (CKV2_AWS_18)",
    resourceTypes: ["aws_efs_file_system"],
    evaluate(r) {
      return companions(r, "aws_backup_selection").length ? undefined : "no aws_backup_selection includes the file system";
    },
  },
  {
    id: "OHT_EFS_004",
    title: "EFS file system moves cold files to Infrequent Access",
    resourceTypes: ["aws_efs_file_system"],
    evaluate(r) {
      return blocks(r.body.lifecycle_policy).some((p) => p.transition_to_ia) ? undefined : "no lifecycle policy transition_to_ia";
    },
  },
];
