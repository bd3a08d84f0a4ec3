/**
 * The spawner service in ECS mode (src/service.ts `startEcsSpawnerService`, src/ecs/service-backends.ts): users' apps and
 * sandboxes as tasks, the one webhook relay on the host's private address, /healthz from ECS, the cull and a restart.
 *
 * Amazon ECS cannot run here (no AWS account is reachable from the test machines): the ECS API is
 * @openhands-team/ecs-standin, the contract stand-in written from the ECS API reference, whose tasks are real containers
 * on the lab's Docker engine (docker-lab). Its subnet is a Docker network whose gateway stands for the host's private
 * address: the relay and the remote sandbox API listen there and the tasks call them there, as in a VPC. Secrets
 * Manager and EFS are stand-in content too (the users' database passwords, access points as folders of a temporary
 * root), given by the test resolvers that replace `EcsUserResources`. The images are the lab's OpenHands app and
 * agent-server stand-ins. Sandbox-shaped callers are `node -e` requests run inside the tasks' own containers, so
 * the relay sees the tasks' own addresses.
 */
import { execFile } from "node:child_process";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeTasksCommand, type ECSClient, ListTasksCommand, type Task } from "@aws-sdk/client-ecs";
import { describeWithEngine, ensureImage, labEngine, STAND_IN } from "@openhands-team/docker-lab";
import { EcsStandIn } from "@openhands-team/ecs-standin";
import { userJwtSecret } from "../src/app-environment";
import { parseConfig, type SpawnerConfig } from "../src/config";
import { ecsClient } from "../src/ecs/client";
import { SandboxCallerIndex } from "../src/ecs/relay-callers";
import { SharedWebhookRelay } from "../src/ecs/relay-shared-listener";
import { sandboxApiKey } from "../src/ecs/sandbox-api-key";
import type { EcsUserResourceResolvers } from "../src/ecs/service-backends";
import { createLogger } from "../src/log";
import { type EcsSpawnerService, startEcsSpawnerService } from "../src/service";
import { base62Id, eventually, RemoteSandboxCalls } from "./ecs-sandbox-support";
import { fakeDatabases, http, user } from "./helpers/harness";
import { minimalConfigAppSecret, minimalConfigDocument } from "./helpers/minimal-config";

jest.setTimeout(60_000);

const CLUSTER = "openhands";
const SUBNET = { id: "subnet-0d1e2f3a4b5c6d7e8", cidr: "10.252.9.0/24", availabilityZone: "eu-central-1a" };
/** The subnet network's gateway: the host's private address as the tasks reach it. */
const HOST = "10.252.9.1";
const APP_SG = "sg-0a1b2c3d4e5f60001";
const SANDBOX_SG = "sg-0a1b2c3d4e5f60002";
const FILE_SYSTEM = "fs-0a1b2c3d4e5f60003";
const RELAY_PORT = 20_000;
const SANDBOX_SECRET = `sandbox-api-secret-${randomBytes(16).toString("hex")}`;
const RUNTIME_DOMAIN = "runtime.example.com";

const alice = user(901).slug;
const bob = user(902).slug;
const carol = user(903).slug;
const users = [alice, bob, carol];
const secretArn = (slug: string) => `arn:aws:secretsmanager:eu-central-1:123456789012:secret:oh/users/${slug}-AbCdEf`;
const appAccessPoint = (slug: string) => `fsap-a${createHash("sha256").update(slug).digest("hex").slice(0, 16)}`;
const workspaceAccessPoint = (slug: string) => `fsap-b${createHash("sha256").update(slug).digest("hex").slice(0, 16)}`;
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The resolvers EcsUserResources will provide, over the stand-in's access points and secrets. */
const resources: EcsUserResourceResolvers = {
  app: async (slug) => ({
    appAccessPointId: appAccessPoint(slug),
    appSecretArn: secretArn(slug),
    appTaskRoleArn: `arn:aws:iam::123456789012:role/oh-app/oh-app-test-${slug}`,
  }),
  sandbox: async (slug) => ({
    workspaceAccessPointId: workspaceAccessPoint(slug),
    fileSystemId: FILE_SYSTEM,
    sandboxTaskRoleArn: `arn:aws:iam::123456789012:role/oh-sandbox/oh-sbx-${slug}`,
  }),
};

/** An X-Access-Token as the user's app signs it (HS256 with its JWT_SECRET), for GET /api/v1/webhooks/secrets. */
function accessToken(config: SpawnerConfig, slug: string): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const head = `${part({ alg: "HS256", typ: "JWT" })}.${part({ provider_type: "github" })}`;
  return `${head}.${createHmac("sha256", userJwtSecret(config.secrets.openhandsJwtSecret, slug)).update(head).digest("base64url")}`;
}

