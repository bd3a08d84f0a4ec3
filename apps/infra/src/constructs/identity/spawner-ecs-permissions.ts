import { APP_ROLE_PATH, SANDBOX_ROLE_PATH, TASK_FAMILY_PREFIXES } from "../../config/names";
import type { PolicyStatement } from "./host-role";
import { ECS_TASKS_SERVICE } from "./task-roles";

/**
 * ECS actions that take no resource ARN: the Service Authorization Reference lists no resource type for them, so "*" is
 * the only resource. The families the spawner may run are bound at RunTask instead (task definition ARNs).
 */
export const ECS_RESOURCELESS_ACTIONS = [
  "ecs:RegisterTaskDefinition",
  "ecs:DeregisterTaskDefinition",
  "ecs:DescribeTaskDefinition",
] as const;

/** Actions whose only resource is "*" but which a condition key binds to one cluster. */
export const ECS_CLUSTER_CONDITIONED_ACTIONS = ["ecs:ListTasks"] as const;

/** Tag the spawner puts on every access point it creates; it may delete only access points carrying it. */
export const ACCESS_POINT_DEPLOYMENT_TAG = "openhands-team:deployment";

export interface SpawnerEcsPermissionsProps {
  readonly partition: string;
  readonly account: string;
  readonly region: string;
  /** `<name>-<environment>`: the value of the access point tag. */
  readonly namePrefix: string;
  readonly clusterArn: string;
  readonly clusterName: string;
  readonly executionRoleArn: string;
  /** The permissions boundary the spawner must give every app role it creates under `/oh-app/`. */
  readonly appRoleBoundaryArn: string;
  /** The permissions boundary the spawner must give every sandbox role it creates under `/oh-sandbox/`. */
  readonly sandboxBoundaryArn: string;
  readonly fileSystemArn: string;
  /** Secrets Manager name prefix of the users' app secrets, ending in `/`. */
  readonly userSecretPrefix: string;
}

/**
 * ECS mode: what the spawner on the host adds to the host role. It runs users' tasks in one cluster from the `oh-app-*`
 * and `oh-sbx-*` families, creates per-user app and sandbox roles that can never exceed the app and sandbox boundaries,
 * passes only the task roles and only to ECS tasks, manages the users' EFS access points of this deployment, and
 * writes the users' app secrets that the execution role hands to their apps.
 */
/** `<name>RolesBounded` (create and edit only with `boundaryArn` pinned) and `<name>RolesLifecycle` (read, delete) on `roles`. */
function boundedRoles(name: "App" | "Sandbox", roles: string, boundaryArn: string): PolicyStatement[] {
  return [
    {
      Sid: `${name}RolesBounded`,
      Effect: "Allow",
      Action: ["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy"],
      Resource: roles,
      Condition: { StringEquals: { "iam:PermissionsBoundary": boundaryArn } },
    },
    { Sid: `${name}RolesLifecycle`, Effect: "Allow", Action: ["iam:DeleteRole", "iam:GetRole"], Resource: roles },
  ];
}

export function spawnerEcsStatements(p: SpawnerEcsPermissionsProps): PolicyStatement[] {
  const ecs = (resource: string) => `arn:${p.partition}:ecs:${p.region}:${p.account}:${resource}`;
  const onCluster = { ArnEquals: { "ecs:cluster": p.clusterArn } };
  const appRoles = `arn:${p.partition}:iam::${p.account}:role${APP_ROLE_PATH}*`;
  const sandboxRoles = `arn:${p.partition}:iam::${p.account}:role${SANDBOX_ROLE_PATH}*`;
  const accessPoints = `arn:${p.partition}:elasticfilesystem:${p.region}:${p.account}:access-point/*`;
  return [
    // Running foreign task definitions or tasks in other clusters: only the users' families, only in this cluster.
    {
      Sid: "EcsRunUserTasks",
      Effect: "Allow",
      Action: "ecs:RunTask",
      Resource: Object.values(TASK_FAMILY_PREFIXES).map((family) => ecs(`task-definition/${family}*:*`)),
      Condition: onCluster,
    },
    {
      Sid: "EcsManageUserTasks",
      Effect: "Allow",
      Action: ["ecs:StopTask", "ecs:DescribeTasks"],
      Resource: ecs(`task/${p.clusterName}/*`),
      Condition: onCluster,
    },
    {
      // RunTask with tags needs TagResource; only as part of RunTask, so no existing task is retagged.
      Sid: "EcsTagOnRun",
      Effect: "Allow",
      Action: "ecs:TagResource",
      Resource: ecs(`task/${p.clusterName}/*`),
      Condition: { StringEquals: { "ecs:CreateAction": "RunTask" } },
    },
    { Sid: "EcsListUserTasks", Effect: "Allow", Action: [...ECS_CLUSTER_CONDITIONED_ACTIONS], Resource: "*", Condition: onCluster },
    { Sid: "EcsTaskDefinitions", Effect: "Allow", Action: [...ECS_RESOURCELESS_ACTIONS], Resource: "*" },
    // Privilege escalation through a new role: any role the spawner creates or edits under /oh-app/ carries the app
    // boundary (events under users/, EFS through an access point), under /oh-sandbox/ the sandbox boundary (two EFS client
    // actions); it cannot remove a boundary (no PutRolePermissionsBoundary, no DeleteRolePermissionsBoundary).
    ...boundedRoles("App", appRoles, p.appRoleBoundaryArn),
    ...boundedRoles("Sandbox", sandboxRoles, p.sandboxBoundaryArn),
    // Role hijacking: only the task roles, and only to ECS tasks (not to EC2, Lambda or anything that runs the spawner's code).
    {
      Sid: "PassTaskRoles",
      Effect: "Allow",
      Action: "iam:PassRole",
      Resource: [p.executionRoleArn, appRoles, sandboxRoles],
      Condition: { StringEquals: { "iam:PassedToService": ECS_TASKS_SERVICE } },
    },
    // Cross-deployment tampering: access points are created tagged with this deployment and deleted only when so tagged.
    {
      Sid: "UserAccessPointsCreate",
      Effect: "Allow",
      Action: "elasticfilesystem:CreateAccessPoint",
      Resource: p.fileSystemArn,
      Condition: { StringEquals: { [`aws:RequestTag/${ACCESS_POINT_DEPLOYMENT_TAG}`]: p.namePrefix } },
    },
    {
      Sid: "UserAccessPointsTagOnCreate",
      Effect: "Allow",
      Action: "elasticfilesystem:TagResource",
      Resource: accessPoints,
      Condition: { StringEquals: { "elasticfilesystem:CreateAction": "CreateAccessPoint" } },
    },
    {
      Sid: "UserAccessPointsDelete",
      Effect: "Allow",
      Action: "elasticfilesystem:DeleteAccessPoint",
      Resource: accessPoints,
      Condition: { StringEquals: { [`aws:ResourceTag/${ACCESS_POINT_DEPLOYMENT_TAG}`]: p.namePrefix } },
    },
    { Sid: "UserAccessPointsDescribe", Effect: "Allow", Action: "elasticfilesystem:DescribeAccessPoints", Resource: p.fileSystemArn },
    {
      Sid: "UserDatabaseSecrets",
      Effect: "Allow",
      Action: [
        "secretsmanager:CreateSecret",
        "secretsmanager:PutSecretValue",
        "secretsmanager:DescribeSecret",
        "secretsmanager:DeleteSecret",
      ],
      Resource: `arn:${p.partition}:secretsmanager:${p.region}:${p.account}:secret:${p.userSecretPrefix}*`,
    },
  ];
}
