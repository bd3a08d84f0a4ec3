/**
 * What a task needs from other AWS services before its containers start: `secrets` (Secrets Manager secrets and SSM
 * parameters, injected as environment variables) and EFS volumes (mounted at the containers' mount points). The
 * stand-in is given both stores by the test: secrets as values by ARN, EFS file systems as folders on the engine's
 * host and access points by ID. What ECS cannot resolve fails the task's start as ECS reports it, with a
 * ResourceInitializationError (Developer Guide, "Amazon ECS stopped task error messages").
 */
import { chmodSync, chownSync, existsSync, mkdirSync } from "node:fs";
import { join, normalize } from "node:path";
import { clientError } from "./errors";
import { isObject, type JsonObject, objectList, optionalBoolean, optionalObject, optionalString, requiredString } from "./fields";

export interface AccessPoint {
  readonly fileSystemId: string;
  /** The access point's root directory on the file system. @default "/" */
  readonly rootDirectory?: string;
  /** EFS creates a missing root directory only when the access point says how (owner and permissions). */
  readonly creationInfo?: { readonly ownerUid: number; readonly ownerGid: number; readonly permissions: string };
  /** The identity EFS applies to every request through the access point (recorded, not enforced on the bind mount). */
  readonly posixUser?: { readonly uid: number; readonly gid: number };
  /** Access points made through the EFS API are `creating` for a moment; only `available` ones mount. @default "available" */
  readonly lifeCycleState?: string;
}

export interface EfsStandIn {
  /** File system ID to the host folder standing for it (the engine must see the same folder). */
  readonly fileSystems: Readonly<Record<string, { readonly path: string; readonly requireIam?: boolean }>>;
  readonly accessPoints: Readonly<Record<string, AccessPoint>>;
}

/**
 * IAM as tasks meet it (given when the stand-in evaluates task roles): whether ECS may assume a task role, and what
 * the role's policies allow an IAM-authorised EFS mount (ClientMount to mount at all, ClientWrite to write).
 */
export interface TaskRoleAuthority {
  /** `placedAtMs`: when RunTask placed the task (a role IAM had not propagated by then cannot be assumed). */
  mayAssume(roleArn: string, taskArn: string, placedAtMs: number): boolean;
  efsAccess(roleArn: string, fileSystemId: string, accessPointId: string | undefined): { mount: boolean; write: boolean };
}

export interface ResourceStores {
  /** Secrets Manager secret ARNs and SSM parameter ARNs or names to their values. */
  readonly secrets: Readonly<Record<string, string>>;
  readonly efs?: EfsStandIn;
  readonly iam?: TaskRoleAuthority;
}

export interface Bind {
  readonly hostPath: string;
  readonly containerPath: string;
  readonly readOnly: boolean;
}

export class TaskStartFailure extends Error {
  override name = "TaskStartFailure";
}

interface EfsVolume {
  readonly fileSystemId: string;
  readonly rootDirectory?: string;
  readonly accessPointId?: string;
  readonly iam: boolean;
}

/** RegisterTaskDefinition's checks of volumes, mount points and secrets (the ones ECS makes at registration). */
export function checkDefinitionResources(body: JsonObject, containers: { name: string; raw: JsonObject }[]): void {
  const volumes = new Map<string, EfsVolume | undefined>();
  for (const [index, volume] of (objectList(body, "volumes") ?? []).entries()) {
    const name = requiredString(volume, "name", `volumes[${index}].name`);
    volumes.set(name, efsVolume(volume, `volumes[${index}]`));
  }
  for (const container of containers) {
    for (const [index, mount] of (objectList(container.raw, "mountPoints", `${container.name}.mountPoints`) ?? []).entries()) {
      const source = optionalString(mount, "sourceVolume", `${container.name}.mountPoints[${index}].sourceVolume`);
      if (!source || !volumes.has(source)) {
        throw clientError(
          `Container ${container.name}: mountPoints[${index}].sourceVolume ${JSON.stringify(source ?? "")} ` +
            "is not a volume of the task definition.",
        );
      }
      const path = optionalString(mount, "containerPath", `${container.name}.mountPoints[${index}].containerPath`);
      if (!path?.startsWith("/"))
        throw clientError(`Container ${container.name}: mountPoints[${index}].containerPath must be an absolute path.`);
    }
    const secrets = objectList(container.raw, "secrets", `${container.name}.secrets`) ?? [];
    for (const [index, secret] of secrets.entries()) {
      requiredString(secret, "name", `${container.name}.secrets[${index}].name`);
      requiredString(secret, "valueFrom", `${container.name}.secrets[${index}].valueFrom`);
    }
    if (secrets.length > 0 && !optionalString(body, "executionRoleArn")) {
      throw clientError("When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.");
    }
  }
}

