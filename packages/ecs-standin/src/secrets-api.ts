/**
 * The Secrets Manager API's secret operations (JSON 1.1: `POST /` with `X-Amz-Target: secretsmanager.<Op>`), written
 * from the Secrets Manager API reference pages API_CreateSecret, API_DescribeSecret, API_GetSecretValue,
 * API_PutSecretValue, API_DeleteSecret and their "Errors" sections. A secret's AWSCURRENT value is what a task
 * definition's `secrets` entry naming its ARN resolves to: it is written into the stand-in's secret store, and leaves
 * it when the secret is deleted or scheduled for deletion (ECS then fails the task's start as it does for a missing
 * secret).
 *
 * Versions follow the reference: a ClientRequestToken is the version ID; repeating it with the same value changes
 * nothing, with another value is ResourceExistsException; a new version takes AWSCURRENT and the one before becomes
 * AWSPREVIOUS.
 */
import { randomUUID } from "node:crypto";
import { AwsServiceError, FaultQueue, type HttpAnswer, randomId } from "./aws-protocol";

export const SECRETS_TARGET_PREFIX = "secretsmanager.";
const NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

export type SecretsOperation = "CreateSecret" | "DescribeSecret" | "GetSecretValue" | "PutSecretValue" | "DeleteSecret";
const OPERATIONS: readonly string[] = ["CreateSecret", "DescribeSecret", "GetSecretValue", "PutSecretValue", "DeleteSecret"];

export interface SecretsApiSetting {
  readonly region: string;
  readonly accountId: string;
  /** The stand-in's secret store (ARN to value), which tasks' `secrets` read; this API writes AWSCURRENT values there. */
  readonly store: Record<string, string>;
}

interface Version {
  readonly id: string;
  readonly value: string;
  stages: string[];
  readonly created: number;
}

interface Secret {
  readonly name: string;
  readonly arn: string;
  readonly description?: string;
  readonly tags: { Key: string; Value: string }[];
  readonly created: number;
  changed: number;
  deletedAt?: number;
  readonly versions: Version[];
}

const invalidParameter = (message: string) => new AwsServiceError("InvalidParameterException", message, 400);
const notFound = () => new AwsServiceError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.", 400);
const seconds = (ms: number) => Math.round(ms) / 1000;

export class SecretsManagerApi {
  private readonly secrets = new Map<string, Secret>();
  private readonly faults = new FaultQueue();

  constructor(private readonly setting: SecretsApiSetting) {}

  static isOperation(operation: string): operation is SecretsOperation {
    return OPERATIONS.includes(operation);
  }

  /** The next call of `operation` answers this error (ThrottlingException 400, InternalServiceError 500). */
  failNext(operation: SecretsOperation, code: string, message?: string): void {
    const status = code === "InternalServiceError" ? 500 : 400;
    this.faults.push(operation, { code, message: message ?? `${code} injected by the test`, status });
  }

  /** A secret's AWSCURRENT value and versions as the store holds them, for tests' assertions. */
  secret(name: string): { arn: string; current?: string; versions: { id: string; stages: string[] }[]; deleted: boolean } | undefined {
    const secret = this.secrets.get(name);
    if (!secret) return undefined;
    return {
      arn: secret.arn,
      current: this.current(secret)?.value,
      versions: secret.versions.map((version) => ({ id: version.id, stages: [...version.stages] })),
      deleted: secret.deletedAt !== undefined,
    };
  }

