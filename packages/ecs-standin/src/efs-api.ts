/**
 * The Amazon EFS API's access point operations (REST-JSON, `/2015-02-01/...`), written from the EFS API reference pages
 * API_CreateAccessPoint, API_DescribeAccessPoints, API_DeleteAccessPoint, API_TagResource, API_AccessPointDescription,
 * API_PosixUser, API_RootDirectory and API_CreationInfo, with their "Errors" sections. An access point created here is
 * the one a task's `efsVolumeConfiguration` mounts: it is written into the stand-in's access point store, in state
 * `creating` until `readyAfterMs` has passed (EFS creates access points asynchronously; a mount before `available`
 * fails), and leaves the store when deleted.
 *
 * Never kinder than EFS: a repeated ClientToken answers AccessPointAlreadyExists (409, with the AccessPointId), as the
 * reference words that error ("already exists, with the creation token you provided") with no exception for equal
 * parameters; a client that retries finds the access point through the ID the error carries.
 */
import { AwsServiceError, FaultQueue, type HttpAnswer, randomId } from "./aws-protocol";
import type { AccessPoint } from "./task-resources";

export const EFS_API_PREFIX = "/2015-02-01/";

const FILE_SYSTEM_ID = /^(arn:aws[-a-z]*:elasticfilesystem:[0-9a-z-:]+:file-system\/fs-[0-9a-f]{8,40}|fs-[0-9a-f]{8,40})$/;
const ACCESS_POINT_ID = /^(arn:aws[-a-z]*:elasticfilesystem:[0-9a-z-:]+:access-point\/fsap-[0-9a-f]{8,40}|fsap-[0-9a-f]{8,40})$/;
/** API_RootDirectory: 1-100 characters, at most four levels, no component starting with a dot. */
const ROOT_PATH = /^(\/|(\/(?!\.)+[^$#<>;`|&?{}^*/\n]+){1,4})$/;
const MAX_ID = 4294967295;

export type EfsOperation = "CreateAccessPoint" | "DescribeAccessPoints" | "DeleteAccessPoint" | "TagResource";

export interface EfsApiSetting {
  readonly region: string;
  readonly accountId: string;
  /** The stand-in's file systems (ID to host folder); none: every call naming a file system answers FileSystemNotFound. */
  readonly fileSystems: Readonly<Record<string, unknown>>;
  /** The stand-in's access point store, which tasks' mounts read; this API adds and removes entries. */
  readonly accessPoints: Record<string, AccessPoint>;
  /** How long a new access point stays `creating`. */
  readonly readyAfterMs: number;
  /** Access points per file system (EFS: 10,000 unless raised). */
  readonly limitPerFileSystem: number;
}

interface Tag {
  Key: string;
  Value: string;
}

interface AccessPointRecord {
  readonly id: string;
  readonly arn: string;
  readonly clientToken: string;
  readonly fileSystemId: string;
  readonly posixUser?: { Uid: number; Gid: number; SecondaryGids?: number[] };
  readonly rootDirectory: { Path: string; CreationInfo?: { OwnerUid: number; OwnerGid: number; Permissions: string } };
  tags: Tag[];
  readonly availableAt: number;
}

const badRequest = (message: string) => new AwsServiceError("BadRequest", message, 400);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function integerIn(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw badRequest(`${path}: ${JSON.stringify(value)} is not an integer from ${min} to ${max}.`);
  }
  return value;
}

function tagsOf(value: unknown): Tag[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw badRequest("Tags must be a list of {Key, Value}.");
  if (value.length > 50) throw badRequest("Tags: at most 50 tags.");
  return value.map((tag, index) => {
    if (!isObject(tag) || typeof tag.Key !== "string" || typeof tag.Value !== "string") {
      throw badRequest(`Tags[${index}] must be {Key, Value} with string members.`);
    }
    if (tag.Key.length < 1 || tag.Key.length > 128 || tag.Value.length > 256) {
      throw badRequest(`Tags[${index}]: Key must have 1-128 characters and Value at most 256.`);
    }
    // API_Tag: the aws: prefix is reserved for AWS's own tags.
    if (tag.Key.toLowerCase().startsWith("aws:")) throw badRequest(`Tags[${index}]: the aws: prefix is reserved.`);
    return { Key: tag.Key, Value: tag.Value };
  });
}

export class EfsApi {
  private readonly records = new Map<string, AccessPointRecord>();
  private readonly faults = new FaultQueue();

  constructor(private readonly setting: EfsApiSetting) {}

  /** The next call of `operation` answers this error instead of acting (ThrottlingException: 429, as EFS sends it). */
  failNext(operation: EfsOperation, code: string, message?: string): void {
    const status =
      code === "ThrottlingException" ? 429 : code === "InternalServerError" ? 500 : code === "AccessDeniedException" ? 403 : 400;
    this.faults.push(operation, { code, message: message ?? `${code} injected by the test`, status });
  }

  /** What the API answers for one access point (DescribeAccessPoints' shape), for tests' assertions. */
  accessPoint(id: string): Record<string, unknown> | undefined {
    const record = this.records.get(id);
    return record ? this.view(record) : undefined;
  }

  /** The operation a request names, or undefined when no EFS route matches. */
  static operationOf(method: string, path: string): EfsOperation | undefined {
    if (path === `${EFS_API_PREFIX}access-points`)
      return method === "POST" ? "CreateAccessPoint" : method === "GET" ? "DescribeAccessPoints" : undefined;
    if (path.startsWith(`${EFS_API_PREFIX}access-points/`) && method === "DELETE") return "DeleteAccessPoint";
    if (path.startsWith(`${EFS_API_PREFIX}resource-tags/`) && method === "POST") return "TagResource";
    return undefined;
  }

  handle(operation: EfsOperation, path: string, query: URLSearchParams, raw: Buffer): HttpAnswer {
    try {
      this.faults.take(operation);
      switch (operation) {
        case "CreateAccessPoint":
          return json(200, this.create(body(raw)));
        case "DescribeAccessPoints":
          return json(200, this.describe(query));
        case "DeleteAccessPoint":
          this.delete(decodeURIComponent(path.slice(`${EFS_API_PREFIX}access-points/`.length)));
          return { status: 204, contentType: "application/json", body: "" };
        case "TagResource":
          this.tag(decodeURIComponent(path.slice(`${EFS_API_PREFIX}resource-tags/`.length)), body(raw));
          return json(200, {});
      }
    } catch (error) {
      if (!(error instanceof AwsServiceError)) throw error;
      return efsError(error);
    }
  }

  private fileSystemId(value: unknown): string {
    if (typeof value !== "string" || !FILE_SYSTEM_ID.test(value)) {
      throw badRequest(`FileSystemId ${JSON.stringify(value)} is not a file system ID or ARN.`);
    }
    const id = value.slice(value.lastIndexOf("/") + 1);
    if (!(id in this.setting.fileSystems)) {
      throw new AwsServiceError("FileSystemNotFound", `File system '${id}' does not exist.`, 404);
    }
    return id;
  }

  private create(request: Record<string, unknown>): Record<string, unknown> {
    const token = request.ClientToken;
    if (typeof token !== "string" || token.length < 1 || token.length > 64) {
      throw badRequest("ClientToken is required: a string of 1 to 64 characters.");
    }
    const fileSystemId = this.fileSystemId(request.FileSystemId);
    const posixUser = this.posixUser(request.PosixUser);
    const rootDirectory = this.rootDirectory(request.RootDirectory);
    const tags = tagsOf(request.Tags);
    const existing = [...this.records.values()].find((record) => record.clientToken === token);
    if (existing) {
      throw new AwsServiceError(
        "AccessPointAlreadyExists",
        `Access point with the client token ${token} already exists: ${existing.id}.`,
        409,
        { AccessPointId: existing.id },
      );
    }
    if ([...this.records.values()].filter((record) => record.fileSystemId === fileSystemId).length >= this.setting.limitPerFileSystem) {
      throw new AwsServiceError("AccessPointLimitExceeded", `File system ${fileSystemId} has reached its access point limit.`, 403);
    }
    const id = `fsap-${randomId("0123456789abcdef", 17)}`;
    const record: AccessPointRecord = {
      id,
      arn: `arn:aws:elasticfilesystem:${this.setting.region}:${this.setting.accountId}:access-point/${id}`,
      clientToken: token,
      fileSystemId,
      ...(posixUser ? { posixUser } : {}),
      rootDirectory,
      tags,
      availableAt: Date.now() + this.setting.readyAfterMs,
    };
    this.records.set(id, record);
    const creation = rootDirectory.CreationInfo;
    const availableAt = record.availableAt;
    this.setting.accessPoints[id] = {
      fileSystemId,
      rootDirectory: rootDirectory.Path,
      ...(creation
        ? { creationInfo: { ownerUid: creation.OwnerUid, ownerGid: creation.OwnerGid, permissions: creation.Permissions } }
        : {}),
      ...(posixUser ? { posixUser: { uid: posixUser.Uid, gid: posixUser.Gid } } : {}),
      get lifeCycleState() {
        return Date.now() >= availableAt ? "available" : "creating";
      },
    };
    return this.view(record);
  }

  private posixUser(value: unknown): AccessPointRecord["posixUser"] {
    if (value === undefined) return undefined;
    if (!isObject(value)) throw badRequest("PosixUser must be {Uid, Gid, SecondaryGids}.");
    const secondary = value.SecondaryGids;
    if (secondary !== undefined && (!Array.isArray(secondary) || secondary.length > 16)) {
      throw badRequest("PosixUser.SecondaryGids must be a list of at most 16 IDs.");
    }
    return {
      Uid: integerIn(value.Uid, "PosixUser.Uid", 0, MAX_ID),
      Gid: integerIn(value.Gid, "PosixUser.Gid", 0, MAX_ID),
      ...(secondary ? { SecondaryGids: secondary.map((gid, i) => integerIn(gid, `PosixUser.SecondaryGids[${i}]`, 0, MAX_ID)) } : {}),
    };
  }

  private rootDirectory(value: unknown): AccessPointRecord["rootDirectory"] {
    if (value === undefined) return { Path: "/" };
    if (!isObject(value)) throw badRequest("RootDirectory must be {Path, CreationInfo}.");
    const path = value.Path ?? "/";
    if (typeof path !== "string" || path.length > 100 || !ROOT_PATH.test(path)) {
      throw badRequest(`RootDirectory.Path ${JSON.stringify(path)} is not a path of at most four levels and 100 characters.`);
    }
    const info = value.CreationInfo;
    if (info === undefined) return { Path: path };
    if (!isObject(info)) throw badRequest("RootDirectory.CreationInfo must be {OwnerUid, OwnerGid, Permissions}.");
    if (typeof info.Permissions !== "string" || !/^[0-7]{3,4}$/.test(info.Permissions)) {
      throw badRequest(`RootDirectory.CreationInfo.Permissions ${JSON.stringify(info.Permissions)} is not an octal mode such as 0755.`);
    }
    return {
      Path: path,
      CreationInfo: {
        OwnerUid: integerIn(info.OwnerUid, "RootDirectory.CreationInfo.OwnerUid", 0, MAX_ID),
        OwnerGid: integerIn(info.OwnerGid, "RootDirectory.CreationInfo.OwnerGid", 0, MAX_ID),
        Permissions: info.Permissions,
      },
    };
  }

  private describe(query: URLSearchParams): Record<string, unknown> {
    const accessPointId = query.get("AccessPointId");
    const fileSystemId = query.get("FileSystemId");
    if (accessPointId && fileSystemId) throw badRequest("Provide either an AccessPointId or a FileSystemId, not both.");
    if (!accessPointId && !fileSystemId) throw badRequest("Provide an AccessPointId or a FileSystemId.");
    if (accessPointId) {
      if (!ACCESS_POINT_ID.test(accessPointId))
        throw badRequest(`AccessPointId ${JSON.stringify(accessPointId)} is not an access point ID.`);
      return { AccessPoints: [this.view(this.record(accessPointId))] };
    }
    const id = this.fileSystemId(fileSystemId);
    const maxResults = query.has("MaxResults") ? Number(query.get("MaxResults")) : 100;
    if (!Number.isInteger(maxResults) || maxResults < 1) throw badRequest("MaxResults must be an integer of at least 1.");
    const all = [...this.records.values()].filter((record) => record.fileSystemId === id);
    const token = query.get("NextToken");
    let start = 0;
    if (token !== null) {
      start = Number(
        Buffer.from(token, "base64url")
          .toString("utf8")
          .replace(/^offset:/, ""),
      );
      if (!Number.isInteger(start) || start < 0 || start > all.length) throw badRequest("NextToken is not a token this API gave.");
    }
    const page = all.slice(start, start + maxResults);
    const next = start + maxResults < all.length ? Buffer.from(`offset:${start + maxResults}`).toString("base64url") : undefined;
    return { AccessPoints: page.map((record) => this.view(record)), ...(next ? { NextToken: next } : {}) };
  }

  private record(reference: string): AccessPointRecord {
    const id = reference.slice(reference.lastIndexOf("/") + 1);
    const record = this.records.get(id);
    if (!record) throw new AwsServiceError("AccessPointNotFound", `Access point '${id}' does not exist.`, 404);
    return record;
  }

  private delete(reference: string): void {
    if (!ACCESS_POINT_ID.test(reference)) throw badRequest(`AccessPointId ${JSON.stringify(reference)} is not an access point ID.`);
    const record = this.record(reference);
    this.records.delete(record.id);
    delete this.setting.accessPoints[record.id];
  }

  private tag(resource: string, request: Record<string, unknown>): void {
    const tags = tagsOf(request.Tags);
    if (tags.length === 0) throw badRequest("Tags is required: at least one tag.");
    if (!ACCESS_POINT_ID.test(resource)) {
      // File systems' tags are not kept by this stand-in; an unknown one is refused as EFS refuses it.
      this.fileSystemId(resource);
      return;
    }
    const record = this.record(resource);
    record.tags = [...record.tags.filter((tag) => !tags.some((added) => added.Key === tag.Key)), ...tags];
  }

  private view(record: AccessPointRecord): Record<string, unknown> {
    const name = record.tags.find((tag) => tag.Key === "Name")?.Value;
    return {
      ClientToken: record.clientToken,
      ...(name !== undefined ? { Name: name } : {}),
      Tags: record.tags,
      AccessPointId: record.id,
      AccessPointArn: record.arn,
      FileSystemId: record.fileSystemId,
      ...(record.posixUser ? { PosixUser: record.posixUser } : {}),
      RootDirectory: record.rootDirectory,
      OwnerId: this.setting.accountId,
      LifeCycleState: Date.now() >= record.availableAt ? "available" : "creating",
    };
  }
}

function body(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString("utf8"));
  } catch {
    throw badRequest("The request body is not JSON.");
  }
  if (!isObject(parsed)) throw badRequest("The request body must be a JSON object.");
  return parsed;
}

function json(status: number, value: unknown): HttpAnswer {
  return { status, contentType: "application/json", body: JSON.stringify(value) };
}

/** EFS's error answer: the name in `x-amzn-ErrorType` and the body's `ErrorCode`, the text in `Message`. */
export function efsError(error: AwsServiceError): HttpAnswer {
  return {
    status: error.status,
    contentType: "application/json",
    headers: { "x-amzn-errortype": error.code },
    body: JSON.stringify({ ErrorCode: error.code, Message: error.message, ...error.extra }),
  };
}
