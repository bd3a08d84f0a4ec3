/**
 * The one way the spawner's ECS backends reach Amazon ECS: the AWS SDK's ECS client with the cluster and network
 * the infra made for users' tasks. In tests the endpoint is @openhands-team/ecs-standin on loopback.
 */
import { ECSClient, ListTasksCommand, type ListTasksCommandInput } from "@aws-sdk/client-ecs";

export interface EcsPlacement {
  region: string;
  cluster: string;
  /** Private subnets the tasks get their network interface in (behind the NAT the infra made). */
  subnets: string[];
  /** Security group of users' apps (ingress 3000 from the host only). */
  appSecurityGroup: string;
  /** Security group of sandboxes (ingress 60000, 60001, 12000, 12001 from the host only; no route to the database). */
  sandboxSecurityGroup: string;
  /** Task execution role (pulls images, writes logs, reads the users' database secrets). */
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
