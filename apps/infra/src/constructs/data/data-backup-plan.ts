import { Construct } from "constructs";
import { BackupPlan } from "@cdktf/provider-aws/lib/backup-plan";
import { BackupSelection } from "@cdktf/provider-aws/lib/backup-selection";
import { BackupVault } from "@cdktf/provider-aws/lib/backup-vault";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicyAttachment } from "@cdktf/provider-aws/lib/iam-role-policy-attachment";

export interface DataBackupPlanProps {
  readonly namePrefix: string;
  /** ARNs of the resources to back up (the Aurora cluster, the EFS file system). */
  readonly resourceArns: readonly string[];
  /** Days each daily recovery point is kept. */
  readonly retentionDays: number;
}

/** AWS's own policies for the Backup service role (backup and restore of RDS and EFS among others). */
export const BACKUP_SERVICE_POLICIES = ["AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores"] as const;

/**
 * Daily AWS Backup recovery points of Aurora and EFS in a vault of their own, kept for the configured days.
 * These are independent of Aurora's automated backups and survive the deletion of the source resources.
 */
export class DataBackupPlan extends Construct {
  readonly vaultName: string;
  readonly planId: string;
  readonly roleArn: string;

  constructor(scope: Construct, id: string, props: DataBackupPlanProps) {
    super(scope, id);
    const partition = new DataAwsPartition(this, "partition");
    const vault = new BackupVault(this, "vault", {
      name: `${props.namePrefix}-backups`,
      forceDestroy: false,
    });
    const plan = new BackupPlan(this, "plan", {
      name: `${props.namePrefix}-daily`,
      rule: [
        {
          ruleName: "daily",
          targetVaultName: vault.name,
          schedule: "cron(0 3 * * ? *)",
          startWindow: 60,
          completionWindow: 360,
          lifecycle: { deleteAfter: props.retentionDays },
        },
      ],
    });
    const role = new IamRole(this, "role", {
      name: `${props.namePrefix}-backup`,
      description: "AWS Backup: recovery points of Aurora and EFS",
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "backup.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
    });
    for (const policy of BACKUP_SERVICE_POLICIES) {
      new IamRolePolicyAttachment(this, `role-${policy}`, {
        role: role.name,
        policyArn: `arn:${partition.partition}:iam::aws:policy/service-role/${policy}`,
      });
    }
    new BackupSelection(this, "selection", {
      name: `${props.namePrefix}-data`,
      planId: plan.id,
      iamRoleArn: role.arn,
      resources: [...props.resourceArns],
    });
    this.vaultName = vault.name;
    this.planId = plan.id;
    this.roleArn = role.arn;
  }
}
