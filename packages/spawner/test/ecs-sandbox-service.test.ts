/**
 * The spawner's ECS sandbox service (src/ecs/sandbox-backend.ts, sandbox-api.ts) as users' OpenHands apps use it.
 *
 * Amazon ECS cannot run here (no AWS account is reachable from the test machines): the ECS API is
 * @openhands-team/ecs-standin, the contract stand-in written from the ECS API reference, whose tasks are real
 * containers on the lab's Docker engine (docker-lab) and whose EFS access points are folders of a temporary root.
 * The sandbox image is the lab's agent-server stand-in (the real one cannot be pulled here). The calls are made the
 * way OpenHands 1.11.0's remote_sandbox_service.py makes them (test/ecs-sandbox-support.ts; docs/ecs.md, section 1).
 *
 * One backend, one stand-in, the tests in order (a user's sandboxes: start, routes, the attacks of another user and
 * of forged keys, the limit, pause and resume, a spawner restart, the cull).
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeTaskDefinitionCommand, DescribeTasksCommand, ECSClient, type Task } from "@aws-sdk/client-ecs";
import { describeWithEngine, docker, ensureImage, labEngine, STAND_IN } from "@openhands-team/docker-lab";
import { EcsStandIn } from "@openhands-team/ecs-standin";
import type { UserPlacement } from "../src/backends";
import { ecsClient, type EcsPlacement } from "../src/ecs/client";
import { sandboxApiKey } from "../src/ecs/sandbox-api-key";
import { EcsSandboxBackend } from "../src/ecs/sandbox-backend";
import { routeOfSandboxHost } from "../src/ecs/sandbox-hosts";
import { parseStartRequest } from "../src/ecs/sandbox-requests";
import { fargateSizeProblem, runtimeStatusOf } from "../src/ecs/sandbox-task";
import { createLogger } from "../src/log";
import { slugForSub } from "../src/slug";
import { userPaths } from "../src/user-directories";
import { base62Id, buildServiceUrl, eventually, RemoteSandboxCalls, rawRequest } from "./ecs-sandbox-support";

jest.setTimeout(60_000);

const SECRET = "s".repeat(16) + randomBytes(16).toString("hex");
const CLUSTER = "openhands";
const SUBNET = { id: "subnet-0e5c5a1d0b0e5c5a1", cidr: "10.253.4.0/24", availabilityZone: "eu-central-1a" };
const APP_SG = "sg-0a0a0a0a0a0a0a0a0";
const SANDBOX_SG = "sg-0b0b0b0b0b0b0b0b0";
const FILE_SYSTEM = "fs-0c0c0c0c0c0c0c0c0";
const CALLBACK = "10.253.0.1";
const RELAY_PORT = 3000;
/** The app host's origin: the one the sandboxes' agent-servers admit (the spawner sets it, whatever an app asks). */
const APP_ORIGIN = "https://openhands.example.com";
const DOMAIN = "sandboxes.internal";
const slug = (n: number) => slugForSub(`00000000-0000-4000-8000-${String(n).padStart(12, "0")}`);
const accessPoint = (who: string) => `fsap-${createHash("sha256").update(who).digest("hex").slice(0, 17)}`;
const roleArn = (who: string) => `arn:aws:iam::123456789012:role/oh-sbx-${who}`;
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describeWithEngine("ECS sandbox service: OpenHands' remote sandbox calls against the ECS stand-in", () => {
  const alice = slug(801);
  const bob = slug(802);
  const carol = slug(803);
  let efsRoot: string;
  let standIn: EcsStandIn;
  let ecs: ECSClient;
  let placement: EcsPlacement;
  let image: string;
  let backend: EcsSandboxBackend;
  let asAlice: RemoteSandboxCalls;
  let asBob: RemoteSandboxCalls;
  const a1 = base62Id();
  let a2 = base62Id();
  const b1 = base62Id();
  let a1First: { runtimeId: string; key: string; port: number };
  const figures: Record<string, number> = {};
  const stoppedTasks: string[] = [];

  const place = (who: string): UserPlacement => ({ slug: who, callbackAddress: CALLBACK, sandboxUrlPattern: "", sandboxHostAddress: "" });
  const newBackend = () =>
    new EcsSandboxBackend({
      ecs,
      placement,
      apiKeySecret: SECRET,
      listen: { host: "127.0.0.1", port: 0 },
      sandboxDomain: DOMAIN,
      image,
      userResources: async (who) => ({
        workspaceAccessPointId: accessPoint(who),
        fileSystemId: FILE_SYSTEM,
        sandboxTaskRoleArn: roleArn(who),
      }),
      sandboxesPerUser: 2,
      relayPort: RELAY_PORT,
      corsOrigins: [APP_ORIGIN],
      taskSize: { cpu: "512", memory: "1024" },
      stopTimeoutSeconds: 2,
      refreshIntervalMs: 500,
      freshnessMs: 200,
      log: createLogger({ level: "error" }),
    });
  const describeTask = async (taskId: string): Promise<Task> => {
    const answer = await ecs.send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [taskId] }));
    return answer.tasks![0]!;
  };
  const containerOf = async (taskId: string): Promise<string> => (await describeTask(taskId)).containers![0]!.runtimeId!;
  const runningRuntime = (calls: RemoteSandboxCalls, id: string) =>
    eventually(async () => {
      const answer = await calls.getRuntime(id);
      return answer.body.status === "running" ? answer.body : undefined;
    }, `sandbox ${id} running`);
  /** `wait_for_sandbox_running`: once RUNNING, GET <agent-server url>/alive until it answers 200. */
  const aliveAt = (upstream: string) =>
    eventually(
      async () => ((await fetch(`${upstream}/alive`, { signal: AbortSignal.timeout(5_000) })).status === 200 ? true : undefined),
      "/alive",
    );
  const routePortOf = (url: string, who: string): number => {
    const match = new RegExp(`^http://(\\d+)-${who}\\.${DOMAIN.replace(".", "\\.")}$`).exec(url);
    if (!match) throw new Error(`unexpected runtime url ${url}`);
    return Number(match[1]);
  };

  beforeAll(async () => {
    const node = await ensureImage(STAND_IN.node);
    // OpenHands 1.11.0 pins agent-server 1.34.0.
    image = await ensureImage(STAND_IN.agentServer["1.34.0-python"]);
    efsRoot = mkdtempSync(join(tmpdir(), "ecs-sandbox-efs-"));
    const accessPoints = Object.fromEntries(
      [alice, bob, carol].map((who) => [
        accessPoint(who),
        {
          fileSystemId: FILE_SYSTEM,
          rootDirectory: `/users/${who}/workspace`,
          creationInfo: { ownerUid: 10001, ownerGid: 10001, permissions: "750" },
        },
      ]),
    );
    standIn = await EcsStandIn.start({
      socketPath: labEngine()!.socketPath,
      clusters: [CLUSTER],
      subnets: [SUBNET],
      securityGroups: [APP_SG, SANDBOX_SG],
      pause: { image: node, command: ["node", "-e", "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1 << 30)"] },
      efs: { fileSystems: { [FILE_SYSTEM]: { path: efsRoot, requireIam: true } }, accessPoints },
    });
    placement = {
      region: standIn.region,
      cluster: CLUSTER,
      subnets: [SUBNET.id],
      appSecurityGroup: APP_SG,
      sandboxSecurityGroup: SANDBOX_SG,
      executionRoleArn: "arn:aws:iam::123456789012:role/oh-ecs-execution",
      endpoint: standIn.endpoint,
    };
    ecs = ecsClient(placement, { credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" } });
    backend = newBackend();
    const apiUrl = await backend.listen();
    for (const who of [alice, bob]) await backend.open(who, place(who), userPaths(efsRoot, who));
    asAlice = new RemoteSandboxCalls(apiUrl, sandboxApiKey(SECRET, alice), `https://${alice}.oh.example.com`);
    asBob = new RemoteSandboxCalls(apiUrl, sandboxApiKey(SECRET, bob), `https://${bob}.oh.example.com`);
  });

  afterAll(async () => {
    await backend?.shutdown();
    // The stand-in removes its containers on close; tasks still stopping are left to finish first.
    await eventually(
      async () => {
        const tasks = await Promise.all(stoppedTasks.map((id) => describeTask(id)));
        return tasks.every((task) => task.lastStatus === "STOPPED") ? true : undefined;
      },
      "the stopped tasks to reach STOPPED",
      20_000,
    ).catch(() => undefined);
    ecs?.destroy();
    await standIn?.close();
    if (efsRoot) rmSync(efsRoot, { recursive: true, force: true });
    if (figures.startToRunningMs !== undefined) console.log(`ecs sandbox figures: ${JSON.stringify(figures)}`);
  });

  test("POST /start answers at once (starting, task id, url, a session key of ours); the task runs as designed", async () => {
    // GIVEN Alice's app, WHEN it starts a sandbox as start_sandbox does (trying to choose the session key itself, and
    // to admit another origin to the agent-server)
    const started = Date.now();
    const answer = await asAlice.start(image, a1, {
      OH_SESSION_API_KEYS_0: "chosen-by-the-app",
      OH_ALLOW_CORS_ORIGINS_1: "https://attacker.example",
    });
    figures.startAnswerMs = Date.now() - started;

    // THEN the answer is immediate, the key is a new random one, the url a route host of Alice
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ session_id: a1, status: "starting" });
    expect(answer.body.runtime_id).toMatch(/^[0-9a-f]{32}$/);
    expect(answer.body.session_api_key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const port = routePortOf(answer.body.url, alice);

    // AND it becomes running, with the same runtime and key
    const running = await runningRuntime(asAlice, a1);
    figures.startToRunningMs = Date.now() - started;
    expect(running).toMatchObject({
      runtime_id: answer.body.runtime_id,
      session_api_key: answer.body.session_api_key,
      url: answer.body.url,
    });
    a1First = { runtimeId: answer.body.runtime_id, key: answer.body.session_api_key, port };

    // AND the ECS task: startedBy sbx/<slug>, group sbx:<session>, Fargate Spot, the user's definition, the sandbox group
    const task = await describeTask(a1First.runtimeId);
    expect(task).toMatchObject({
      startedBy: `sbx/${alice}`,
      group: `sbx:${a1}`,
      capacityProviderName: "FARGATE_SPOT",
      lastStatus: "RUNNING",
    });
    expect(task.taskDefinitionArn).toMatch(new RegExp(`:task-definition/oh-sbx-${alice}:1$`));
    const { taskDefinition } = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: task.taskDefinitionArn! }));
    expect(taskDefinition).toMatchObject({
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "512",
      memory: "1024",
      taskRoleArn: roleArn(alice),
      runtimePlatform: { cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX" },
    });
    expect(taskDefinition!.volumes![0]!.efsVolumeConfiguration).toMatchObject({
      fileSystemId: FILE_SYSTEM,
      transitEncryption: "ENABLED",
      authorizationConfig: { accessPointId: accessPoint(alice), iam: "ENABLED" },
    });
    expect(taskDefinition!.containerDefinitions![0]).toMatchObject({
      image,
      user: "10001:10001",
      workingDirectory: "/workspace",
      command: ["/usr/local/bin/openhands-agent-server", "--port", "60000"],
      mountPoints: [{ sourceVolume: "workspace", containerPath: "/workspace", readOnly: false }],
    });

    // AND the container's environment: the app's, our session key, callbacks to the user's relay (not the public edge)
    const [inspected] = JSON.parse(docker(["inspect", await containerOf(a1First.runtimeId)]).stdout);
    const env = Object.fromEntries(
      (inspected.Config.Env as string[]).map((entry) => [entry.split("=")[0], entry.slice(entry.indexOf("=") + 1)]),
    );
    expect(env).toMatchObject({
      OH_SESSION_API_KEYS_0: a1First.key,
      OH_WEBHOOKS_0_BASE_URL: `http://${CALLBACK}:${RELAY_PORT}/api/v1/webhooks`,
      // The app asked for its web_url; the agent-server admits the app host's origin alone.
      OH_ALLOW_CORS_ORIGINS_0: APP_ORIGIN,
      OH_VSCODE_PORT: "60001",
      WORKER_1: "12000",
    });
    // CORS widening by an app: only the spawner's origins reach the agent-server.
    expect(Object.keys(env).filter((name) => name.startsWith("OH_ALLOW_CORS_ORIGINS_"))).toEqual(["OH_ALLOW_CORS_ORIGINS_0"]);
    expect(inspected.Config.User).toBe("10001:10001");
  });

  test("routes: the four route ports resolve to the task's services; the agent-server takes the session key only", async () => {
    const { port, key } = a1First;
    const route = backend.resolve(alice, port);
    expect(route).toMatchObject({ owner: alice, kind: "agent-server", sessionKeySha256: sha256(key) });
    expect(route!.upstream).toMatch(/^http:\/\/10\.253\.4\.\d+:60000$/);
    const ip = new URL(route!.upstream).hostname;
    expect([1, 2, 3].map((n) => backend.resolve(alice, port + n))).toEqual([
      { owner: alice, upstream: `http://${ip}:60001`, kind: "vscode", sessionKeySha256: sha256(key) },
      { owner: alice, upstream: `http://${ip}:12000`, kind: "worker", sessionKeySha256: sha256(key) },
      { owner: alice, upstream: `http://${ip}:12001`, kind: "worker", sessionKeySha256: sha256(key) },
    ]);
    // AND the names OpenHands derives from the url map onto those four routes
    const viaName = (service: string | undefined) => {
      const url = service
        ? buildServiceUrl(`http://${port}-${alice}.${DOMAIN}`, service, a1First.runtimeId)
        : `http://${port}-${alice}.${DOMAIN}/`;
      const route = routeOfSandboxHost(new URL(url).hostname, DOMAIN);
      return route && backend.resolve(route.slug, route.port)?.upstream;
    };
    expect([undefined, "vscode", "work-1", "work-2"].map(viaName)).toEqual([60000, 60001, 12000, 12001].map((p) => `http://${ip}:${p}`));
    // Route confusion: another owner, or a port outside the sandbox's four, resolves to nothing.
    expect(backend.resolve(bob, port)).toBeUndefined();
    expect(backend.resolve(alice, port + 4)).toBeUndefined();
    expect(backend.resolve(alice, port - 1)).toBeUndefined();

    // The agent-server stand-in at that address: open /alive (OpenHands waits for it once RUNNING), the API with the
    // key only, VS Code with tkn
    await aliveAt(route!.upstream);
    expect((await fetch(`${route!.upstream}/api/conversations/search`)).status).toBe(401);
    expect((await fetch(`${route!.upstream}/api/conversations/search`, { headers: { "X-Session-API-Key": key } })).status).toBe(200);
    expect((await fetch(`http://${ip}:60001/?tkn=${key}`)).status).toBe(200);
    expect((await fetch(`http://${ip}:12000/`)).status).toBe(200);

    // AND the batch (repeated ids) and /list carry it for Alice
    const batch = await asAlice.batch([a1, "UnknownSandbox0"]);
    expect(batch.status).toBe(200);
    expect(batch.body).toEqual([expect.objectContaining({ session_id: a1, status: "running", session_api_key: key })]);
    const list = await asAlice.list();
    expect(list.body.runtimes.map((r: { session_id: string }) => r.session_id)).toEqual([a1]);
    expect(runningCountOf(backend)).toEqual({ running: 1, owners: [alice] });
  });

  test("another user's key: Bob sees and touches none of Alice's sandboxes, and /list shows him his own only", async () => {
    // GIVEN Bob with a sandbox of his own
    const started = await asBob.start(image, b1);
    expect(started.status).toBe(200);
    await runningRuntime(asBob, b1);

    // Session key theft: Bob's /list and batch never carry Alice's sandboxes or keys.
    const list = await asBob.list();
    expect(list.status).toBe(200);
    expect(list.body.runtimes.map((r: { session_id: string }) => r.session_id)).toEqual([b1]);
    expect(JSON.stringify(list.body)).not.toContain(a1First.key);
    expect((await asBob.batch([a1, b1])).body.map((r: { session_id: string }) => r.session_id)).toEqual([b1]);
    // Cross-user access: Alice's session and runtime ids are 404 to Bob, for reading and for every action.
    expect((await asBob.getRuntime(a1)).status).toBe(404);
    for (const action of ["/pause", "/resume", "/stop"]) {
      expect((await asBob.send("POST", action, { runtime_id: a1First.runtimeId })).status).toBe(404);
    }
    // AND Alice's sandbox runs on, untouched
    expect((await asAlice.getRuntime(a1)).body).toMatchObject({ status: "running", session_api_key: a1First.key });
    expect((await describeTask(a1First.runtimeId)).desiredStatus).toBe("RUNNING");
    // AND Bob got his own task definition and startedBy
    const bobTask = await describeTask(started.body.runtime_id);
    expect(bobTask).toMatchObject({ startedBy: `sbx/${bob}`, group: `sbx:${b1}` });
    expect(bobTask.taskDefinitionArn).toMatch(new RegExp(`:task-definition/oh-sbx-${bob}:1$`));
  });

  test("keys: forged, other-secret, missing, and a valid key of a user not open here are all 401", async () => {
    const { apiUrl } = asAlice;
    const forged = `oh-sbx-${alice}-${randomBytes(32).toString("base64url")}`;
    const otherSecret = sandboxApiKey("o".repeat(40), alice);
    for (const key of [forged, otherSecret, sandboxApiKey(SECRET, carol), "", `${asAlice.apiKey}x`, asAlice.apiKey.toUpperCase()]) {
      const calls = new RemoteSandboxCalls(apiUrl, key, "https://x.example.com");
      expect((await calls.list()).status).toBe(401);
      expect((await calls.getRuntime(a1)).status).toBe(401);
      expect((await calls.start(image, base62Id())).status).toBe(401);
    }
    expect((await fetch(`${apiUrl}/list`)).status).toBe(401);
  });

  test("bad input: malformed bodies, ids that are not ours, other images and users, oversized bodies are clear 4xx", async () => {
    const post = (path: string, body: string) =>
      rawRequest(asAlice.apiUrl, {
        method: "POST",
        path,
        headers: { "x-api-key": asAlice.apiKey, "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        body,
      });
    const startBody = (change: Record<string, unknown>) =>
      JSON.stringify({ image, command: ["x"], working_dir: "/workspace", environment: {}, session_id: base62Id(), ...change });
    const cases: Array<[string, string, number]> = [
      ["/pause", "{", 400],
      ["/pause", "[]", 400],
      ["/pause", "", 400],
      // Parser differential: a key given twice is refused, never resolved one way here and another elsewhere.
      ["/pause", `{"runtime_id":"${"0".repeat(32)}","runtime_id":"${a1First.runtimeId}"}`, 400],
      ["/pause", `{"runtime_id":"../${a1First.runtimeId}"}`, 400],
      ["/pause", `{"runtime_id":${JSON.stringify("0".repeat(32))}}`, 404],
      ["/start", startBody({ session_id: undefined }), 400],
      // Path traversal: the session id becomes a record file name.
      ["/start", startBody({ session_id: "../../sandboxes/x" }), 400],
      ["/start", startBody({ environment: { A: 1 } }), 400],
      ["/start", startBody({ environment: { "A-B": "x" } }), 400],
      ["/start", startBody({ environment: [] }), 400],
      ["/start", startBody({ command: [1] }), 400],
      ["/start", startBody({ working_dir: "/etc" }), 400],
      ["/start", startBody({ run_as_user: 0 }), 400],
      ["/start", startBody({ runtime_class: "sysbox-runc" }), 400],
      // Arbitrary images: only the pinned agent-server runs.
      ["/start", startBody({ image: STAND_IN.node }), 403],
      // An existing session id: no second task for one sandbox.
      ["/start", startBody({ session_id: a1 }), 409],
      // ECS's 8192-character override limit, said in the app's terms.
      ["/start", startBody({ environment: { A: "a".repeat(4000), B: "b".repeat(4000), C: "c".repeat(400) } }), 400],
    ];
    for (const [path, body, status] of cases) {
      const answer = await post(path, body);
      expect({ path, body: body.slice(0, 80), status: "status" in answer ? answer.status : answer.error }).toEqual({
        path,
        body: body.slice(0, 80),
        status,
      });
      if ("text" in answer) expect(JSON.parse(answer.text).detail).toEqual(expect.any(String));
    }
    expect((await asAlice.getRuntime("not-ours-at-all")).status).toBe(404);
    expect((await asAlice.send("GET", "/sessions/..%2F..%2Fetc")).status).toBe(400);
    expect((await asAlice.send("GET", "/sessions/%E0%A4%A")).status).toBe(400);
    expect((await asAlice.batch(Array.from({ length: 101 }, (_, n) => `id${n}`))).status).toBe(400);
    expect((await asAlice.batch(["bad/id"])).status).toBe(400);
    expect((await asAlice.send("GET", "/start")).status).toBe(405);
    expect((await asAlice.send("POST", "/list", {})).status).toBe(405);
    expect((await asAlice.send("GET", "/v1/other")).status).toBe(404);

    // Memory exhaustion: an oversized body is refused by its length, or as it streams (chunked), and the API serves on.
    const big = Buffer.alloc(70 * 1024, "a");
    const declared = await rawRequest(asAlice.apiUrl, {
      method: "POST",
      path: "/start",
      headers: { "x-api-key": asAlice.apiKey, "content-type": "application/json", "content-length": big.length },
      body: big,
    });
    expect("status" in declared ? declared.status : declared.error).toBe(413);
    const streamed = await rawRequest(asAlice.apiUrl, {
      method: "POST",
      path: "/start",
      headers: { "x-api-key": asAlice.apiKey, "content-type": "application/json", "transfer-encoding": "chunked" },
      body: big,
    });
    if ("status" in streamed) expect(streamed.status).toBe(413);
    else expect(streamed.error).toMatch(/socket hang up|ECONNRESET|EPIPE/);
    // ECS refusing (no permission): a clear 502 naming ECS's error, no sandbox kept; ECS failing once: retried
    standIn.failNext("RunTask", "AccessDeniedException");
    const denied = await asAlice.start(image, "deniedSandbox");
    expect(denied.status).toBe(502);
    expect(denied.body.detail).toMatch(/^ECS RunTask failed: AccessDeniedException/);
    expect((await asAlice.getRuntime("deniedSandbox")).status).toBe(404);
    standIn.failNext("DescribeTasks", "ServerException");
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await asAlice.getRuntime(a1)).body.status).toBe("running");
    // AND nothing was started by any of it
    const list = await asAlice.list();
    expect(list.status).toBe(200);
    expect(list.body.runtimes.map((r: { session_id: string }) => r.session_id)).toEqual([a1]);
  });

  test("the per-user limit: a third running sandbox is refused; a paused one frees its place; delete drops it", async () => {
    // GIVEN Alice with a1 running, WHEN two more start at the same moment (limit 2)
    const [x, y] = [a2, base62Id()];
    const answers = await Promise.all([asAlice.start(image, x), asAlice.start(image, y)]);
    // THEN exactly one is accepted: the limit check and the start do not race; the other is 429 with the reason
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 429]);
    a2 = answers[0]!.status === 200 ? x : y;
    const third = a2 === x ? y : x;
    const refused = answers[0]!.status === 200 ? answers[1]! : answers[0]!;
    expect(refused.body.detail).toMatch(/sandbox limit reached: 2 of 2/);
    expect((await asAlice.getRuntime(third)).status).toBe(404);
    // Bob's sandbox does not count against Alice, nor hers against him
    expect((await asAlice.list()).body.runtimes).toHaveLength(2);

    // WHEN a2 is paused, THEN a third sandbox may start; deleting it stops its task and forgets it
    await runningRuntime(asAlice, a2);
    expect((await asAlice.lifecycle("pause", a2)).ok).toBe(true);
    const a3 = await asAlice.start(image, third);
    expect(a3.status).toBe(200);
    expect((await asAlice.lifecycle("stop", third)).ok).toBe(true);
    expect((await asAlice.getRuntime(third)).status).toBe(404);
    expect((await describeTask(a3.body.runtime_id)).desiredStatus).toBe("STOPPED");
    // delete_sandbox of a sandbox already gone: the 404 is accepted
    expect((await asAlice.lifecycle("stop", third)).ok).toBe(true);
    expect(existsSync(join(userPaths(efsRoot, alice).sandboxRecords, `ecs-${third}.json`))).toBe(false);
  });

  test("pause stops the task and keeps a record; resume runs a new task with a new key and the same workspace", async () => {
    const { runtimeId, key, port } = a1First;
    // GIVEN a file the sandbox wrote into its workspace (as the sandbox user)
    docker([
      "exec",
      "-u",
      "10001:10001",
      await containerOf(runtimeId),
      "node",
      "-e",
      "require('fs').writeFileSync('/workspace/kept.txt', 'kept')",
    ]);

    // WHEN OpenHands pauses it
    expect((await asAlice.lifecycle("pause", a1)).ok).toBe(true);
    // THEN it reads paused without a key, has no route, is not in /list, its task is stopping, its record says paused
    expect((await asAlice.getRuntime(a1)).body).toMatchObject({ status: "paused", session_api_key: null, runtime_id: runtimeId });
    expect(backend.resolve(alice, port)).toBeUndefined();
    expect((await asAlice.list()).body.runtimes).toEqual([]);
    expect((await describeTask(runtimeId)).desiredStatus).toBe("STOPPED");
    const record = JSON.parse(readFileSync(join(userPaths(efsRoot, alice).sandboxRecords, `ecs-${a1}.json`), "utf8"));
    expect(record).toMatchObject({ sessionId: a1, state: "paused", taskId: runtimeId, routePort: port });
    expect(JSON.stringify(record)).not.toContain(key);

    // WHEN OpenHands resumes it
    const started = Date.now();
    const resumed = await asAlice.lifecycle("resume", a1);
    expect(resumed.ok).toBe(true);
    // THEN the answer carries a new key (OpenHands stores its hash) and a new runtime, on the same route port
    const answer = resumed.answer!.body;
    expect(answer).toMatchObject({ session_id: a1, status: "starting", url: `http://${port}-${alice}.${DOMAIN}` });
    expect(answer.session_api_key).not.toBe(key);
    expect(answer.runtime_id).not.toBe(runtimeId);
    await runningRuntime(asAlice, a1);
    figures.resumeToRunningMs = Date.now() - started;

    // AND the new task sees the file; the old key opens nothing, the new one does; the definition was reused
    const container = await containerOf(answer.runtime_id);
    expect(
      docker(["exec", container, "node", "-e", "process.stdout.write(require('fs').readFileSync('/workspace/kept.txt'))"]).stdout,
    ).toBe("kept");
    const route = backend.resolve(alice, port)!;
    expect(route.sessionKeySha256).toBe(sha256(answer.session_api_key));
    await aliveAt(route.upstream);
    expect((await fetch(`${route.upstream}/api/conversations/search`, { headers: { "X-Session-API-Key": key } })).status).toBe(401);
    expect(
      (await fetch(`${route.upstream}/api/conversations/search`, { headers: { "X-Session-API-Key": answer.session_api_key } })).status,
    ).toBe(200);
    expect((await describeTask(answer.runtime_id)).taskDefinitionArn).toMatch(new RegExp(`oh-sbx-${alice}:1$`));
    a1First = { runtimeId: answer.runtime_id, key: answer.session_api_key, port };
  });

  test("spawner restart: a new backend finds running sandboxes in ECS (even without a record) and paused ones in records", async () => {
    // GIVEN Alice's a1 running, a2 paused; Bob's b1 running and its record lost
    const bobBefore = (await asBob.getRuntime(b1)).body;
    rmSync(join(userPaths(efsRoot, bob).sandboxRecords, `ecs-${b1}.json`));
    const alicePort = a1First.port;
    await backend.shutdown();

    // WHEN a new spawner's backend opens both users
    backend = newBackend();
    const apiUrl = await backend.listen();
    // (first the users' tasks without opening anyone, as a spawner start does for the orphan sweep)
    expect(await backend.discover((who) => userPaths(efsRoot, who))).toBe(2);
    expect(runningCountOf(backend)).toEqual({ running: 2, owners: [alice, bob].sort() });
    expect((await new RemoteSandboxCalls(apiUrl, asBob.apiKey, asBob.webUrl).list()).status).toBe(401);
    for (const who of [alice, bob]) await backend.open(who, place(who), userPaths(efsRoot, who));
    asAlice = new RemoteSandboxCalls(apiUrl, asAlice.apiKey, asAlice.webUrl);
    asBob = new RemoteSandboxCalls(apiUrl, asBob.apiKey, asBob.webUrl);

    // THEN the running ones answer as before (key from the task's overrides), routes included; the paused one is paused
    expect((await asAlice.getRuntime(a1)).body).toMatchObject({
      status: "running",
      runtime_id: a1First.runtimeId,
      session_api_key: a1First.key,
    });
    expect(backend.resolve(alice, alicePort)?.sessionKeySha256).toBe(sha256(a1First.key));
    expect((await asAlice.getRuntime(a2)).body).toMatchObject({ status: "paused", session_api_key: null });
    const bobAfter = (await asBob.getRuntime(b1)).body;
    expect(bobAfter).toMatchObject({ status: "running", runtime_id: bobBefore.runtime_id, session_api_key: bobBefore.session_api_key });
    expect(backend.resolve(bob, routePortOf(bobAfter.url, bob))?.kind).toBe("agent-server");
    expect(existsSync(join(userPaths(efsRoot, bob).sandboxRecords, `ecs-${b1}.json`))).toBe(true);
    expect((await asBob.list()).body.runtimes.map((r: { session_id: string }) => r.session_id)).toEqual([b1]);
    expect(runningCountOf(backend)).toEqual({ running: 2, owners: [alice, bob].sort() });
  });

  test("the cull: stopAll stops a user's tasks (records turn paused), close shuts the user's key out", async () => {
    expect(await backend.stopAll(alice)).toBe(1);
    expect((await asAlice.getRuntime(a1)).body).toMatchObject({ status: "paused", session_api_key: null });
    expect((await describeTask(a1First.runtimeId)).desiredStatus).toBe("STOPPED");
    expect(runningCountOf(backend)).toEqual({ running: 1, owners: [bob] });
    await backend.close(alice);
    expect((await asAlice.list()).status).toBe(401);
    expect(backend.resolve(alice, a1First.port)).toBeUndefined();
    // Bob is untouched by Alice's cull
    expect((await asBob.getRuntime(b1)).body.status).toBe("running");
    stoppedTasks.push(a1First.runtimeId, (await asBob.getRuntime(b1)).body.runtime_id);
    expect(await backend.stopAll(bob)).toBe(1);
    await backend.close(bob);
    expect(runningCountOf(backend)).toEqual({ running: 0, owners: [] });
  });
});