/**
 * An HTTP request to the relay made inside a container (the task's network namespace, so from the task's address).
 * Asynchronous: the relay answering it runs in this process.
 */
function callFrom(
  container: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; body: string }> {
  const script =
    `fetch(${JSON.stringify(`http://${HOST}:${RELAY_PORT}${path}`)}, ${JSON.stringify({ method: options.method ?? "GET", ...options })})` +
    ".then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.text() })))" +
    ".catch((e) => console.log(JSON.stringify({ status: 0, body: String(e) })))";
  return new Promise((resolve, reject) => {
    execFile(
      "docker",
      ["exec", container, "node", "-e", script],
      { env: { ...process.env, DOCKER_HOST: `unix://${labEngine()!.socketPath}` }, timeout: 20_000 },
      (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout.trim().split("\n").pop()!))),
    );
  });
}

describeWithEngine("spawner service in ECS mode against the ECS stand-in (real containers as tasks)", () => {
  let standIn: EcsStandIn;
  let efsRoot: string;
  let config: SpawnerConfig;
  let client: ECSClient;
  let service: EcsSpawnerService;
  const databases = fakeDatabases();
  const figures: Record<string, number> = {};
  /** Each user's first sandbox: its session id, task container, session key and route port. */
  const sandbox: Record<string, { id: string; container: string; key: string; routePort: number; ip: string }> = {};
  const upstreams: Record<string, string> = {};

  const start = () =>
    startEcsSpawnerService(config, {
      log: createLogger({ level: "error", write: () => undefined }),
      databases,
      resources,
      client,
      sandboxTuning: { taskSize: { cpu: "512", memory: "1024" }, stopTimeoutSeconds: 2, refreshIntervalMs: 500, freshnessMs: 200 },
    });
  const describe = async (arns: string[]): Promise<Task[]> =>
    arns.length ? ((await client.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: arns }))).tasks ?? []) : [];
  const running = async (startedBy: string): Promise<Task[]> =>
    describe((await client.send(new ListTasksCommand({ cluster: CLUSTER, startedBy }))).taskArns ?? []);
  const ensure = async (slug: string, n: number): Promise<string> =>
    eventually(async () => {
      const answer = await http({ url: `${service.apiUrl}/v1/users/${slug}/ensure`, method: "POST", body: user(n) });
      if (answer.status === 502 || answer.status === 503) throw new Error(`ensure of ${slug}: ${answer.body}`);
      return answer.status === 200 ? (answer.json().upstream as string) : undefined;
    }, `the app of ${slug} running`);

  beforeAll(async () => {
    const app = await ensureImage(STAND_IN.app["1.7.0"]);
    const agentServer = await ensureImage(STAND_IN.agentServer["1.34.0-python"]);
    await ensureImage(STAND_IN.node);
    efsRoot = mkdtempSync(join(tmpdir(), "ecs-service-efs-"));
    standIn = await EcsStandIn.start({
      socketPath: labEngine()!.socketPath,
      clusters: [CLUSTER],
      subnets: [SUBNET],
      securityGroups: [APP_SG, SANDBOX_SG],
      pause: {
        image: STAND_IN.node,
        command: ["node", "-e", "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1 << 30)"],
      },
      secrets: Object.fromEntries(
        users.map((slug) => [secretArn(slug), minimalConfigAppSecret(slug, databases.describe(slug).password, SANDBOX_SECRET)]),
      ),
      efs: {
        fileSystems: { [FILE_SYSTEM]: { path: efsRoot, requireIam: true } },
        accessPoints: Object.fromEntries(
          users.flatMap((slug) => [
            [
              appAccessPoint(slug),
              {
                fileSystemId: FILE_SYSTEM,
                rootDirectory: `/users/${slug}/openhands`,
                creationInfo: { ownerUid: 0, ownerGid: 0, permissions: "700" },
              },
            ],
            [
              workspaceAccessPoint(slug),
              {
                fileSystemId: FILE_SYSTEM,
                rootDirectory: `/users/${slug}/workspace`,
                creationInfo: { ownerUid: 10001, ownerGid: 10001, permissions: "750" },
              },
            ],
          ]),
        ),
      },
    });
    config = parseConfig({
      ...minimalConfigDocument(),
      runtimeDomain: RUNTIME_DOMAIN,
      images: { app, agentServer },
      api: { host: "127.0.0.1", port: 0 },
      paths: { efsRoot, dockerApiDir: join(efsRoot, "unused-docker-api") },
      network: { relayPort: RELAY_PORT },
      timing: { healthTimeoutMs: 30_000, healthIntervalMs: 100, cullIntervalMs: 3_600_000 },
      backend: "ecs",
      ecs: {
        endpoint: standIn.endpoint,
        cluster: CLUSTER,
        subnets: [SUBNET.id],
        appSecurityGroup: APP_SG,
        sandboxSecurityGroup: SANDBOX_SG,
        executionRoleArn: "arn:aws:iam::123456789012:role/oh-task-execution",
        appCpu: 256,
        appMemoryMiB: 512,
        efsFileSystemId: FILE_SYSTEM,
        hostPrivateAddress: HOST,
        sandboxApiKeySecret: SANDBOX_SECRET,
        sandboxDomain: RUNTIME_DOMAIN,
        taskStartTimeoutMs: 30_000,
        taskPollIntervalMs: 100,
        // Only start-up and the calls below read ECS: the /healthz fault is not taken by a refresh.
        viewRefreshIntervalMs: 600_000,
      },
    });
    client = ecsClient(config.ecs!, { credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "stand-in-does-not-check" } });
    service = await start();
  });

  afterAll(async () => {
    await service?.close();
    await standIn?.close();
    if (efsRoot) rmSync(efsRoot, { recursive: true, force: true });
    process.stdout.write(`ecs-service figures: ${JSON.stringify(figures)}\n`);
  });

  test("GIVEN two users WHEN the proxy ensures their apps THEN each runs as a task and ensure answers the task's address", async () => {
    const began = Date.now();
    const [a, b] = await Promise.all([ensure(alice, 901), ensure(bob, 902)]);
    figures.twoAppsEnsuredMs = Date.now() - began;
    for (const [slug, upstream] of [
      [alice, a],
      [bob, b],
    ] as const) {
      const [task] = await running(slug);
      const ip = task?.attachments?.[0]?.details?.find((d) => d.name === "privateIPv4Address")?.value;
      expect(task).toMatchObject({ group: "apps", lastStatus: "RUNNING" });
      expect(upstream).toBe(`http://${ip}:3000`);
      expect(service.spawner.runningUpstream(slug)).toBe(upstream);
      expect(service.relay.isOpen(slug)).toBe(true);
      upstreams[slug] = upstream;
    }
    expect(databases.calls.sort()).toEqual([alice, bob].sort());
  });

  test("WHEN each user's app starts a sandbox through the remote sandbox API THEN the service resolves its route", async () => {
    for (const slug of [alice, bob]) {
      const calls = new RemoteSandboxCalls(service.sandboxes.url!, sandboxApiKey(SANDBOX_SECRET, slug), "https://openhands.example.com");
      const id = base62Id();
      const started = await calls.start(config.images.agentServer, id);
      expect(started.status).toBe(200);
      const runtime = await eventually(async () => {
        const answer = await calls.getRuntime(id);
        return answer.body.status === "running" ? answer.body : undefined;
      }, `the sandbox of ${slug} running`);
      const routePort = Number(/^http:\/\/(\d+)-/.exec(runtime.url)![1]);
      const [task] = await running(`sbx/${slug}`);
      const ip = task!.attachments![0]!.details!.find((d) => d.name === "privateIPv4Address")!.value!;
      sandbox[slug] = { id, container: task!.containers![0]!.runtimeId!, key: runtime.session_api_key, routePort, ip };
      const resolved = await http({ url: `${service.apiUrl}/v1/routes/resolve?host=${routePort}-${slug}.${RUNTIME_DOMAIN}` });
      expect(resolved.status).toBe(200);
      expect(resolved.json()).toEqual({
        owner: slug,
        upstream: `http://${ip}:60000`,
        kind: "agent-server",
        sessionKeySha256: sha256(runtime.session_api_key),
      });
    }
  });

  test("GIVEN a running sandbox WHEN it calls back on the host's relay THEN its own user's app answers (and only that app)", async () => {
    const a = sandbox[alice]!;
    const b = sandbox[bob]!;
    const forwarded = service.relay.forwarded;
    // Alice's app verifies a token signed with Alice's JWT secret: it answers "no such provider", not "unauthorized".
    const own = await callFrom(a.container, "/api/v1/webhooks/secrets", { headers: { "X-Access-Token": accessToken(config, alice) } });
    expect(own).toEqual({ status: 404, body: JSON.stringify({ detail: "No such provider" }) });
    // Her own session key passes the relay: the app's MCP server answers her agent's call.
    const mcp = await callFrom(a.container, "/mcp/mcp", {
      method: "POST",
      headers: { "X-Session-API-Key": a.key, "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
    });
    expect(mcp.status).toBe(200);
    expect(mcp.body).toMatch(/^event: message\r\ndata: \{"jsonrpc":"2.0","id":1,/);
    // Bob's sandbox reaches Bob's app: his token opens it, Alice's does not (her app is never reached from his sandbox).
    expect(
      (await callFrom(b.container, "/api/v1/webhooks/secrets", { headers: { "X-Access-Token": accessToken(config, bob) } })).status,
    ).toBe(404);
    expect(await callFrom(b.container, "/api/v1/webhooks/secrets", { headers: { "X-Access-Token": accessToken(config, alice) } })).toEqual({
      status: 401,
      body: JSON.stringify({ detail: "Unauthorized" }),
    });
    expect(service.relay.forwarded).toBe(forwarded + 4);
  });

  test("ATTACK: user B's sandbox calls back for user A with A's sandbox session key THEN the relay refuses it (403)", async () => {
    const refused = service.relay.refused;
    const answer = await callFrom(sandbox[bob]!.container, "/api/v1/webhooks/conversations", {
      method: "POST",
      headers: { "X-Session-API-Key": sandbox[alice]!.key, "content-type": "application/json" },
      body: "{}",
    });
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body).message).toBe("not the calling sandbox's session key");
    expect(service.relay.refused).toBe(refused + 1);
  });

  test("ATTACK: a caller whose address is no running sandbox (A's own app task) THEN the relay refuses it (403)", async () => {
    const [appTask] = await running(alice);
    const answer = await callFrom(appTask!.containers![0]!.runtimeId!, "/api/v1/webhooks/secrets", {
      headers: { "X-Access-Token": accessToken(config, alice) },
    });
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body).message).toBe("the caller is no running sandbox");
  });

  test("ATTACK: forged paths from a running sandbox (the app's sandbox list, dot segments, encoded slashes) THEN 403", async () => {
    const a = sandbox[alice]!.container;
    for (const path of ["/api/v1/sandboxes/search", "/api/v1/webhooks/../sandboxes/search", "/api/v1/webhooks/%2e%2e%2fsandboxes"]) {
      const answer = await callFrom(a, path, { headers: { "X-Session-API-Key": sandbox[alice]!.key } });
      expect({ path, status: answer.status }).toEqual({ path, status: 403 });
    }
  });

  test("GIVEN ECS mode WHEN /healthz is asked THEN it checks ECS (ListTasks), the relay and the sandbox API, not Docker", async () => {
    const healthy = await http({ url: `${service.apiUrl}/healthz` });
    expect(healthy.status).toBe(200);
    expect(healthy.json()).toEqual({
      status: "ok",
      checks: { ecs: { ok: true }, relay: { ok: true }, sandboxApi: { ok: true } },
    });
    // Results are reused for a second; then ECS refuses the next ListTasks.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    standIn.failNext("ListTasks", "AccessDeniedException", "User is not authorized to perform: ecs:ListTasks");
    const degraded = await http({ url: `${service.apiUrl}/healthz` });
    expect(degraded.status).toBe(503);
    expect(degraded.json().checks.ecs).toEqual({ ok: false, error: expect.stringContaining("not authorized") });
    const stats = (await http({ url: `${service.apiUrl}/v1/stats` })).json();
    expect(stats.memoryBudgetMiB).toBeUndefined();
  });

  test("WHEN a user is culled THEN their app task and sandbox tasks stop and the relay no longer serves them", async () => {
    const began = Date.now();
    await service.spawner.cull(alice, "idle for the test");
    figures.cullMs = Date.now() - began;
    expect(await running(alice)).toEqual([]);
    await eventually(async () => ((await running(`sbx/${alice}`)).length === 0 ? true : undefined), "alice's sandbox task stopped");
    expect(service.relay.isOpen(alice)).toBe(false);
    expect(service.spawner.runningUpstream(alice)).toBeUndefined();
    expect(await running(bob)).toHaveLength(1);
  });

  test("GIVEN running tasks WHEN a new service instance starts THEN it rebuilds the user's app, route and relay from ECS", async () => {
    const [before] = await running(bob);
    await service.close();
    const began = Date.now();
    service = await start();
    figures.restartToReadyMs = Date.now() - began;
    const upstream = await eventually(async () => service.spawner.runningUpstream(bob), "bob's app reconciled");
    figures.restartToReconciledMs = Date.now() - began;
    expect(upstream).toBe(upstreams[bob]);
    const [after] = await running(bob);
    expect(after?.taskArn).toBe(before?.taskArn);
    const b = sandbox[bob]!;
    expect(service.spawner.resolveHost(`${b.routePort}-${bob}.${RUNTIME_DOMAIN}`)).toMatchObject({
      owner: bob,
      upstream: `http://${b.ip}:60000`,
    });
    const answer = await callFrom(b.container, "/api/v1/webhooks/secrets", { headers: { "X-Access-Token": accessToken(config, bob) } });
    expect(answer.status).toBe(404);
  });
});

