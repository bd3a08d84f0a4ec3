/**
 * Test support: a raw ECS JSON 1.1 client (what an AWS SDK sends, minus the signature's value, which the stand-in
 * cannot check), a stand-in on the lab engine, and polling.
 */
import { docker, ensureImage, labEngine, STAND_IN } from "@openhands-team/docker-lab";
import { CONTENT_TYPE, EcsStandIn, type EcsStandInOptions, TARGET_PREFIX } from "../src";

export interface EcsAnswer {
  status: number;
  body: any;
}

export const SUBNET = { id: "subnet-0a1b2c3d4e5f60718", cidr: "10.251.1.0/24", availabilityZone: "eu-central-1b" };
export const SECURITY_GROUP = "sg-0123456789abcdef0";
export const CLUSTER = "openhands";

/** A signed-looking SigV4 header: ECS refuses calls without one. */
const AUTHORIZATION =
  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/eu-central-1/ecs/aws4_request, " +
  "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000";

export async function ecs(endpoint: string, operation: string, body: unknown, headers: Record<string, string> = {}): Promise<EcsAnswer> {
  const res = await fetch(`${endpoint}/`, {
    method: "POST",
    headers: {
      "content-type": CONTENT_TYPE,
      "x-amz-target": `${TARGET_PREFIX}${operation}`,
      "x-amz-date": "20261202T130000Z",
      authorization: AUTHORIZATION,
      ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** Waits until `read` returns a value (not undefined), or fails after `timeoutMs` with the last value seen. */
export async function eventually<T>(read: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function startStandIn(options: Partial<EcsStandInOptions> = {}): Promise<EcsStandIn> {
  const engine = labEngine();
  if (!engine) throw new Error("no lab engine");
  await ensureImage(STAND_IN.node);
  return EcsStandIn.start({
    socketPath: engine.socketPath,
    clusters: [CLUSTER],
    subnets: [SUBNET],
    securityGroups: [SECURITY_GROUP],
    pause: {
      image: STAND_IN.node,
      command: ["node", "-e", "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1 << 30)"],
    },
    ...options,
  });
}

/** A Fargate task definition of one HTTP server on port 3000 answering its GREETING variable. */
export function appDefinition(family: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    family,
    requiresCompatibilities: ["FARGATE"],
    networkMode: "awsvpc",
    cpu: "256",
    memory: "512",
    runtimePlatform: { cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX" },
    containerDefinitions: [
      {
        name: "app",
        image: STAND_IN.node,
        essential: true,
        stopTimeout: 2,
        command: [
          "node",
          "-e",
          "require('http').createServer((q, s) => s.end(process.env.GREETING)).listen(3000); process.on('SIGTERM', () => process.exit(0))",
        ],
        environment: [{ name: "GREETING", value: "hello" }],
        ...overrides,
      },
    ],
  };
}

export function awsvpc(subnets: string[] = [SUBNET.id], securityGroups: string[] = [SECURITY_GROUP]): Record<string, unknown> {
  return { awsvpcConfiguration: { subnets, securityGroups, assignPublicIp: "DISABLED" } };
}

/** DescribeTasks of one task until `accept` holds. */
export async function taskWhen(endpoint: string, taskArn: string, accept: (task: any) => boolean, what: string): Promise<any> {
  return eventually(async () => {
    const answer = await ecs(endpoint, "DescribeTasks", { cluster: CLUSTER, tasks: [taskArn] });
    const task = answer.body.tasks?.[0];
    return task && accept(task) ? task : undefined;
  }, what);
}

/** The lab engine's containers carrying a label (key or key=value). */
export function containersLabelled(label: string): string[] {
  return docker(["ps", "-a", "-q", "--filter", `label=${label}`])
    .stdout.split("\n")
    .filter(Boolean);
}
