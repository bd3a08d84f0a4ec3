/**
 * The one way the spawner's ECS backends reach Amazon ECS: the AWS SDK's ECS client with the cluster and network
 * the infra made for users' tasks. In tests the endpoint is @openhands-team/ecs-standin on loopback.
 */
import {
  DeregisterTaskDefinitionCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  type LogConfiguration,
  ListTasksCommand,
  type ListTasksCommandInput,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
} from "@aws-sdk/client-ecs";
import type { Logger } from "../log";

export interface EcsPlacement {
  region: string;
  cluster: string;
  /** Private subnets the tasks get their network interface in (behind the NAT the infra made). */
  subnets: string[];
  /** Security group of users' apps (ingress 3000 from the host only). */
  appSecurityGroup: string;
  /** Security group of sandboxes (ingress 60000, 60001, 12000, 12001 from the host only; no route to the database). */
  sandboxSecurityGroup: string;
  /** Task execution role (pulls images, writes logs, reads the users' app secrets). */
  executionRoleArn: string;
  /** Another ECS endpoint than the region's (the stand-in in tests). */
  endpoint?: string;
}

export interface EcsClientOptions {
  /** Static credentials (tests); on the host the SDK's default chain finds the instance role. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** ThrottlingException and ServerException are retried by the SDK with backoff (four attempts); nothing else is. */
export function ecsClient(placement: EcsPlacement, options: EcsClientOptions = {}): ECSClient {
  return new ECSClient({
    region: placement.region,
    maxAttempts: 4,
    ...(placement.endpoint ? { endpoint: placement.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
}

/** Every task ARN ListTasks answers for `input`, page after page (100 a page, its maximum). */
export async function listAllTaskArns(
  client: ECSClient,
  input: Omit<ListTasksCommandInput, "nextToken" | "maxResults">,
): Promise<string[]> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(new ListTasksCommand({ ...input, maxResults: 100, ...(nextToken ? { nextToken } : {}) }));
    arns.push(...(page.taskArns ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return arns;
}

/** An ECS call that failed, named by operation and ECS's error type (ClientException, AccessDeniedException...). */
export class EcsCallError extends Error {
  override name = "EcsCallError";
  constructor(
    readonly operation: string,
    readonly type: string,
    message: string,
  ) {
    super(`ECS ${operation} failed: ${type}: ${message}`);
  }
}

async function call<T>(operation: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    const { name, message } = error as Error;
    throw new EcsCallError(operation, name || "Error", message ?? String(error));
  }
}

/**
 * Containers' output to CloudWatch Logs (the awslogs driver): streams `<prefix>/<container>/<task id>` in the infra's
 * task log group, written by the task execution role. Fargate requires the stream prefix.
 */
export function awsLogs(region: string, logGroup: string, streamPrefix: string): LogConfiguration {
  return {
    logDriver: "awslogs",
    options: { "awslogs-group": logGroup, "awslogs-region": region, "awslogs-stream-prefix": streamPrefix },
  };
}

/** Which revision of a family tasks should run, and whether this call registered it. */
export interface CurrentTaskDefinition {
  arn: string;
  registered: boolean;
}

/**
 * The latest ACTIVE revision of `input.family` when its container `container` carries `hash` in the Docker label
 * `label`, else a new revision. A revision replaced this way is deregistered, so that a family holds one ACTIVE
 * revision however often its content changes (tasks running on an INACTIVE revision keep running); a failed
 * deregistration is logged and left for the next change.
 * @throws EcsCallError when describing or registering fails
 */
export async function currentTaskDefinition(
  client: ECSClient,
  input: RegisterTaskDefinitionCommandInput,
  marker: { container: string; label: string; hash: string },
  log: Logger,
): Promise<CurrentTaskDefinition> {
  const family = input.family!;
  let latest: string | undefined;
  try {
    const { taskDefinition } = await client.send(new DescribeTaskDefinitionCommand({ taskDefinition: family }));
    if (taskDefinition?.status === "ACTIVE" && taskDefinition.taskDefinitionArn) {
      const container = taskDefinition.containerDefinitions?.find((c) => c.name === marker.container);
      if (container?.dockerLabels?.[marker.label] === marker.hash) return { arn: taskDefinition.taskDefinitionArn, registered: false };
      latest = taskDefinition.taskDefinitionArn;
    }
  } catch (error) {
    // A family with no ACTIVE revision (a user's first start): ECS answers ClientException "Unable to describe task definition."
    if ((error as Error).name !== "ClientException") {
      throw new EcsCallError("DescribeTaskDefinition", (error as Error).name || "Error", (error as Error).message);
    }
  }
  const registered = await call("RegisterTaskDefinition", () => client.send(new RegisterTaskDefinitionCommand(input)));
  const arn = registered.taskDefinition?.taskDefinitionArn;
  if (!arn) throw new EcsCallError("RegisterTaskDefinition", "Error", `no task definition ARN in the answer for ${family}`);
  log.info(latest ? "task definition changed; new revision" : "task definition registered", { family, arn });
  if (latest) {
    await client.send(new DeregisterTaskDefinitionCommand({ taskDefinition: latest })).then(
      () => log.info("task definition revision replaced and deregistered", { family, arn: latest }),
      (error: Error) => log.warn("deregistering a replaced task definition revision failed", { family, arn: latest, error: error.message }),
    );
  }
  return { arn, registered: true };
}
