/**
 * Each user's AWS resources in ECS mode (docs/ecs.md, sections 3 and 4), made at the user's first start and found again
 * afterwards: the app's EFS access point (root `/users/<slug>/openhands`, uid 0), app secret (database password, JWT
 * secret and sandbox API key) and app task role (the user's events and app access point only), which the app task
 * definition names (AppTaskResources), and the workspace access point (root `/users/<slug>/workspace`, uid 10001) with
 * the sandbox task role allowed to mount only it (SandboxUserResources).
 *
 * Every step looks before it creates, and names, tokens and version IDs are derived from the user, so a crash between
 * two steps leaves what the next call completes, and concurrent calls for one user share one creation. The calls are
 * the ones the host role is granted (apps/infra spawner-ecs-permissions.ts): DescribeAccessPoints by file system only,
 * CreateAccessPoint tagged with the deployment, no GetSecretValue (the secret's version ID says whether it holds the
 * value), roles under the sandbox and app paths with their boundaries and without tags (no iam:TagRole), one inline
 * policy each, put by name (no GetRolePolicy or ListRolePolicies).
 */
import {
  type AccessPointDescription,
  CreateAccessPointCommand,
  DeleteAccessPointCommand,
  DescribeAccessPointsCommand,
  type EFSClient,
} from "@aws-sdk/client-efs";
import {
  CreateRoleCommand,
  DeleteRoleCommand,
  DeleteRolePolicyCommand,
  GetRoleCommand,
  type IAMClient,
  PutRolePolicyCommand,
  type Role,
} from "@aws-sdk/client-iam";
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  type DescribeSecretCommandOutput,
  DescribeSecretCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { ConfigError, type EcsConfig, type SpawnerConfig } from "../config";
import type { UserDatabase } from "../database";
import type { Logger } from "../log";
import { type AppTaskResources, appSecretString, appSecretValues } from "./app-task-definition";
import type { SandboxUserResources } from "./sandbox-backend";
import { awsCall, UserResourceError } from "./user-resources-clients";
import {
  type AccessPointPurpose,
  accessPointRequest,
  checkSlug,
  DEPLOYMENT_TAG,
  appAccessPolicy,
  appRoleName,
  APP_POLICY_NAME,
  sandboxRoleName,
  taskTrustPolicy,
  secretVersionToken,
  type UserResourceNaming,
  legacyUserSecretName,
  userSecretName,
  WORKSPACE_POLICY_NAME,
  workspaceMountPolicy,
} from "./user-resources-names";

