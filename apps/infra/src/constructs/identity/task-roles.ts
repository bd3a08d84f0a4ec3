import { Construct } from "constructs";
import { Fn, TerraformLocal } from "cdktf";
import { DataAwsPartition } from "@cdktf/provider-aws/lib/data-aws-partition";
import { IamPolicy } from "@cdktf/provider-aws/lib/iam-policy";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import type { PolicyStatement } from "./host-role";

/** The only actions a per-user sandbox task role can ever be given: its permissions boundary allows these and nothing else. */
export const SANDBOX_BOUNDARY_ACTIONS = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"] as const;

/** The S3 object actions a per-user app task role can ever be given, on the events under {@link APP_EVENTS_PREFIX} only. */
export const APP_BOUNDARY_OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] as const;

/** The EFS client actions a per-user app task role can ever be given (root in its own tree, through an access point). */
export const APP_BOUNDARY_EFS_ACTIONS = [
  "elasticfilesystem:ClientMount",
  "elasticfilesystem:ClientWrite",
  "elasticfilesystem:ClientRootAccess",
] as const;

/** The events bucket's prefix of the users' events; each app role gets `users/<slug>/` below it. */
export const APP_EVENTS_PREFIX = "users/";

/** The service that runs tasks: the only one the spawner may pass task roles to. */
export const ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com";

export interface TaskRolesProps {
  readonly namePrefix: string;
  readonly region: string;
  readonly fileSystemArn: string;
  readonly eventsBucketArn: string;
  /** ARN of the task log group. */
  readonly logGroupArn: string;
  /** Secrets Manager name prefix of the users' app secrets, ending in `/`. */
  readonly userSecretPrefix: string;
}

const trustEcsTasks = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: ECS_TASKS_SERVICE }, Action: "sts:AssumeRole" }],
});

/**
 * ECS mode: the roles of users' tasks. The execution role (used by Fargate, not by the containers) pulls images, writes
 * to the task log group and reads the users' app secrets under their own prefix. Apps and sandboxes get per-user roles
 * made by the spawner, under `/oh-app/` and `/oh-sandbox/`, each bound by a permissions boundary made here. The app
 * boundary allows what the docker-mode app has through the host: the events under `users/` and EFS through an access
 * point (each role narrows that to its user's prefix and access point). The sandbox boundary allows the two EFS client
 * actions on this file system and nothing else (docs/ecs.md, section 4).
 */
export class TaskRoles extends Construct {
  readonly executionRoleArn: string;
  /** ARN of the permissions boundary every per-user app task role is created with. */
  readonly appRoleBoundaryArn: string;
  /** ARN of the permissions boundary every per-user sandbox task role is created with. */
  readonly sandboxBoundaryArn: string;

  constructor(scope: Construct, id: string, props: TaskRolesProps) {
    super(scope, id);
    const partition = new DataAwsPartition(this, "partition").partition;
    const execution = new IamRole(this, "execution-role", {
      name: `${props.namePrefix}-task-execution`,
      description: "Fargate for users' tasks: image pulls, task logs, the users' app secrets",
      assumeRolePolicy: trustEcsTasks,
    });
    // The account, from the role's own ARN: no data source that would call AWS at plan time.
    const account = new TerraformLocal(this, "account-id", Fn.element(Fn.split(":", execution.arn), 4)).asString;
    const executionStatements = [
      // GetAuthorizationToken names no repository; the pulls themselves are limited to the deployment's repositories.
      { Sid: "EcrToken", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
      {
        Sid: "EcrPull",
        Effect: "Allow",
        Action: ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
        Resource: `arn:${partition}:ecr:${props.region}:${account}:repository/${props.namePrefix}/*`,
      },
      {
        Sid: "TaskLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: [props.logGroupArn, `${props.logGroupArn}:*`],
      },
      // Secret sprawl: the users' app secrets only, never the host's keys under the same deployment prefix.
      {
        Sid: "UserDatabaseSecrets",
        Effect: "Allow",
        Action: "secretsmanager:GetSecretValue",
        Resource: `arn:${partition}:secretsmanager:${props.region}:${account}:secret:${props.userSecretPrefix}*`,
      },
    ] satisfies PolicyStatement[];
    new IamRolePolicy(this, "execution-policy", {
      role: execution.name,
      name: "task-execution",
      policy: JSON.stringify({ Version: "2012-10-17", Statement: executionStatements }),
    });

    // Credential abuse from an app: whatever the spawner writes into an app role, its credentials open at most the events
    // under users/ and an EFS mount of this file system through an access point (the app runs as root in its own tree,
    // as in docker mode; the access point the spawner gives it pins that tree).
    const appBoundary = new IamPolicy(this, "app-boundary", {
      name: `${props.namePrefix}-app-boundary`,
      description: "Permissions boundary of the per-user app task roles: events under users/ and EFS through an access point",
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "EventsReadWrite",
            Effect: "Allow",
            Action: [...APP_BOUNDARY_OBJECT_ACTIONS],
            Resource: `${props.eventsBucketArn}/${APP_EVENTS_PREFIX}*`,
          },
          {
            Sid: "EventsList",
            Effect: "Allow",
            Action: "s3:ListBucket",
            Resource: props.eventsBucketArn,
            Condition: { StringLike: { "s3:prefix": [`${APP_EVENTS_PREFIX}*`] } },
          },
          {
            Sid: "WorkspacesThroughAccessPoint",
            Effect: "Allow",
            Action: [...APP_BOUNDARY_EFS_ACTIONS],
            Resource: props.fileSystemArn,
            Condition: {
              Bool: { "elasticfilesystem:AccessedViaMountTarget": "true" },
              Null: { "elasticfilesystem:AccessPointArn": "false" },
            },
          },
        ] satisfies PolicyStatement[],
      }),
    });

    // Credential abuse from a sandbox: whatever the spawner writes into a sandbox role, its credentials open at most
    // an EFS mount of this file system (and the file system policy demands an access point).
    const sandboxBoundary = new IamPolicy(this, "sandbox-boundary", {
      name: `${props.namePrefix}-sandbox-boundary`,
      description: "Permissions boundary of the per-user sandbox task roles: EFS mount and write on the workspaces only",
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "WorkspaceMountOnly",
            Effect: "Allow",
            Action: [...SANDBOX_BOUNDARY_ACTIONS],
            Resource: props.fileSystemArn,
            Condition: { Bool: { "elasticfilesystem:AccessedViaMountTarget": "true" } },
          },
        ],
      }),
    });
    this.executionRoleArn = execution.arn;
    this.appRoleBoundaryArn = appBoundary.arn;
    this.sandboxBoundaryArn = sandboxBoundary.arn;
  }
}
