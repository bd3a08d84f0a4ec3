import { Construct } from "constructs";
import { EfsAccessPoint } from "@cdktf/provider-aws/lib/efs-access-point";
import { EfsBackupPolicy } from "@cdktf/provider-aws/lib/efs-backup-policy";
import { EfsFileSystem } from "@cdktf/provider-aws/lib/efs-file-system";
import { EfsFileSystemPolicy } from "@cdktf/provider-aws/lib/efs-file-system-policy";
import { EfsMountTarget } from "@cdktf/provider-aws/lib/efs-mount-target";

export interface WorkspaceFileSystemProps {
  readonly namePrefix: string;
  /** One mount target per subnet (one subnet per AZ). */
  readonly subnetIds: readonly string[];
  readonly securityGroupId: string;
  /**
   * ECS mode: the policy also denies mounts without IAM authorisation or without an access point (an access point is a
   * boundary only then), and the host gets an access point of its own. @default "docker"
   */
  readonly computeMode?: "docker" | "ecs";
}

/** Tag on the file system naming the compute mode; policy check OHT_EFS_005 reads it. */
export const COMPUTE_MODE_TAG = "openhands-team:compute-mode";

/** The EFS client actions a mount needs; the deny statements of ECS mode name them. */
export const EFS_CLIENT_ACTIONS = [
  "elasticfilesystem:ClientMount",
  "elasticfilesystem:ClientWrite",
  "elasticfilesystem:ClientRootAccess",
] as const;

/**
 * EFS for the users' workspaces and OpenHands state: encrypted, elastic throughput, files move to
 * Infrequent Access after 30 days and back on first access, a mount target in every AZ of the host.
 *
 * The file system policy refuses unencrypted (non-TLS) mounts and grants nothing itself: with a policy in
 * place, anonymous NFS clients get nothing, so only IAM-authenticated mounts (`mount -t efs -o tls,iam`)
 * of principals whose own policy allows `elasticfilesystem:Client*` (the host role) get in.
 * Backups come from the deployment's AWS Backup plan, so EFS's own automatic backup is switched off
 * (it would pay for a second copy).
 */
export class WorkspaceFileSystem extends Construct {
  readonly fileSystemId: string;
  readonly fileSystemArn: string;
  readonly mountTargetIds: readonly string[];
  /** ECS mode: the host's access point (root `/`): with the ECS policy every mount, the host's too, goes through one. */
  readonly hostAccessPointId?: string;

  constructor(scope: Construct, id: string, props: WorkspaceFileSystemProps) {
    super(scope, id);
    const fs = new EfsFileSystem(this, "file-system", {
      creationToken: `${props.namePrefix}-workspaces`,
      encrypted: true,
      performanceMode: "generalPurpose",
      throughputMode: "elastic",
      lifecyclePolicy: [{ transitionToIa: "AFTER_30_DAYS" }, { transitionToPrimaryStorageClass: "AFTER_1_ACCESS" }],
      tags: { Name: `${props.namePrefix}-workspaces`, [COMPUTE_MODE_TAG]: props.computeMode ?? "docker" },
      lifecycle: { preventDestroy: true },
    });
    // Sniffing and unauthenticated mounts: non-TLS access is denied; the policy grants no one anything.
    new EfsFileSystemPolicy(this, "policy", {
      fileSystemId: fs.id,
      bypassPolicyLockoutSafetyCheck: false,
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "DenyUnencryptedTransport",
            Effect: "Deny",
            Principal: { AWS: "*" },
            Action: "*",
            Resource: fs.arn,
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
          ...(props.computeMode === "ecs" ? accessPointOnlyStatements(fs.arn) : []),
        ],
      }),
    });
    new EfsBackupPolicy(this, "automatic-backup", {
      fileSystemId: fs.id,
      backupPolicy: { status: "DISABLED" },
    });
    this.mountTargetIds = props.subnetIds.map(
      (subnetId, i) =>
        new EfsMountTarget(this, `mount-target-${i}`, { fileSystemId: fs.id, subnetId, securityGroups: [props.securityGroupId] }).id,
    );
    if (props.computeMode === "ecs") {
      // The host still mounts the whole tree (it prepares users' folders and keeps sandbox records), through this one.
      const host = new EfsAccessPoint(this, "host-access-point", {
        fileSystemId: fs.id,
        rootDirectory: { path: "/" },
        tags: { Name: `${props.namePrefix}-host` },
      });
      this.hostAccessPointId = host.id;
    }
    this.fileSystemId = fs.id;
    this.fileSystemArn = fs.arn;
  }
}

/**
 * ECS mode: a sandbox task can reach port 2049, so the file system itself refuses what would skip the per-user access
 * points. Explicit denies win over any allow, so no role's policy can undo them.
 */
function accessPointOnlyStatements(fileSystemArn: string) {
  return [
    // Anonymous NFS mounts (a task with no role, any client in the VPC): only IAM-authorised principals mount.
    {
      Sid: "DenyMountsWithoutIam",
      Effect: "Deny",
      Principal: { AWS: "*" },
      Action: [...EFS_CLIENT_ACTIONS],
      Resource: fileSystemArn,
      Condition: { Null: { "aws:PrincipalArn": "true" } },
    },
    // Mounting the root or another user's tree: every mount goes through an access point, which pins its root and owner.
    {
      Sid: "DenyMountsWithoutAccessPoint",
      Effect: "Deny",
      Principal: { AWS: "*" },
      Action: [...EFS_CLIENT_ACTIONS],
      Resource: fileSystemArn,
      Condition: { Null: { "elasticfilesystem:AccessPointArn": "true" } },
    },
  ];
}