function efsVolume(volume: JsonObject, path: string): EfsVolume | undefined {
  const config = optionalObject(volume, "efsVolumeConfiguration", `${path}.efsVolumeConfiguration`);
  if (!config) return undefined;
  const fileSystemId = requiredString(config, "fileSystemId", `${path}.efsVolumeConfiguration.fileSystemId`);
  const rootDirectory = optionalString(config, "rootDirectory", `${path}.efsVolumeConfiguration.rootDirectory`);
  const transit = optionalString(config, "transitEncryption", `${path}.efsVolumeConfiguration.transitEncryption`) ?? "DISABLED";
  const authorization = optionalObject(config, "authorizationConfig", `${path}.efsVolumeConfiguration.authorizationConfig`);
  const accessPointId = authorization
    ? optionalString(authorization, "accessPointId", `${path}...authorizationConfig.accessPointId`)
    : undefined;
  const iam = (authorization ? optionalString(authorization, "iam", `${path}...authorizationConfig.iam`) : undefined) === "ENABLED";
  // ECS API reference, EFSVolumeConfiguration and EFSAuthorizationConfig: an access point takes the root from the
  // access point, and both an access point and IAM authorisation need transit encryption.
  if (accessPointId && rootDirectory !== undefined && rootDirectory !== "/") {
    throw clientError(`${path}: rootDirectory must be omitted or "/" when an access point (${accessPointId}) is specified.`);
  }
  if ((accessPointId || iam) && transit !== "ENABLED") {
    throw clientError(`${path}: transitEncryption must be ENABLED when an access point or IAM authorization is used.`);
  }
  return { fileSystemId, rootDirectory, accessPointId, iam };
}

/** Environment variables from the container's `secrets`; throws TaskStartFailure for one the stores do not hold. */
export function resolveSecrets(raw: JsonObject, stores: ResourceStores): { name: string; value: string }[] {
  const resolved: { name: string; value: string }[] = [];
  for (const secret of objectList(raw, "secrets") ?? []) {
    const name = requiredString(secret, "name");
    const valueFrom = requiredString(secret, "valueFrom");
    resolved.push({ name, value: secretValue(valueFrom, stores) });
  }
  return resolved;
}

function secretValue(valueFrom: string, stores: ResourceStores): string {
  const parts = valueFrom.split(":");
  if (parts[0] === "arn" && parts[2] === "secretsmanager") {
    // arn:aws:secretsmanager:<region>:<account>:secret:<name>[:<json key>[:<version stage>[:<version id>]]]
    const secretArn = parts.slice(0, 7).join(":");
    const jsonKey = parts[7] || undefined;
    const value = stores.secrets[secretArn];
    if (value === undefined) {
      throw new TaskStartFailure(
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: " +
          `unable to retrieve secret from asm: failed to fetch secret ${secretArn} from secrets manager: ` +
          "ResourceNotFoundException: Secrets Manager can't find the specified secret.",
      );
    }
    if (jsonKey === undefined) return value;
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      parsed = undefined;
    }
    const field = isObject(parsed) ? parsed[jsonKey] : undefined;
    if (typeof field !== "string") {
      throw new TaskStartFailure(
        "ResourceInitializationError: unable to pull secrets or registry auth: " +
          `retrieved secret from Secrets Manager did not contain json key ${jsonKey}`,
      );
    }
    return field;
  }
  const value = stores.secrets[valueFrom];
  if (value === undefined) {
    throw new TaskStartFailure(
      "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: " +
        `unable to retrieve secrets from ssm: invalid parameters: ${valueFrom}`,
    );
  }
  return value;
}

