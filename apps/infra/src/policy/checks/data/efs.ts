import type { PolicyCheck } from "../../types";
import { blocks, companions, isTrue, parsePolicy } from "../../graph";
import { COMPUTE_MODE_TAG } from "../../../constructs/data/workspace-file-system";

/** The three denies of ECS mode: the condition (operator, key, value) each must carry. */
const ECS_DENIES = [
  ["Bool", "aws:SecureTransport", "false", "mounts without TLS"],
  ["Null", "aws:PrincipalArn", "true", "mounts without IAM authorisation"],
  ["Null", "elasticfilesystem:AccessPointArn", "true", "mounts without an access point"],
] as const;

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
    id: "OHT_EFS_005",
    title: "In ECS mode the file system policy denies mounts without IAM, without TLS and without an access point",
    resourceTypes: ["aws_efs_file_system"],
    evaluate(r) {
      const mode = r.body.tags?.[COMPUTE_MODE_TAG];
      if (mode !== "docker" && mode !== "ecs") return `no ${COMPUTE_MODE_TAG} tag (docker or ecs): the policy it needs is unknown`;
      if (mode === "docker") return undefined;
      // A sandbox reaches port 2049: without these denies it could mount the root, or another user's tree, anonymously.
      const policy = companions(r, "aws_efs_file_system_policy")[0];
      const statements = (parsePolicy(policy?.policy)?.Statement ?? []) as any[];
      const missing = ECS_DENIES.filter(
        ([operator, key, value]) =>
          !statements.some((s) => s.Effect === "Deny" && String(s.Condition?.[operator]?.[key]) === value && coversMounts(s.Action)),
      ).map(([, , , what]) => what);
      return missing.length ? `the file system policy does not deny ${missing.join(", ")}` : undefined;
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

/** Whether a deny's actions cover mounting: `*`, `elasticfilesystem:*` or ClientMount itself. */
function coversMounts(action: unknown): boolean {
  const actions = (Array.isArray(action) ? action : [action]).map(String);
  return actions.some((a) => a === "*" || a === "elasticfilesystem:*" || a === "elasticfilesystem:ClientMount");
}
