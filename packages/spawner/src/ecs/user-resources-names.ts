/**
 * The names, tokens and documents of a user's ECS-mode resources (docs/ecs.md, sections 3 and 4), as pure functions:
 * what user-resources.ts creates and looks for, and what the infra's grants to the host role expect (access points
 * tagged `openhands-team:deployment=<deployment>`, sandbox and app roles under their paths with their boundaries, app
 * secrets under the user secret prefix).
 */
import { createHash } from "node:crypto";
import type { CreateAccessPointCommandInput } from "@aws-sdk/client-efs";
import { isUserSlug } from "../slug";

/** The tag the host role's CreateAccessPoint grant requires and its DeleteAccessPoint grant checks. */
export const DEPLOYMENT_TAG = "openhands-team:deployment";
export const USER_TAG = "openhands-team:user";
export const PURPOSE_TAG = "openhands-team:purpose";
/** The sandbox role's one inline policy. */
export const WORKSPACE_POLICY_NAME = "workspace-mount";
/** The app role's one inline policy. */
export const APP_POLICY_NAME = "app-access";
export const ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com";
/** IAM's limit on role names. */
export const MAX_ROLE_NAME_LENGTH = 64;

export type AccessPointPurpose = "app" | "workspace";

export interface UserResourceNaming {
  readonly deployment: string;
  readonly region: string;
  readonly fileSystemId: string;
  readonly sandboxRolePath: string;
  readonly appRolePath: string;
  readonly userSecretPrefix: string;
  /** The permissions boundary's ARN: its partition and account are the deployment's. */
  readonly sandboxRoleBoundaryArn: string;
  /** The events bucket's name (the app's OpenHands events, under `users/<slug>/`). */
  readonly eventsBucket: string;
  /** uid and gid of the sandbox user (the agent-server image's `openhands`, 10001). */
  readonly workspaceUid: number;
}

/** Path traversal and name injection: only a well-formed slug ever becomes part of a path, a name or a tag. */
export function checkSlug(slug: string): void {
  if (!isUserSlug(slug)) throw new Error(`not a user slug: ${JSON.stringify(String(slug).slice(0, 80))}`);
}

export function partitionAndAccount(arn: string): { partition: string; account: string } {
  const [, partition, , , account] = arn.split(":");
  if (!partition || !account || !/^\d{12}$/.test(account)) throw new Error(`not an ARN with an account: ${arn}`);
  return { partition, account };
}

export function fileSystemArn(naming: UserResourceNaming): string {
  const { partition, account } = partitionAndAccount(naming.sandboxRoleBoundaryArn);
  return `arn:${partition}:elasticfilesystem:${naming.region}:${account}:file-system/${naming.fileSystemId}`;
}

function roleName(naming: UserResourceNaming, slug: string, kind: "app" | "sandbox"): string {
  checkSlug(slug);
  const name = `oh-${kind === "app" ? "app" : "sbx"}-${naming.deployment}-${slug}`;
  if (name.length > MAX_ROLE_NAME_LENGTH)
    throw new Error(`${kind} role name ${name} is longer than IAM's ${MAX_ROLE_NAME_LENGTH} characters`);
  return name;
}

export const sandboxRoleName = (naming: UserResourceNaming, slug: string): string => roleName(naming, slug, "sandbox");
export const appRoleName = (naming: UserResourceNaming, slug: string): string => roleName(naming, slug, "app");

/** The user's app secret (AppSecretValues as JSON), which the app task definition names key by key. */
export function userSecretName(naming: UserResourceNaming, slug: string): string {
  checkSlug(slug);
  return `${naming.userSecretPrefix}${slug}/app`;
}

/** The secret earlier versions kept the database password alone in; removed with the user's other resources. */
export function legacyUserSecretName(naming: UserResourceNaming, slug: string): string {
  checkSlug(slug);
  return `${naming.userSecretPrefix}${slug}/database`;
}

/** The ClientToken of a user's access point: the same for every attempt, so a retried create makes no second one. */
export function accessPointToken(naming: UserResourceNaming, slug: string, purpose: AccessPointPurpose): string {
  checkSlug(slug);
  const digest = createHash("sha256").update(`${naming.deployment}\0${naming.fileSystemId}\0${slug}\0${purpose}`).digest("hex");
  return `oh-${purpose}-${digest.slice(0, 40)}`;
}