function runningCountOf(backend: EcsSandboxBackend): { running: number; owners: string[] } {
  return { running: backend.runningCount(), owners: backend.owners().sort() };
}

describe("ECS sandbox service: the rules that need no engine", () => {
  const task = (lastStatus: string, desiredStatus = "RUNNING", stopCode?: string) => ({ lastStatus, desiredStatus, stopCode }) as Task;

  test("task status → runtime status, as docs/ecs.md section 3 maps it", () => {
    const cases: Array<[Task, string | undefined, string]> = [
      [task("PROVISIONING"), undefined, "starting"],
      [task("PENDING"), undefined, "starting"],
      [task("ACTIVATING"), "10.0.0.5", "starting"],
      // RUNNING without its address yet: nothing to route to, still starting
      [task("RUNNING"), undefined, "starting"],
      [task("RUNNING"), "10.0.0.5", "running"],
      [task("RUNNING", "STOPPED", "UserInitiated"), "10.0.0.5", "stopped"],
      [task("STOPPED", "STOPPED", "UserInitiated"), undefined, "stopped"],
      [task("STOPPED", "STOPPED", "EssentialContainerExited"), undefined, "error"],
      [task("STOPPED", "STOPPED", "SpotInterruption"), undefined, "error"],
      [task("STOPPED", "STOPPED", "TaskFailedToStart"), undefined, "error"],
      [task("DEACTIVATING"), "10.0.0.5", "error"],
    ];
    for (const [given, ip, expected] of cases)
      expect({ ...given, status: runtimeStatusOf(given, ip) }).toEqual({ ...given, status: expected });
  });

  test("the backend refuses a limit below 2 and a task size Fargate does not run", () => {
    const options = {
      ecs: new ECSClient({ region: "eu-central-1" }),
      placement: {
        region: "eu-central-1",
        cluster: "c",
        subnets: [],
        appSecurityGroup: "",
        sandboxSecurityGroup: "",
        executionRoleArn: "",
      },
      apiKeySecret: SECRET,
      listen: { host: "127.0.0.1", port: 0 },
      sandboxDomain: DOMAIN,
      image: "agent-server:1",
      userResources: async () => ({ workspaceAccessPointId: "", fileSystemId: "", sandboxTaskRoleArn: "" }),
      sandboxesPerUser: 2,
      relayPort: 3000,
      corsOrigins: [APP_ORIGIN],
      log: createLogger({ level: "error" }),
    };
    expect(() => new EcsSandboxBackend({ ...options, sandboxesPerUser: 1 })).toThrow(/sandboxesPerUser 1 is too small/);
    expect(() => new EcsSandboxBackend({ ...options, taskSize: { cpu: "1024", memory: "1024" } })).toThrow(
      /taskSize: memory "1024" does not go with cpu 1024 on Fargate \(2048 to 8192 MiB/,
    );
    expect(() => new EcsSandboxBackend({ ...options, taskSize: { cpu: "300", memory: "1024" } })).toThrow(
      /cpu "300" is not a Fargate size/,
    );
    expect(fargateSizeProblem("256", "512")).toBeUndefined();
    expect(fargateSizeProblem("4096", "30720")).toBeUndefined();
  });

  test("start requests: a command given as one line is split; working folder and session id are bounded", () => {
    const parsed = parseStartRequest({ image: "i", command: "/usr/local/bin/openhands-agent-server --port 60000", session_id: "abc" });
    expect(parsed).toMatchObject({ command: ["/usr/local/bin/openhands-agent-server", "--port", "60000"], workingDir: "/workspace" });
    expect(() => parseStartRequest({ image: "i", session_id: "abc", working_dir: "/workspace/../etc" })).toThrow(/working_dir/);
    expect(() => parseStartRequest({ image: "i", session_id: "x".repeat(65) })).toThrow(/session_id/);
  });

  test("internal host names: the four services of a url, and nothing else", () => {
    const who = slug(901);
    const url = `http://40004-${who}.${DOMAIN}`;
    const names = ["", "vscode", "work-1", "work-2"].map((name) => new URL(name ? buildServiceUrl(url, name, "t") : url).hostname);
    expect(names.map((name) => routeOfSandboxHost(name, DOMAIN))).toEqual(
      [40004, 40005, 40006, 40007].map((port) => ({ slug: who, port })),
    );
    // Host confusion: other services, case, ports, extra labels, other domains, ports past 65535
    for (const host of [
      `vnc-40004-${who}.${DOMAIN}`,
      `40004-${who.toUpperCase()}.${DOMAIN}`,
      `40004-${who}.${DOMAIN}:80`,
      `a.40004-${who}.${DOMAIN}`,
      `40004-${who}.${DOMAIN}.evil.example`,
      `40004-${who}.sandboxesxinternal`,
      `65534-${who}.${DOMAIN}`,
      `040004-${who}.${DOMAIN}`,
    ]) {
      expect({ host, route: routeOfSandboxHost(host, DOMAIN) }).toEqual({ host, route: undefined });
    }
  });
});
