/**
 * The AWS SDK clients EcsUserResources uses (EFS, IAM, Secrets Manager), built from the `ecs` configuration, and the
 * error every failed call becomes: the service, the operation and the AWS error name, never the request (which can
 * hold a password). Throttling and service faults are retried by the SDK (standard mode, four attempts).
 */
import { EFSClient } from "@aws-sdk/client-efs";
import { IAMClient } from "@aws-sdk/client-iam";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { EcsConfig } from "../config";

export interface UserResourceClients {
  efs: EFSClient;
  iam: IAMClient;
  secrets: SecretsManagerClient;
}

/** Static credentials (tests); on the host the SDK's default chain finds the instance role. */
export function userResourceClients(
  ecs: EcsConfig,
  options: { credentials?: { accessKeyId: string; secretAccessKey: string } } = {},
): UserResourceClients {
  const endpoints = ecs.userResources?.endpoints ?? {};
  const common = { region: ecs.region, maxAttempts: 4, ...(options.credentials ? { credentials: options.credentials } : {}) };
  return {
    efs: new EFSClient({ ...common, ...(endpoints.efs ? { endpoint: endpoints.efs } : {}) }),
    // IAM is global: its endpoint is iam.amazonaws.com whatever the region (the SDK resolves it).
    iam: new IAMClient({ ...common, ...(endpoints.iam ? { endpoint: endpoints.iam } : {}) }),
    secrets: new SecretsManagerClient({ ...common, ...(endpoints.secretsManager ? { endpoint: endpoints.secretsManager } : {}) }),
  };
}

/** A call to EFS, IAM or Secrets Manager failed; `errorName` is AWS's (AccessDenied, ThrottlingException, ...). */
export class UserResourceError extends Error {
  override name = "UserResourceError";
  constructor(
    readonly operation: string,
    readonly errorName: string,
    message: string,
  ) {
    super(message);
  }
}

/** The AWS error name of an SDK error (its `name`), or undefined for anything else. */
export function awsErrorName(error: unknown): string | undefined {
  const candidate = error as { name?: unknown; $metadata?: unknown };
  return candidate && typeof candidate.name === "string" && candidate.$metadata !== undefined ? candidate.name : undefined;
}

/** Runs one SDK call; a failure becomes a UserResourceError naming the operation, the slug and the error name. */
export async function awsCall<T>(operation: string, slug: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof UserResourceError) throw error;
    const name = awsErrorName(error) ?? (error as Error)?.name ?? "Error";
    const message = String((error as Error)?.message ?? error).slice(0, 300);
    throw new UserResourceError(operation, name, `${operation} for user ${slug} failed: ${name}: ${message}`);
  }
}