  handle(operation: string, raw: Buffer): HttpAnswer {
    try {
      if (!SecretsManagerApi.isOperation(operation)) {
        throw new AwsServiceError(
          "UnknownOperationException",
          `${SECRETS_TARGET_PREFIX}${operation} is not an operation of this stand-in.`,
          400,
        );
      }
      let body: unknown;
      try {
        body = raw.length === 0 ? {} : JSON.parse(raw.toString("utf8"));
      } catch {
        throw new AwsServiceError("SerializationException", "The request body is not JSON.", 400);
      }
      if (typeof body !== "object" || body === null || Array.isArray(body)) {
        throw new AwsServiceError("SerializationException", "The request body must be a JSON object.", 400);
      }
      this.faults.take(operation);
      return {
        status: 200,
        contentType: "application/x-amz-json-1.1",
        body: JSON.stringify(this.operate(operation, body as Record<string, unknown>)),
      };
    } catch (error) {
      if (!(error instanceof AwsServiceError)) throw error;
      return {
        status: error.status,
        contentType: "application/x-amz-json-1.1",
        body: JSON.stringify({ __type: error.code, Message: error.message }),
      };
    }
  }

  private operate(operation: SecretsOperation, body: Record<string, unknown>): Record<string, unknown> {
    switch (operation) {
      case "CreateSecret":
        return this.create(body);
      case "DescribeSecret":
        return this.describe(this.lookup(body.SecretId));
      case "GetSecretValue":
        return this.getValue(body);
      case "PutSecretValue":
        return this.putValue(body);
      case "DeleteSecret":
        return this.delete(body);
    }
  }

  /** SecretId: the name, the full ARN, or the ARN without its six-character suffix. */
  private lookup(reference: unknown): Secret {
    if (typeof reference !== "string" || reference.length < 1 || reference.length > 2048) {
      throw invalidParameter("SecretId is required: a secret name or ARN.");
    }
    const byName = this.secrets.get(reference);
    if (byName) return byName;
    for (const secret of this.secrets.values()) {
      if (secret.arn === reference || secret.arn.slice(0, -7) === reference) return secret;
    }
    throw notFound();
  }

