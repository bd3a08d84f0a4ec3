import { Construct } from "constructs";
import { EfsBackupPolicy } from "@cdktf/provider-aws/lib/efs-backup-policy";
import { EfsFileSystem } from "@cdktf/provider-aws/lib/efs-file-system";
import { EfsFileSystemPolicy } from "@cdktf/provider-aws/lib/efs-file-system-policy";
import { EfsMountTarget } from "@cdktf/provider-aws/lib/efs-mount-target";

export interface WorkspaceFileSystemProps {
  readonly namePrefix: string;
  /** One mount target per subnet (one subnet per AZ). */
  readonly subnetIds: readonly string[];
  readonly securityGroupId: string;
}

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

  constructor(scope: Construct, id: string, props: WorkspaceFileSystemProps) {
    super(scope, id);
    const fs = new EfsFileSystem(this, "file-system", {
      creationToken: `${props.namePrefix}-workspaces`,
      encrypted: true,
      performanceMode: "generalPurpose",
      throughputMode: "elastic",
      lifecyclePolicy: [{ transitionToIa: "AFTER_30_DAYS" }, { transitionToPrimaryStorageClass: "AFTER_1_ACCESS" }],
      tags: { Name: `${props.namePrefix}-workspaces` },
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
    this.fileSystemId = fs.id;
    this.fileSystemArn = fs.arn;
  }
}