describe("ECS relay checks that need no engine (loopback stands for the host's address)", () => {
  const quiet = createLogger({ level: "error", write: () => undefined });
  const route = (ip: string, key: string) => ({
    owner: "",
    upstream: `http://${ip}:60000`,
    kind: "agent-server" as const,
    sessionKeySha256: sha256(key),
  });

  test("ATTACK: an address two users' sandboxes claim at once (a stale view after reuse) identifies no one", () => {
    const index = new SandboxCallerIndex(
      {
        owners: () => [alice, bob, carol],
        resolve: (owner, port) =>
          port !== 40_000 ? undefined : owner === carol ? route("10.9.9.7", "c") : route("10.9.9.5", owner === alice ? "a" : "b"),
      },
      { routePortBase: 40_000, slotsPerUser: 3 },
    );
    expect(index.callerAt("10.9.9.5")).toBeUndefined();
    expect(index.callerAt("::ffff:10.9.9.7")).toEqual({ owner: carol, sessionKeySha256: sha256("c") });
    expect(index.callerAt("10.9.9.8")).toBeUndefined();
  });

  test(
    "ATTACK: a running sandbox whose owner's app is not open (culled) reaches nothing; " + "a foreign callback address is refused",
    async () => {
      const port = 20_000 + Math.floor(Math.random() * 10_000);
      const relay = new SharedWebhookRelay({
        address: "127.0.0.1",
        port,
        callers: { callerAt: (address) => (address?.endsWith("127.0.0.1") ? { owner: alice, sessionKeySha256: sha256("k") } : undefined) },
        log: quiet,
        onTraffic: () => undefined,
      });
      await relay.listen();
      try {
        const answer = await http({ url: `http://127.0.0.1:${port}/api/v1/webhooks/secrets` });
        expect(answer.status).toBe(403);
        expect(answer.json().message).toBe("the sandbox's owner has no open relay");
        // A placement elsewhere than the relay's address: its sandboxes would call where nothing listens for them.
        await expect(relay.open(alice, "10.0.0.9", () => undefined)).rejects.toThrow(/is not the relay's 127\.0\.0\.1/);
        await relay.open(alice, "127.0.0.1", () => undefined);
        // Open, and its app not running: 503 from the relay, as in Docker mode.
        expect((await http({ url: `http://127.0.0.1:${port}/api/v1/webhooks/secrets` })).status).toBe(503);
      } finally {
        await relay.closeAll();
      }
      expect(relay.listening).toBe(false);
    },
  );

  test(
    "GIVEN no resolvers and no ecs.userResources WHEN the ECS service starts THEN it refuses, naming the setting, " +
      "and closes the databases",
    async () => {
      const config = parseConfig({
        ...minimalConfigDocument(),
        api: { host: "127.0.0.1", port: 0 },
        network: { relayPort: RELAY_PORT },
        backend: "ecs",
        ecs: {
          endpoint: "http://127.0.0.1:9",
          cluster: CLUSTER,
          subnets: [SUBNET.id],
          appSecurityGroup: APP_SG,
          sandboxSecurityGroup: SANDBOX_SG,
          executionRoleArn: "arn:aws:iam::123456789012:role/oh-task-execution",
          efsFileSystemId: FILE_SYSTEM,
          hostPrivateAddress: HOST,
          sandboxApiKeySecret: SANDBOX_SECRET,
          sandboxDomain: RUNTIME_DOMAIN,
        },
      });
      let closed = 0;
      const databases = { ...fakeDatabases(), close: async () => void (closed += 1) };
      await expect(startEcsSpawnerService(config, { log: quiet, databases })).rejects.toThrow(
        /config\.ecs\.userResources: missing is required/,
      );
      expect(closed).toBe(1);
    },
  );
});