export interface EcsUserResourcesOptions {
  readonly config: SpawnerConfig;
  readonly ecs: EcsConfig;
  readonly efs: EFSClient;
  readonly iam: IAMClient;
  readonly secrets: SecretsManagerClient;
  readonly log: Logger;
  /** The user's database settings; `password` goes into the app secret (database.ts derives it from the slug). */
  readonly database: (slug: string) => UserDatabase;
  /** Interval of DescribeAccessPoints while a new access point is `creating`. @default 1000 */
  readonly pollIntervalMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The SDKs name modelled errors by their shape (IAM's `NoSuchEntity` is `NoSuchEntityException`), others by their code. */
const bare = (name: string) => name.replace(/Exception$/, "");
const isAwsError = (error: unknown, name: string) => error instanceof UserResourceError && bare(error.errorName) === bare(name);

type TaskRoleKind = "app" | "sandbox";
/** The two per-user task roles: their names, inline policy names and descriptions. */
const TASK_ROLES: Record<
  TaskRoleKind,
  {
    name: (naming: UserResourceNaming, slug: string) => string;
    policyName: string;
    description: (slug: string, deployment: string) => string;
  }
> = {
  sandbox: {
    name: sandboxRoleName,
    policyName: WORKSPACE_POLICY_NAME,
    description: (slug, deployment) => `OpenHands sandboxes of user ${slug} (${deployment}): EFS mount of their workspace only`,
  },
  app: {
    name: appRoleName,
    policyName: APP_POLICY_NAME,
    description: (slug, deployment) => `OpenHands app of user ${slug} (${deployment}): their events and app folder only`,
  },
};

export class EcsUserResources {
  private readonly naming: UserResourceNaming;
  private readonly roles: Record<TaskRoleKind, { path: string; boundaryArn: string }>;
  private readonly waitMs: number;
  private readonly settleMs: number;
  private readonly apps = new Map<string, Promise<AppTaskResources>>();
  private readonly sandboxes = new Map<string, Promise<SandboxUserResources>>();

  constructor(private readonly options: EcsUserResourcesOptions) {
    const settings = options.ecs.userResources;
    if (!settings) {
      throw new ConfigError(
        "config.ecs.userResources: missing is required to serve users in ECS mode " +
          "(deployment, sandboxRoleBoundaryArn and userSecretPrefix from the infra's ecs output)",
      );
    }
    this.roles = {
      sandbox: { path: settings.sandboxRolePath, boundaryArn: settings.sandboxRoleBoundaryArn },
      app: { path: settings.appRolePath, boundaryArn: settings.appRoleBoundaryArn },
    };
    this.waitMs = settings.accessPointWaitMs;
    this.settleMs = settings.roleSettleMs;
    this.naming = {
      deployment: settings.deployment,
      region: options.ecs.region,
      fileSystemId: options.ecs.efsFileSystemId,
      sandboxRolePath: settings.sandboxRolePath,
      appRolePath: settings.appRolePath,
      userSecretPrefix: settings.userSecretPrefix,
      sandboxRoleBoundaryArn: settings.sandboxRoleBoundaryArn,
      eventsBucket: options.config.eventsBucket,
      workspaceUid: options.config.workspaceUid,
    };
  }

  /** The app's access point, app secret and the app task role that may use only them: made on the first call. */
  app(slug: string): Promise<AppTaskResources> {
    return this.once(this.apps, slug, async () => {
      const [accessPoint, secretArn] = await Promise.all([this.accessPoint(slug, "app"), this.appSecret(slug)]);
      const roleArn = await this.taskRole(slug, "app", appAccessPolicy(this.naming, slug, accessPoint.AccessPointArn!));
      return { appAccessPointId: accessPoint.AccessPointId!, appSecretArn: secretArn, appTaskRoleArn: roleArn };
    });
  }

  /** The workspace access point and the sandbox task role that may mount only it. */
  sandbox(slug: string): Promise<SandboxUserResources> {
    return this.once(this.sandboxes, slug, async () => {
      const accessPoint = await this.accessPoint(slug, "workspace");
      const roleArn = await this.taskRole(slug, "sandbox", workspaceMountPolicy(this.naming, accessPoint.AccessPointArn!));
      return { workspaceAccessPointId: accessPoint.AccessPointId!, fileSystemId: this.naming.fileSystemId, sandboxTaskRoleArn: roleArn };
    });
  }

  /**
   * Removes what a user has outside ECS: the sandbox and app roles (inline policies first), both access points (their files
   * stay on the file system) and the app secret, with the database secret of earlier versions (at once, without a
   * recovery window: their values derive from the slug). Whatever is already gone is skipped. Creations in flight for
   * the user finish first.
   */
  async remove(slug: string): Promise<void> {
    checkSlug(slug);
    await Promise.allSettled([this.apps.get(slug), this.sandboxes.get(slug)]);
    this.apps.delete(slug);
    this.sandboxes.delete(slug);
    const { efs, iam, secrets } = this.options;
    const roleNames: string[] = [];
    for (const kind of ["sandbox", "app"] as const) {
      const RoleName = TASK_ROLES[kind].name(this.naming, slug);
      roleNames.push(RoleName);
      await this.unlessGone("NoSuchEntity", () =>
        awsCall("DeleteRolePolicy", slug, () =>
          iam.send(new DeleteRolePolicyCommand({ RoleName, PolicyName: TASK_ROLES[kind].policyName })),
        ),
      );
      await this.unlessGone("NoSuchEntity", () => awsCall("DeleteRole", slug, () => iam.send(new DeleteRoleCommand({ RoleName }))));
    }
    for (const purpose of ["workspace", "app"] as const) {
      const found = await this.findAccessPoint(slug, accessPointRequest(this.naming, slug, purpose).ClientToken!);
      if (!found) continue;
      await this.unlessGone("AccessPointNotFound", () =>
        awsCall("DeleteAccessPoint", slug, () => efs.send(new DeleteAccessPointCommand({ AccessPointId: found.AccessPointId }))),
      );
    }
    const secretName = userSecretName(this.naming, slug);
    for (const name of [secretName, legacyUserSecretName(this.naming, slug)]) {
      await this.unlessGone("ResourceNotFoundException", () =>
        awsCall("DeleteSecret", slug, () => secrets.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }))),
      );
    }
    this.options.log.info("user resources removed", { slug, roles: roleNames, secret: secretName });
  }

  /** One creation per user at a time; a failure is forgotten, so the next call tries again. */
  private once<T>(cache: Map<string, Promise<T>>, slug: string, make: () => Promise<T>): Promise<T> {
    // Bad slugs are refused before any call (and before anything is cached under them).
    try {
      checkSlug(slug);
    } catch (error) {
      return Promise.reject(error);
    }
    const cached = cache.get(slug);
    if (cached) return cached;
    const made = make();
    cache.set(slug, made);
    made.catch(() => {
      if (cache.get(slug) === made) cache.delete(slug);
    });
    return made;
  }

  private async unlessGone(errorName: string, call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (error) {
      if (!isAwsError(error, errorName)) throw error;
    }
  }

  // --- EFS access points ---------------------------------------------------------------------------------------

  /** The user's access point of one purpose, `available`. */
  private async accessPoint(slug: string, purpose: AccessPointPurpose): Promise<AccessPointDescription> {
    const request = accessPointRequest(this.naming, slug, purpose);
    let found = await this.findAccessPoint(slug, request.ClientToken!);
    if (!found) {
      try {
        found = await awsCall("CreateAccessPoint", slug, () => this.options.efs.send(new CreateAccessPointCommand(request)));
        this.options.log.info("access point created", { slug, purpose, accessPointId: found.AccessPointId });
      } catch (error) {
        // Created by an earlier attempt whose answer was lost: EFS names it, and the listing has it.
        if (!isAwsError(error, "AccessPointAlreadyExists")) throw error;
        found = await this.findAccessPoint(slug, request.ClientToken!);
        if (!found) {
          throw new UserResourceError(
            "CreateAccessPoint",
            "AccessPointAlreadyExists",
            `CreateAccessPoint for user ${slug} failed: AccessPointAlreadyExists, but DescribeAccessPoints of ` +
              `${this.naming.fileSystemId} lists no access point with ClientToken ${request.ClientToken}`,
          );
        }
      }
    }
    this.checkAccessPoint(slug, found, request);
    const deadline = Date.now() + this.waitMs;
    while (found.LifeCycleState !== "available") {
      if (found.LifeCycleState !== "creating" && found.LifeCycleState !== "updating") {
        throw new Error(`access point ${found.AccessPointId} of user ${slug} is ${found.LifeCycleState}, not available`);
      }
      if (Date.now() > deadline) {
        throw new Error(`access point ${found.AccessPointId} of user ${slug} still ${found.LifeCycleState} after ${this.waitMs} ms`);
      }
      await sleep(this.options.pollIntervalMs ?? 1_000);
      const again = await this.findAccessPoint(slug, request.ClientToken!);
      if (!again) throw new Error(`access point ${found.AccessPointId} of user ${slug} disappeared while being created`);
      found = again;
    }
    return found;
  }

  /** DescribeAccessPoints of the file system (the only form the host role may use), every page, by ClientToken. */
  private async findAccessPoint(slug: string, token: string): Promise<AccessPointDescription | undefined> {
    let nextToken: string | undefined;
    do {
      const page = await awsCall("DescribeAccessPoints", slug, () =>
        this.options.efs.send(
          new DescribeAccessPointsCommand({ FileSystemId: this.naming.fileSystemId, MaxResults: 100, NextToken: nextToken }),
        ),
      );
      const found = page.AccessPoints?.find((accessPoint) => accessPoint.ClientToken === token);
      if (found) return found;
      nextToken = page.NextToken;
    } while (nextToken);
    return undefined;
  }

  /** An access point under our token that roots elsewhere or runs as another user is not ours to hand out. */
  private checkAccessPoint(slug: string, found: AccessPointDescription, request: ReturnType<typeof accessPointRequest>): void {
    const expected = request.RootDirectory!;
    const problems = [
      found.RootDirectory?.Path !== expected.Path && `root ${found.RootDirectory?.Path} (expected ${expected.Path})`,
      (found.PosixUser?.Uid !== request.PosixUser!.Uid || found.PosixUser?.Gid !== request.PosixUser!.Gid) &&
        `POSIX user ${found.PosixUser?.Uid}:${found.PosixUser?.Gid} (expected ${request.PosixUser!.Uid}:${request.PosixUser!.Gid})`,
      !found.Tags?.some((tag) => tag.Key === DEPLOYMENT_TAG && tag.Value === this.naming.deployment) &&
        `no tag ${DEPLOYMENT_TAG}=${this.naming.deployment}`,
    ].filter(Boolean);
    if (problems.length > 0) {
      throw new Error(
        `access point ${found.AccessPointId} of user ${slug} does not match: ${problems.join("; ")}; delete it to have it made again`,
      );
    }
  }

  // --- Secrets Manager -----------------------------------------------------------------------------------------

  /** The ARN of the user's app secret, holding the values `appSecretValues` derives for the user. */
  private async appSecret(slug: string): Promise<string> {
    const { secrets, log, config, ecs } = this.options;
    const name = userSecretName(this.naming, slug);
    const value = appSecretString(appSecretValues(config, ecs, slug, this.options.database(slug)));
    let described = await this.describeSecret(slug, name);
    if (!described) {
      try {
        const created = await awsCall("CreateSecret", slug, () =>
          secrets.send(
            new CreateSecretCommand({
              Name: name,
              ClientRequestToken: secretVersionToken(value),
              SecretString: value,
              Description: `Database password, JWT secret and sandbox API key of OpenHands user ${slug} (${this.naming.deployment})`,
            }),
          ),
        );
        log.info("app secret created", { slug, secret: name });
        return created.ARN!;
      } catch (error) {
        if (!isAwsError(error, "ResourceExistsException")) throw error;
        described = await this.describeSecret(slug, name);
        if (!described) throw error;
      }
    }
    if (described.DeletedDate) {
      throw new Error(
        `secret ${name} of user ${slug} is scheduled for deletion: ` +
          "restore it (RestoreSecret) or delete it without recovery, then start again",
      );
    }
    const stages = Object.entries(described.VersionIdsToStages ?? {});
    const current = stages.find(([, labels]) => labels.includes("AWSCURRENT"))?.[0];
    const previous = stages.find(([, labels]) => labels.includes("AWSPREVIOUS"))?.[0];
    if (current !== undefined && current === secretVersionToken(value, previous)) return described.ARN!;
    const version = secretVersionToken(value, current);
    const put = await awsCall("PutSecretValue", slug, () =>
      secrets.send(new PutSecretValueCommand({ SecretId: described.ARN, ClientRequestToken: version, SecretString: value })),
    );
    if (!put.VersionStages?.includes("AWSCURRENT")) {
      throw new Error(`secret ${name} of user ${slug}: PutSecretValue left version ${version} without AWSCURRENT`);
    }
    log.info("app secret updated", { slug, secret: name });
    return described.ARN!;
  }

  private async describeSecret(slug: string, name: string): Promise<DescribeSecretCommandOutput | undefined> {
    try {
      return await awsCall("DescribeSecret", slug, () => this.options.secrets.send(new DescribeSecretCommand({ SecretId: name })));
    } catch (error) {
      if (isAwsError(error, "ResourceNotFoundException")) return undefined;
      throw error;
    }
  }

  // --- IAM -----------------------------------------------------------------------------------------------------

  /**
   * The user's task role of one kind, with its boundary, trusted by ECS tasks, with `policy` as its one inline policy
   * (the sandbox's: mount the workspace only; the app's: the user's events and app folder only).
   */
  private async taskRole(slug: string, kind: TaskRoleKind, policy: string): Promise<string> {
    const { iam, log } = this.options;
    const { path, boundaryArn } = this.roles[kind];
    const name = TASK_ROLES[kind].name(this.naming, slug);
    let role = await this.getRole(slug, name);
    if (!role) {
      try {
        const created = await awsCall("CreateRole", slug, () =>
          iam.send(
            new CreateRoleCommand({
              RoleName: name,
              Path: path,
              AssumeRolePolicyDocument: taskTrustPolicy(this.naming),
              PermissionsBoundary: boundaryArn,
              Description: TASK_ROLES[kind].description(slug, this.naming.deployment),
            }),
          ),
        );
        role = created.Role;
        log.info(`${kind} role created`, { slug, role: name });
      } catch (error) {
        if (!isAwsError(error, "EntityAlreadyExists")) throw error;
        role = await this.getRole(slug, name);
        if (!role) throw error;
      }
    }
    // Privilege escalation through a same-named role: only a role at our path with our boundary is handed to tasks.
    if (role?.Path !== path || role.PermissionsBoundary?.PermissionsBoundaryArn !== boundaryArn) {
      throw new Error(
        `role ${name} exists with path ${role?.Path} and boundary ${role?.PermissionsBoundary?.PermissionsBoundaryArn ?? "none"}, ` +
          `not ${path} and ${boundaryArn}: it is not ${kind === "app" ? "an app" : "a sandbox"} role of this deployment`,
      );
    }
    // Put whenever the role is first resolved in this process: the host role cannot read the policy back, and putting
    // the same document again changes nothing.
    await awsCall("PutRolePolicy", slug, () =>
      iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: TASK_ROLES[kind].policyName, PolicyDocument: policy })),
    );
    // IAM propagation: ECS cannot assume a role it does not see yet; wait until the role is roleSettleMs old.
    // CreateDate has whole seconds: the role may be up to a second younger than it says.
    const created = role.CreateDate instanceof Date ? role.CreateDate.getTime() + 1000 : Date.now();
    const wait = created + this.settleMs - Date.now();
    if (wait > 0) {
      log.info(`${kind} role is new: waiting for IAM to propagate it`, { slug, role: name, ms: Math.min(wait, this.settleMs) });
      await new Promise((resolve) => setTimeout(resolve, Math.min(wait, this.settleMs)));
    }
    return role.Arn!;
  }

  private async getRole(slug: string, name: string): Promise<Role | undefined> {
    try {
      return (await awsCall("GetRole", slug, () => this.options.iam.send(new GetRoleCommand({ RoleName: name })))).Role;
    } catch (error) {
      if (isAwsError(error, "NoSuchEntity")) return undefined;
      throw error;
    }
  }
}