/** Host folders for the container's EFS mount points; throws TaskStartFailure when a mount would fail on ECS. */
export function resolveMounts(raw: JsonObject, volumes: JsonObject[], taskRoleArn: string | undefined, stores: ResourceStores): Bind[] {
  const binds: Bind[] = [];
  for (const mount of objectList(raw, "mountPoints") ?? []) {
    const volume = volumes.find((item) => item.name === mount.sourceVolume);
    const efs = volume ? efsVolume(volume, `volumes[${String(volume.name)}]`) : undefined;
    if (!efs) continue;
    const { folder, write } = efsFolder(efs, taskRoleArn, stores);
    binds.push({
      hostPath: folder,
      containerPath: String(mount.containerPath),
      // Without elasticfilesystem:ClientWrite, EFS mounts the file system read-only.
      readOnly: (optionalBoolean(mount, "readOnly") ?? false) || !write,
    });
  }
  return binds;
}

function mountFailure(detail: string): TaskStartFailure {
  return new TaskStartFailure(`ResourceInitializationError: failed to invoke EFS utils commands to set up EFS volumes: ${detail}`);
}

/** What the task role may do on the volume: everything when the stand-in does not evaluate roles. */
function roleAccess(volume: EfsVolume, taskRoleArn: string | undefined, stores: ResourceStores): { write: boolean } {
  if (!stores.iam || !volume.iam || !taskRoleArn) return { write: true };
  const access = stores.iam.efsAccess(taskRoleArn, volume.fileSystemId, volume.accessPointId);
  // Cross-user mounts: a role allowed ClientMount only through its own user's access point cannot mount another's.
  if (!access.mount) {
    throw mountFailure(
      "mount.nfs4: access denied by server while mounting 127.0.0.1:/ " +
        `(the task role ${taskRoleArn} is not allowed elasticfilesystem:ClientMount` +
        `${volume.accessPointId ? ` through ${volume.accessPointId}` : ""})`,
    );
  }
  return { write: access.write };
}

function efsFolder(volume: EfsVolume, taskRoleArn: string | undefined, stores: ResourceStores): { folder: string; write: boolean } {
  const fileSystem = stores.efs?.fileSystems[volume.fileSystemId];
  if (!fileSystem) throw mountFailure(`Failed to resolve "${volume.fileSystemId}.efs" - check that your file system ID is correct`);
  // IAM authorisation signs the mount with the task role's credentials; without a task role there are none.
  if (volume.iam && !taskRoleArn) throw mountFailure("mount.nfs4: access denied by server: IAM authorization needs a task role");
  // A file system policy that requires IAM refuses anonymous mounts (the cross-user mount it exists to stop).
  if (fileSystem.requireIam && !volume.iam) throw mountFailure("mount.nfs4: access denied by server while mounting 127.0.0.1:/");
  let root = volume.rootDirectory ?? "/";
  if (volume.accessPointId) {
    const accessPoint = stores.efs?.accessPoints[volume.accessPointId];
    if (!accessPoint || accessPoint.fileSystemId !== volume.fileSystemId) {
      throw mountFailure(
        `mount.nfs4: access denied by server: access point ${volume.accessPointId} is not an access point of ${volume.fileSystemId}`,
      );
    }
    if (accessPoint.lifeCycleState !== undefined && accessPoint.lifeCycleState !== "available") {
      throw mountFailure(`mount.nfs4: access denied by server: access point ${volume.accessPointId} is ${accessPoint.lifeCycleState}`);
    }
    const { write } = roleAccess(volume, taskRoleArn, stores);
    root = accessPoint.rootDirectory ?? "/";
    const folder = join(fileSystem.path, normalize(`/${root}`));
    if (!existsSync(folder)) {
      const info = accessPoint.creationInfo;
      if (!info) throw mountFailure(`mount.nfs4: mounting failed, reason given by server: No such file or directory (${root})`);
      mkdirSync(folder, { recursive: true });
      chmodSync(folder, Number.parseInt(info.permissions, 8));
      chownSync(folder, info.ownerUid, info.ownerGid);
    }
    return { folder, write };
  }
  const { write } = roleAccess(volume, taskRoleArn, stores);
  const folder = join(fileSystem.path, normalize(`/${root}`));
  if (!existsSync(folder)) throw mountFailure(`mount.nfs4: mounting failed, reason given by server: No such file or directory (${root})`);
  return { folder, write };
}