/**
 * The access points mirror docker mode's folders (user-directories.ts): the app's tree as root with mode 0700, the
 * workspace owned by the sandbox user with mode 0750. Neither root contains the other.
 */
export function accessPointRequest(naming: UserResourceNaming, slug: string, purpose: AccessPointPurpose): CreateAccessPointCommandInput {
  checkSlug(slug);
  const uid = purpose === "app" ? 0 : naming.workspaceUid;
  return {
    ClientToken: accessPointToken(naming, slug, purpose),
    FileSystemId: naming.fileSystemId,
    PosixUser: { Uid: uid, Gid: uid },
    RootDirectory: {
      Path: `/users/${slug}/${purpose === "app" ? "openhands" : "workspace"}`,
      CreationInfo: { OwnerUid: uid, OwnerGid: uid, Permissions: purpose === "app" ? "0700" : "0750" },
    },
    Tags: [
      { Key: "Name", Value: `oh-${purpose}-${slug}` },
      { Key: DEPLOYMENT_TAG, Value: naming.deployment },
      { Key: USER_TAG, Value: slug },
      { Key: PURPOSE_TAG, Value: purpose },
    ],
  };
}

/**
 * The version ID of a secret value written after the version `previousId` (none for the first): derived from both, so
 * DescribeSecret's VersionIdsToStages tells whether the current version holds the value without reading the secret (the
 * host role has no GetSecretValue: the current version's ID must be this token of the AWSPREVIOUS one), a repeated
 * PutSecretValue of the same value is a no-op, and a value that returns later gets a new version (IDs cannot be
 * reused). A one-way hash of HMAC outputs (256 bits each) reveals nothing of them.
 */
export function secretVersionToken(value: string, previousId = ""): string {
  const hex = createHash("sha256").update(`openhands-team user app secret\0${previousId}\0${value}`).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Confused deputy: only ECS tasks of this account (on its behalf) may assume a sandbox or app role. */
export function taskTrustPolicy(naming: UserResourceNaming): string {
  const { partition, account } = partitionAndAccount(naming.sandboxRoleBoundaryArn);
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: ECS_TASKS_SERVICE },
        Action: "sts:AssumeRole",
        Condition: {
          StringEquals: { "aws:SourceAccount": account },
          ArnLike: { "aws:SourceArn": `arn:${partition}:ecs:${naming.region}:${account}:*` },
        },
      },
    ],
  });
}

/** Cross-user mounts: the role may mount and write the file system only through this user's workspace access point. */
export function workspaceMountPolicy(naming: UserResourceNaming, workspaceAccessPointArn: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "WorkspaceMount",
        Effect: "Allow",
        Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
        Resource: fileSystemArn(naming),
        Condition: { StringEquals: { "elasticfilesystem:AccessPointArn": workspaceAccessPointArn } },
      },
    ],
  });
}

/**
 * Cross-user reads: the role reads and writes only this user's events (`users/<slug>/`, the app's OH_EVENT_PREFIX) and
 * mounts the file system only through this user's app access point.
 */
export function appAccessPolicy(naming: UserResourceNaming, slug: string, appAccessPointArn: string): string {
  checkSlug(slug);
  const { partition } = partitionAndAccount(naming.sandboxRoleBoundaryArn);
  const bucket = `arn:${partition}:s3:::${naming.eventsBucket}`;
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "OwnEvents",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        Resource: `${bucket}/users/${slug}/*`,
      },
      {
        Sid: "OwnEventsList",
        Effect: "Allow",
        Action: "s3:ListBucket",
        Resource: bucket,
        Condition: { StringLike: { "s3:prefix": [`users/${slug}/*`] } },
      },
      {
        Sid: "OwnAppFolder",
        Effect: "Allow",
        Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"],
        Resource: fileSystemArn(naming),
        Condition: { StringEquals: { "elasticfilesystem:AccessPointArn": appAccessPointArn } },
      },
    ],
  });
}