  private token(value: unknown): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== "string" || value.length < 32 || value.length > 64) {
      throw invalidParameter("ClientRequestToken must have 32 to 64 characters.");
    }
    return value;
  }

  private secretString(body: Record<string, unknown>): string {
    if (body.SecretBinary !== undefined) throw invalidParameter("This stand-in keeps SecretString values only.");
    const value = body.SecretString;
    if (typeof value !== "string" || value.length > 65536) throw invalidParameter("SecretString is required: at most 65536 characters.");
    return value;
  }

  private create(body: Record<string, unknown>): Record<string, unknown> {
    const name = body.Name;
    if (typeof name !== "string" || !NAME.test(name)) {
      throw invalidParameter(`Name ${JSON.stringify(name)} is not a secret name (1-512 of A-Z a-z 0-9 /_+=.@-).`);
    }
    const token = this.token(body.ClientRequestToken) ?? randomUUID();
    const value = this.secretString(body);
    const existing = this.secrets.get(name);
    if (existing?.deletedAt !== undefined) {
      throw new AwsServiceError(
        "InvalidRequestException",
        "You can't create this secret because a secret with this name is already scheduled for deletion.",
        400,
      );
    }
    if (existing)
      throw new AwsServiceError("ResourceExistsException", `The operation failed because the secret ${name} already exists.`, 400);
    const tags = Array.isArray(body.Tags) ? (body.Tags as { Key: string; Value: string }[]) : [];
    const now = Date.now();
    const secret: Secret = {
      name,
      // API_CreateSecret: the ARN ends in a hyphen and six random characters.
      arn: `arn:aws:secretsmanager:${this.setting.region}:${this.setting.accountId}:secret:${name}-${randomId(SUFFIX_ALPHABET, 6)}`,
      ...(typeof body.Description === "string" ? { description: body.Description } : {}),
      tags,
      created: now,
      changed: now,
      versions: [{ id: token, value, stages: ["AWSCURRENT"], created: now }],
    };
    this.secrets.set(name, secret);
    this.publish(secret);
    return { ARN: secret.arn, Name: name, VersionId: token, ReplicationStatus: [] };
  }

  private describe(secret: Secret): Record<string, unknown> {
    return {
      ARN: secret.arn,
      Name: secret.name,
      ...(secret.description !== undefined ? { Description: secret.description } : {}),
      CreatedDate: seconds(secret.created),
      LastChangedDate: seconds(secret.changed),
      ...(secret.deletedAt !== undefined ? { DeletedDate: seconds(secret.deletedAt) } : {}),
      ...(secret.tags.length ? { Tags: secret.tags } : {}),
      VersionIdsToStages: Object.fromEntries(secret.versions.filter((v) => v.stages.length).map((v) => [v.id, v.stages])),
    };
  }

  private current(secret: Secret): Version | undefined {
    return secret.versions.find((version) => version.stages.includes("AWSCURRENT"));
  }

  private refuseDeleted(secret: Secret): void {
    if (secret.deletedAt !== undefined) {
      throw new AwsServiceError(
        "InvalidRequestException",
        "You can't perform this operation on the secret because it was marked for deletion.",
        400,
      );
    }
  }

  private getValue(body: Record<string, unknown>): Record<string, unknown> {
    const secret = this.lookup(body.SecretId);
    this.refuseDeleted(secret);
    const stage = typeof body.VersionStage === "string" ? body.VersionStage : undefined;
    const id = typeof body.VersionId === "string" ? body.VersionId : undefined;
    const version = secret.versions.find((item) => (id ? item.id === id : item.stages.includes(stage ?? "AWSCURRENT")));
    if (!version || (id && stage && !version.stages.includes(stage))) {
      throw new AwsServiceError(
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret value for staging label or version.",
        400,
      );
    }
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.id,
      SecretString: version.value,
      VersionStages: version.stages,
      CreatedDate: seconds(version.created),
    };
  }

  private putValue(body: Record<string, unknown>): Record<string, unknown> {
    const secret = this.lookup(body.SecretId);
    this.refuseDeleted(secret);
    const token = this.token(body.ClientRequestToken) ?? randomUUID();
    const value = this.secretString(body);
    const same = secret.versions.find((version) => version.id === token);
    if (same) {
      // A version cannot change: the same token and value is a no-op, another value a conflict.
      if (same.value !== value) {
        throw new AwsServiceError(
          "ResourceExistsException",
          `A version with the ClientRequestToken ${token} already exists with another value.`,
          400,
        );
      }
      return { ARN: secret.arn, Name: secret.name, VersionId: same.id, VersionStages: same.stages };
    }
    const now = Date.now();
    for (const version of secret.versions) {
      version.stages = version.stages.filter((stage) => stage !== "AWSPREVIOUS");
      if (version.stages.includes("AWSCURRENT"))
        version.stages = [...version.stages.filter((stage) => stage !== "AWSCURRENT"), "AWSPREVIOUS"];
    }
    const version: Version = { id: token, value, stages: ["AWSCURRENT"], created: now };
    secret.versions.push(version);
    secret.changed = now;
    this.publish(secret);
    return { ARN: secret.arn, Name: secret.name, VersionId: token, VersionStages: version.stages };
  }

  private delete(body: Record<string, unknown>): Record<string, unknown> {
    const secret = this.lookup(body.SecretId);
    const force = body.ForceDeleteWithoutRecovery === true;
    const window = body.RecoveryWindowInDays;
    if (force && window !== undefined) {
      throw invalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
    }
    const days = window === undefined ? 30 : window;
    if (typeof days !== "number" || !Number.isInteger(days) || days < 7 || days > 30) {
      throw invalidParameter("RecoveryWindowInDays must be from 7 to 30.");
    }
    const now = Date.now();
    delete this.setting.store[secret.arn];
    if (force) {
      this.secrets.delete(secret.name);
      return { ARN: secret.arn, Name: secret.name, DeletionDate: seconds(now) };
    }
    secret.deletedAt = now;
    return { ARN: secret.arn, Name: secret.name, DeletionDate: seconds(now + days * 86_400_000) };
  }

  private publish(secret: Secret): void {
    const current = this.current(secret);
    if (current) this.setting.store[secret.arn] = current.value;
  }
}
