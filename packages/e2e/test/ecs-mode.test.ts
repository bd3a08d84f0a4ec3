/**
 * System test in ECS mode (issue 21, point 4): the two-users stack (Chromium, the real edge bundles, nginx with the
 * runtime proxy's Lua, the real spawner, PostgreSQL, the LLM gateway stand-in) with the spawner in `backend: "ecs"`.
 *
 * Amazon ECS, EFS, IAM and Secrets Manager cannot run here (no AWS account is reachable from the test machines): the
 * contract stand-ins of @openhands-team/ecs-standin answer their APIs on loopback, and every task is real containers on
 * the lab's Docker engine (docker-lab), in a Docker network standing for the VPC subnet whose gateway stands for the
 * host's private address (the relay, the remote sandbox API and the LLM gateway listen there). The spawner makes each
 * person's access points, database secret and sandbox role through those APIs (`ecs.userResources`), and the stand-in
 * evaluates task roles as IAM would (`iam` option), so a sandbox role mounts only its own person's workspace.
 *
 * The app image is the lab's OpenHands 1.11.0 stand-in. It does not speak the remote sandbox API (the app fake of
 * @openhands-team/openhands-fakes follows DockerSandboxServiceInjector only and refuses RemoteSandboxServiceInjector
 * at a sandbox start), so the test makes the calls OpenHands 1.11.0's RemoteSandboxService makes
 * (remote_sandbox_service.py: POST /start, GET /sessions/{id}, /sessions/batch, /list, X-API-Key) itself, with the key
 * read from the app task's environment (OH_SANDBOX_API_URL, OH_SANDBOX_API_KEY, OH_WEB_URL), as the app would.
 *
 * The proxy runs with `taskSubnets` (ECS mode): it routes to app and sandbox tasks at any usable address of the task
 * subnet, and notes which person holds each address (tasks of all people share the subnet), instead of docker mode's
 * per-person /24 plan. Its internal listener (`internalListen` on the host's address, port 80) serves the sandbox names
 * apps are given (`http://<p>-<slug>.<sandbox domain>`); in AWS a private Route 53 zone resolves them to the host, here an
 * /etc/hosts line in the app task's container stands for that record.
 *
 * Tests run in order on one stack; screenshots and logs go to artifacts/ecs-mode/ (git-ignored).
 */
import { createHmac, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { identitySignature } from "@openhands-team/contracts";
import { EcsStandIn } from "@openhands-team/ecs-standin";
import { docker, dockerAsync, ensureImage, labEngine, STAND_IN } from "@openhands-team/docker-lab";
import { openBrowser, type UserBrowser } from "../src/browser";
import { inspectContainer } from "../src/engine";
import { stopAll } from "../src/processes";
import { APP_HOST, LLM_MODEL, RUNTIME_DOMAIN, startStack, type Stack, type TestUser } from "../src/stack";

jest.setTimeout(60_000);

const ARTIFACTS = join(__dirname, "..", "artifacts", "ecs-mode");
const APP_IMAGE = STAND_IN.app["1.11.0"];
const AGENT_SERVER_IMAGE = STAND_IN.agentServer["1.34.0-python"];
const CLUSTER = "openhands-e2e";
/** The task subnet, given to the proxy as its `taskSubnets`. */
const SUBNET = { id: "subnet-0e2e0e2e0e2e0e2e0", cidr: "10.240.7.0/24", availabilityZone: "eu-central-1a" };
/** The subnet network's gateway: the host's private address as the tasks reach it. */
const HOST = "10.240.7.1";
const SANDBOX_API_PORT = 8082;
const RELAY_PORT = 3000;
/** The sandbox domain of the private zone (apps/infra: `sandboxes.<name>-<env>.internal`). */
const SANDBOX_DOMAIN = "sandboxes.openhands-e2e.internal";
const APP_SG = "sg-0e2e0e2e0e2e00001";
const SANDBOX_SG = "sg-0e2e0e2e0e2e00002";
const FILE_SYSTEM = "fs-0e2e0e2e0e2e0e2e0";
const ACCOUNT = "123456789012";
const FS_ARN = `arn:aws:elasticfilesystem:eu-central-1:${ACCOUNT}:file-system/${FILE_SYSTEM}`;
const BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/openhands-e2e-sandbox-boundary`;
const EXECUTION_ROLE = `arn:aws:iam::${ACCOUNT}:role/openhands-e2e-task-execution`;
const APP_BOUNDARY = `arn:aws:iam::${ACCOUNT}:policy/openhands-e2e-app-boundary`;
/** 6 s: long enough to read the rebuilt view after the restart, short enough for the time budget. */
const CULL_IDLE_MINUTES = 0.1;
/** The stand-in checks that a request is signed, not the signature (it has no credentials to check it against). */
const AUTHORIZATION =
  "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261202/eu-central-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=00";
const CREDENTIALS = {
  AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
  AWS_SECRET_ACCESS_KEY: "stand-in-does-not-check",
  AWS_EC2_METADATA_DISABLED: "true",
};

/** The permissions boundary the infra gives every sandbox role (apps/infra task-roles.ts): the two EFS client actions. */
const BOUNDARY_DOCUMENT = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
      Resource: FS_ARN,
      Condition: { Bool: { "elasticfilesystem:AccessedViaMountTarget": "true" } },
    },
  ],
});

/** The permissions boundary the infra gives every app role (apps/infra task-roles.ts): events under users/, EFS client actions. */
const APP_BOUNDARY_DOCUMENT = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    { Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], Resource: "arn:aws:s3:::*/users/*" },
    { Effect: "Allow", Action: "s3:ListBucket", Resource: "arn:aws:s3:::*", Condition: { StringLike: { "s3:prefix": ["users/*"] } } },
    {
      Effect: "Allow",
      Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"],
      Resource: FS_ARN,
      Condition: { Bool: { "elasticfilesystem:AccessedViaMountTarget": "true" }, Null: { "elasticfilesystem:AccessPointArn": "false" } },
    },
  ],
});

interface EcsTask {
  taskArn: string;
  taskDefinitionArn: string;
  lastStatus: string;
  desiredStatus: string;
  startedBy?: string;
  group?: string;
  capacityProviderName?: string;
  launchType?: string;
  stopCode?: string;
  stoppedReason?: string;
  attachments?: Array<{ details?: Array<{ name: string; value: string }> }>;
  containers?: Array<{ name: string; runtimeId?: string }>;
}

interface Runtime {
  session_id: string;
  runtime_id: string;
  status: string;
  session_api_key: string | null;
  url: string;
}

/** What the test learns of a person's app and sandbox as it goes. */
interface Person {
  readonly user: TestUser;
  browser: UserBrowser;
  app?: { task: EcsTask; ip: string; env: Record<string, string> };
  sandbox?: { id: string; runtime: Runtime; task: EcsTask; ip: string; container: string };
}

let standIn: EcsStandIn;
let stack: Stack;
let efsRoot: string;
const people = {} as Record<"alice" | "bob", Person>;
/** Durations of the set-up's steps and of the main steps, printed at the end (README figures). */
const figures: Record<string, number> = {};
let clock = Date.now();
const lap = (name: string) => {
  figures[name] = Date.now() - clock;
  clock = Date.now();
};

async function awsJson(target: string, body: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${standIn.endpoint}/`, {
    method: "POST",
    headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": target, authorization: AUTHORIZATION },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

/** One ECS API call (JSON 1.1), as the SDK sends it; throws on an error answer. */
async function ecs(operation: string, body: Record<string, unknown>): Promise<any> {
  const answer = await awsJson(`AmazonEC2ContainerServiceV20141113.${operation}`, { cluster: CLUSTER, ...body });
  if (answer.status !== 200) throw new Error(`ECS ${operation}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** A call of the person's own app from their page (through the edge and the proxy); the status and the JSON answer. */
function fromApp(person: Person, path: string, init: { method?: string; body?: string } = {}): Promise<{ status: number; body: any }> {
  return person.browser.page.evaluate(
    async ([target, method, body]) => {
      const res = await fetch(target!, { method: method!, ...(body ? { body, headers: { "content-type": "application/json" } } : {}) });
      return { status: res.status, body: await res.json() };
    },
    [path, init.method ?? "GET", init.body ?? ""],
  );
}

/** ListTasks(startedBy) then DescribeTasks, as the spawner's backends read ECS. */
async function tasksStartedBy(startedBy: string, desiredStatus = "RUNNING"): Promise<EcsTask[]> {
  const { taskArns } = await ecs("ListTasks", { startedBy, desiredStatus });
  if (!taskArns.length) return [];
  return (await ecs("DescribeTasks", { tasks: taskArns })).tasks;
}

async function describeTask(arn: string): Promise<EcsTask> {
  return (await ecs("DescribeTasks", { tasks: [arn] })).tasks[0];
}

const privateIp = (task: EcsTask) => task.attachments?.[0]?.details?.find((d) => d.name === "privateIPv4Address")?.value ?? "";

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A container's environment (`docker inspect`), as a map. */
async function environmentOf(container: string): Promise<Record<string, string>> {
  const view = await inspectContainer(labEngine()!.socketPath, container);
  if (!view) throw new Error(`no container ${container}`);
  return Object.fromEntries(view.env.map((entry) => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]));
}

/**
 * A call of OpenHands' RemoteSandboxService: `api_url + path` with `X-API-Key` (`_send_runtime_api_request`), made from
 * this process to look at what the app sees and to try another person's key; the sandboxes are started by the apps.
 */
async function sandboxApi(
  app: Record<string, string>,
  method: string,
  path: string,
  json?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${app.OH_SANDBOX_API_URL}${path}`, {
    method,
    headers: { "X-API-Key": app.OH_SANDBOX_API_KEY!, ...(json === undefined ? {} : { "content-type": "application/json" }) },
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

/** The identity headers the edge adds for `user` on `host`, signed with the stack's key. */
function signedIdentity(user: TestUser, host: string): Record<string, string> {
  const exp = Math.floor(Date.now() / 1000) + 60;
  const identity = { sub: user.sub, slug: user.slug, email: `${user.login}@example.test` };
  return {
    "x-oh-user": identity.sub,
    "x-oh-user-slug": identity.slug,
    "x-oh-email": identity.email,
    "x-oh-exp": String(exp),
    "x-oh-sig": identitySignature(stack.identityKey, host, identity, exp),
  };
}

/** A GET straight to nginx, as the edge would forward it; the status. */
function proxyGet(host: string, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port: stack.proxyPort, path, headers: { host, ...headers } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

type TaskCall = { url: string; method?: string; headers?: Record<string, string>; body?: string };

/**
 * HTTP requests made one after another inside a task's container (so from the task's own address), in one `docker
 * exec`; the answers as JSON. Async: the ECS stand-in serves from this process and must keep answering (and closing
 * idle connections) meanwhile.
 */
async function callsFromTask(container: string, calls: TaskCall[]): Promise<{ status: number; body: string }[]> {
  const script =
    `(async () => { const answers = []; for (const { url, ...init } of ${JSON.stringify(calls)}) {` +
    ' try { const r = await fetch(url, { method: "GET", ...init }); answers.push({ status: r.status, body: await r.text() }); }' +
    " catch (e) { answers.push({ status: 0, body: String(e) }); } } console.log(JSON.stringify(answers)); })()";
  const { stdout } = await dockerAsync(["exec", container, "node", "-e", script]);
  return JSON.parse(stdout.trim().split("\n").pop()!) as { status: number; body: string }[];
}

/** One HTTP request made inside a task's container; see callsFromTask. */
async function callFromTask(container: string, url: string, init: Omit<TaskCall, "url">) {
  return (await callsFromTask(container, [{ url, ...init }]))[0]!;
}

/** The public runtime host of an internal sandbox URL: `http://<p>-<slug>.<sandbox domain>` → `<p>-<slug>.<runtime domain>`. */
function publicHost(internalUrl: string): string {
  return `${new URL(internalUrl).hostname.slice(0, -SANDBOX_DOMAIN.length)}${RUNTIME_DOMAIN}`;
}

/** Points the sandbox domain's names at the host inside a task's container, as the private zone's wildcard record does. */
function resolveSandboxNamesIn(container: string, names: string[]): void {
  docker(["exec", container, "sh", "-c", `echo '${HOST} ${names.join(" ")}' >> /etc/hosts`]);
}

/** An X-Access-Token as the app signs it (HS256 with its JWT_SECRET), for GET /api/v1/webhooks/secrets. */
function accessToken(jwtSecret: string): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const head = `${part({ alg: "HS256", typ: "JWT" })}.${part({ provider_type: "github" })}`;
  return `${head}.${createHmac("sha256", jwtSecret).update(head).digest("base64url")}`;
}

async function logIn(person: Person): Promise<void> {
  const { page } = person.browser;
  await page.goto(`${stack.appOrigin}/`);
  await page.waitForSelector('input[name="login"]', { timeout: 15_000 });
  await page.fill('input[name="login"]', person.user.login);
  await page.fill('input[name="password"]', "any-password");
  await page.click('button[type="submit"]');
}

/** The person's running app task, once ECS says RUNNING (ListTasks startedBy = slug, DescribeTasks). */
async function appTaskOf(person: Person): Promise<NonNullable<Person["app"]>> {
  const task = await eventually(`the app task of ${person.user.login} RUNNING`, async () => {
    const [running] = await tasksStartedBy(person.user.slug);
    return running?.lastStatus === "RUNNING" ? running : undefined;
  });
  const env = await environmentOf(task.containers![0]!.runtimeId!);
  return { task, ip: privateIp(task), env };
}

beforeAll(async () => {
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(join(ARTIFACTS, "logs"), { recursive: true });
  clock = Date.now();
  await ensureImage(STAND_IN.node);
  efsRoot = mkdtempSync(join(tmpdir(), "e2e-ecs-efs-"));
  chmodSync(efsRoot, 0o755);
  standIn = await EcsStandIn.start({
    socketPath: labEngine()!.socketPath,
    clusters: [CLUSTER],
    subnets: [SUBNET],
    securityGroups: [APP_SG, SANDBOX_SG],
    pause: {
      image: STAND_IN.node,
      command: ["node", "-e", "process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1 << 30)"],
    },
    // The EFS file system is the spawner's efsRoot (the host mounts it through its own access point in ECS mode).
    efs: { fileSystems: { [FILE_SYSTEM]: { path: efsRoot, requireIam: true } }, accessPoints: {} },
    // IAM's propagation delay: a task placed on a sandbox role younger than this fails to start (the spawner waits it out).
    iam: { policies: { [BOUNDARY]: BOUNDARY_DOCUMENT, [APP_BOUNDARY]: APP_BOUNDARY_DOCUMENT }, propagationMs: 1_500 },
    accessPointReadyMs: 300,
  });
  lap("standInStartMs");
  stack = await startStack({
    artifactsDir: ARTIFACTS,
    idleMinutes: 10,
    proxy: { taskSubnets: [SUBNET.cidr], sandboxDomain: SANDBOX_DOMAIN, internalListen: `${HOST}:80` },
    spawner: {
      images: { app: APP_IMAGE, agentServer: AGENT_SERVER_IMAGE },
      env: CREDENTIALS,
      config: {
        backend: "ecs",
        paths: { efsRoot, dockerApiDir: join(efsRoot, "unused-docker-api") },
        timing: { healthTimeoutMs: 60_000, healthIntervalMs: 200, ensureWaitMs: 300, cullIntervalMs: 1000 },
        ecs: {
          endpoint: standIn.endpoint,
          cluster: CLUSTER,
          subnets: [SUBNET.id],
          appSecurityGroup: APP_SG,
          sandboxSecurityGroup: SANDBOX_SG,
          executionRoleArn: EXECUTION_ROLE,
          appCpu: 256,
          appMemoryMiB: 512,
          efsFileSystemId: FILE_SYSTEM,
          hostPrivateAddress: HOST,
          sandboxApiPort: SANDBOX_API_PORT,
          sandboxApiKeySecret: randomBytes(32).toString("base64url"),
          sandboxDomain: SANDBOX_DOMAIN,
          taskStartTimeoutMs: 60_000,
          taskPollIntervalMs: 200,
          viewRefreshIntervalMs: 2_000,
          userResources: {
            deployment: "openhands-e2e",
            sandboxRoleBoundaryArn: BOUNDARY,
            appRoleBoundaryArn: APP_BOUNDARY,
            userSecretPrefix: "openhands/e2e/users/",
            endpoints: { efs: standIn.endpoint, iam: standIn.endpoint, secretsManager: standIn.endpoint },
            accessPointWaitMs: 10_000,
            roleSettleMs: 1_700,
          },
        },
      },
    },
  });
  lap("stackStartMs");
  for (const login of ["alice", "bob"] as const) {
    people[login] = { user: stack.user(login), browser: await openBrowser(`ecs-${login}`, stack.hostResolverRules, ARTIFACTS) };
  }
  lap("browsersMs");
}, 90_000);

afterAll(async () => {
  for (const person of Object.values(people)) await person.browser?.close().catch(() => undefined);
  if (stack) await stack.stop();
  await standIn?.close();
  if (efsRoot) rmSync(efsRoot, { recursive: true, force: true });
  await stopAll();
  process.stdout.write(`ecs-mode figures: ${JSON.stringify(figures)}\n`);
}, 60_000);

describe("ECS mode: apps and sandboxes as tasks, through the edge and the proxy", () => {
  test("GIVEN alice WHEN she logs in THEN her OpenHands runs as an ECS task (startedBy = her slug) and serves her page", async () => {
    const alice = people.alice;
    clock = Date.now();
    await logIn(alice);
    await alice.browser.page.waitForSelector("#sandbox-prefix", { timeout: 40_000 });
    lap("aliceLoginToOwnOpenHandsMs");
    // The spawner seeded her LLM settings in the app task once it answered.
    await alice.browser.page.waitForFunction((model) => document.querySelector("#llm-model")?.textContent === model, LLM_MODEL);
    await alice.browser.screenshot("own-openhands");
    alice.app = await appTaskOf(alice);
    const { task, ip, env } = alice.app;
    expect(task).toMatchObject({ startedBy: alice.user.slug, group: "apps", lastStatus: "RUNNING", desiredStatus: "RUNNING" });
    expect(task.taskDefinitionArn).toMatch(new RegExp(`:task-definition/oh-app-${alice.user.slug}:\\d+$`));
    expect(ip).toMatch(/^10\.240\.7\.\d+$/);
    // nginx sent her app-host requests to the task's address (access log: up=<upstream>).
    const access = readFileSync(join(stack.logDir, "nginx-access.log"), "utf8");
    expect(access).toContain(`"GET ${APP_HOST} /" 200`);
    expect(access).toMatch(
      new RegExp(`"GET ${APP_HOST.replace(/\./g, "\\.")} [^"]*" 200 \\d+ [\\d.]+ up=${ip.replace(/\./g, "\\.")}:3000`),
    );
    // The app task is configured for the spawner's remote sandbox API, with a key of her own.
    expect(env).toMatchObject({
      OH_SANDBOX_KIND: "RemoteSandboxServiceInjector",
      OH_SANDBOX_API_URL: `http://${HOST}:${SANDBOX_API_PORT}`,
      OH_WEB_URL: `http://${HOST}:${RELAY_PORT}`,
    });
    expect(env.OH_SANDBOX_API_KEY).toMatch(/.{32,}/);
    // Her database password, JWT secret and sandbox API key came from the secret the spawner wrote through Secrets
    // Manager, not from the definition (whoever may describe it would read them).
    const definition = (await ecs("DescribeTaskDefinition", { taskDefinition: task.taskDefinitionArn })).taskDefinition;
    const container = definition.containerDefinitions[0];
    const keys = ["DB_PASS", "JWT_SECRET", "OH_SANDBOX_API_KEY"];
    for (const name of keys) expect(container.environment.map((e: { name: string }) => e.name)).not.toContain(name);
    expect(container.secrets).toEqual(
      keys.map((name) => ({
        name,
        valueFrom: expect.stringMatching(new RegExp(`:secret:openhands/e2e/users/${alice.user.slug}/app-.{6}:${name}::$`)),
      })),
    );
    expect(JSON.stringify(definition)).not.toContain(env.JWT_SECRET!);
    expect(env.DB_PASS).toMatch(/.{16,}/);
    expect(env.JWT_SECRET).toMatch(/.{32,}/);
    // Her app runs with her own role (her events and app folder only), made by the spawner with the app boundary.
    expect(definition.taskRoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/oh-app/oh-app-openhands-e2e-${alice.user.slug}`);
    // Her app mounts her own access point, made through the EFS API, tagged with her slug.
    const efs = definition.volumes[0].efsVolumeConfiguration;
    const points = await fetch(`${standIn.endpoint}/2015-02-01/access-points?FileSystemId=${FILE_SYSTEM}`, {
      headers: { authorization: AUTHORIZATION },
    }).then((res) => res.json() as Promise<{ AccessPoints: Array<{ AccessPointId: string; RootDirectory: { Path: string } }> }>);
    const own = points.AccessPoints.find((point) => point.AccessPointId === efs.authorizationConfig.accessPointId);
    expect(own?.RootDirectory.Path).toBe(`/users/${alice.user.slug}/openhands`);
  });

  test("GIVEN bob WHEN he logs in THEN his OpenHands runs as a task of his own, at another address", async () => {
    const bob = people.bob;
    await logIn(bob);
    bob.app = await appTaskOf(bob);
    expect(bob.app.task).toMatchObject({ startedBy: bob.user.slug, group: "apps", lastStatus: "RUNNING" });
    expect(bob.app.task.taskArn).not.toBe(people.alice.app!.task.taskArn);
    expect(bob.app.ip).not.toBe(people.alice.app!.ip);
    expect(bob.app.env.OH_SANDBOX_API_KEY).not.toBe(people.alice.app!.env.OH_SANDBOX_API_KEY);
    // Once his app answers (health, settings seeded), the spawner answers the proxy with his task's address.
    const ensured = await eventually("bob's app ensured as running", async () => {
      const answer = await fetch(`${stack.spawnerUrl}/v1/users/${bob.user.slug}/ensure`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ sub: bob.user.sub, email: `${bob.user.login}@example.test` }),
      }).then((res) => res.json() as Promise<{ state: string; upstream: string }>);
      return answer.state === "starting" ? undefined : answer;
    });
    expect(ensured).toMatchObject({ state: "running", upstream: `http://${bob.app.ip}:3000` });
  });

  // Bob's task is at another address of the same subnet as alice's: the proxy routes each person to their own.
  test("GIVEN bob's app task WHEN his browser opens the app host THEN the proxy serves his own OpenHands from it", async () => {
    const reply = await people.bob.browser.page.goto(`${stack.appOrigin}/`);
    expect(reply?.status()).toBe(200);
    expect(await reply?.text()).toContain('id="sandbox-prefix"');
  });

  test(
    "WHEN each person's browser asks their OpenHands for a sandbox THEN the app starts it through the remote sandbox API (key " +
      "from its task's environment), and it runs as a FARGATE_SPOT task of theirs, with their own workspace",
    async () => {
      clock = Date.now();
      await Promise.all(
        (["alice", "bob"] as const).map(async (login) => {
          const person = people[login];
          const app = person.app!.env;
          // The browser calls its app (POST /api/v1/sandboxes, through the edge and the proxy); the app fake's
          // RemoteSandboxService makes the POST /start from its task's address, as OpenHands 1.11.0 does.
          const started = await fromApp(person, "/api/v1/sandboxes", { method: "POST" });
          expect(started).toMatchObject({ status: 200, body: { status: "STARTING", exposed_urls: null } });
          const id = started.body.id as string;
          const running = await eventually(`the sandbox of ${login} running, as the app sees it`, async () => {
            const answer = await fromApp(person, `/api/v1/sandboxes?id=${encodeURIComponent(id)}`);
            return answer.body?.[0]?.status === "RUNNING" ? answer.body[0] : undefined;
          });
          const runtime = (await sandboxApi(app, "GET", `/sessions/${id}`)).body as Runtime;
          expect(runtime).toMatchObject({ session_id: id, status: "running", session_api_key: running.session_api_key });
          // The app derives the four service URLs from the runtime's url (subdomain mode, _build_service_url): the sandbox
          // names `[vscode-|work-1-|work-2-]<p>-<slug>.<sandbox domain>`. The proxy rewrites them in the app's answer into
          // the public runtime hosts of route ports p to p+3, the only names a browser is given.
          const port = Number(/^(\d+)-/.exec(new URL(runtime.url).hostname)![1]);
          expect(running.exposed_urls.map((url: { name: string; url: string }) => [url.name, new URL(url.url).origin])).toEqual(
            ["AGENT_SERVER", "VSCODE", "WORKER_1", "WORKER_2"].map((service, offset) => [
              service,
              `https://${port + offset}-${person.user.slug}.${RUNTIME_DOMAIN}`,
            ]),
          );
          expect(JSON.stringify(running)).not.toContain(SANDBOX_DOMAIN);
          const [task] = await tasksStartedBy(`sbx/${person.user.slug}`);
          expect(task).toMatchObject({ group: `sbx:${id}`, capacityProviderName: "FARGATE_SPOT", lastStatus: "RUNNING" });
          person.sandbox = { id, runtime, task: task!, ip: privateIp(task!), container: task!.containers![0]!.runtimeId! };
        }),
      );
      lap("twoSandboxesStartToRunningMs");
      for (const person of Object.values(people)) {
        const { runtime, ip } = person.sandbox!;
        // Its url names the person: <route port>-<slug>.<sandbox domain>; the same route port and slug under the runtime
        // domain is the public host the spawner resolves to the task's address.
        expect(runtime.url).toMatch(new RegExp(`^http://\\d+-${person.user.slug}\\.${SANDBOX_DOMAIN.replace(/\./g, "\\.")}$`));
        const host = publicHost(runtime.url);
        const route = await fetch(`${stack.spawnerUrl}/v1/routes/resolve?host=${host}`).then((res) => res.json());
        expect(route).toMatchObject({ owner: person.user.slug, upstream: `http://${ip}:60000`, kind: "agent-server" });
        // Once RUNNING, OpenHands waits for the agent-server's /alive (wait_for_sandbox_running); then its API answers at the
        // task's address with the session key the sandbox API handed out.
        await eventually(`the agent-server of ${person.user.login} alive`, () =>
          fetch(`http://${ip}:60000/alive`).then(
            (res) => (res.status === 200 ? true : undefined),
            () => undefined,
          ),
        );
        const alive = await fetch(`http://${ip}:60000/api/conversations/search`, {
          headers: { "X-Session-API-Key": runtime.session_api_key! },
        });
        expect(alive.status).toBe(200);
      }
    },
  );

  test(
    "GIVEN the sandboxes running WHEN each app calls its sandbox's url (the proxy's internal listener) THEN its agent-server " +
      "answers with the session key; another person's key, no key, or a vscode- name do not pass",
    async () => {
      const [alice, bob] = [people.alice, people.bob];
      const [aliceApp, bobsApp] = [alice, bob].map((person) => person.app!.task.containers![0]!.runtimeId!) as [string, string];
      const aliceUrl = alice.sandbox!.runtime.url;
      const aliceName = new URL(aliceUrl).hostname;
      resolveSandboxNamesIn(aliceApp, [aliceName, `vscode-${aliceName}`, publicHost(aliceUrl)]);
      resolveSandboxNamesIn(bobsApp, [new URL(bob.sandbox!.runtime.url).hostname, aliceName]);
      const searchOf = (person: Person, key?: string): TaskCall => ({
        url: `${person.sandbox!.runtime.url}/api/conversations/search`,
        headers: key ? { "X-Session-API-Key": key } : {},
      });
      for (const person of [alice, bob]) {
        const { url, session_api_key: key } = person.sandbox!.runtime;
        const app = person === alice ? aliceApp : bobsApp;
        // OpenHands' wait_for_sandbox_running: GET <url>/alive, no key; then its API with the session key. No key: the
        // agent-server's API is not opened by the name alone.
        const answers = await callsFromTask(app, [{ url: `${url}/alive` }, searchOf(person, key!), searchOf(person)]);
        expect(answers.map((answer) => answer.status)).toEqual([200, 200, 401]);
      }
      // Bob's app with his own sandbox's key on alice's sandbox name: refused (the key is checked against alice's sandbox).
      const [crossed] = await callsFromTask(bobsApp, [searchOf(alice, bob.sandbox!.runtime.session_api_key!)]);
      expect(crossed!.status).toBe(404);
      // The names only browsers open (VS Code, the workers) and the public names are not served to apps.
      const vscode = new URL(aliceUrl);
      vscode.hostname = `vscode-${aliceName}`;
      const refused = await callsFromTask(aliceApp, [{ url: `${vscode.origin}/` }, { url: `http://${publicHost(aliceUrl)}/alive` }]);
      expect(refused.map((answer) => answer.status)).toEqual([404, 404]);
      // Each call went through nginx's internal listener to the sandbox task's agent-server.
      const access = readFileSync(join(stack.logDir, "nginx-access.log"), "utf8");
      expect(access).toContain(`"GET ${aliceName} /api/conversations/search`);
    },
  );

  test("GIVEN both sandboxes THEN each runs with its person's role and access point, the workspace theirs on EFS", async () => {
    for (const person of Object.values(people)) {
      const definition = (await ecs("DescribeTaskDefinition", { taskDefinition: person.sandbox!.task.taskDefinitionArn })).taskDefinition;
      expect(definition.taskRoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/oh-sandbox/oh-sbx-openhands-e2e-${person.user.slug}`);
      const efs = definition.volumes[0].efsVolumeConfiguration;
      expect(efs.authorizationConfig.iam).toBe("ENABLED");
      // A file the sandbox writes in /workspace lands in the person's workspace folder of the file system.
      const marker = `written by ${person.user.login}'s sandbox`;
      docker([
        "exec",
        person.sandbox!.container,
        "node",
        "-e",
        `require("fs").writeFileSync("/workspace/e2e-marker", ${JSON.stringify(marker)})`,
      ]);
      expect(readFileSync(join(efsRoot, "users", person.user.slug, "workspace", "e2e-marker"), "utf8")).toBe(marker);
    }
  });

  test("ATTACK: a task with bob's sandbox role mounting alice's workspace access point THEN IAM refuses the mount", async () => {
    const [alice, bob] = [people.alice, people.bob];
    const describe = async (arn: string) => (await ecs("DescribeTaskDefinition", { taskDefinition: arn })).taskDefinition;
    const [aliceDefinition, bobDefinition] = [
      await describe(alice.sandbox!.task.taskDefinitionArn),
      await describe(bob.sandbox!.task.taskDefinitionArn),
    ];
    const registered = await ecs("RegisterTaskDefinition", {
      family: "e2e-cross-mount",
      networkMode: "awsvpc",
      requiresCompatibilities: ["FARGATE"],
      cpu: "256",
      memory: "512",
      taskRoleArn: bobDefinition.taskRoleArn,
      executionRoleArn: EXECUTION_ROLE,
      volumes: aliceDefinition.volumes,
      containerDefinitions: [
        {
          name: "reader",
          image: STAND_IN.node,
          essential: true,
          command: ["node", "-e", "console.log(require('fs').readdirSync('/workspace'))"],
          mountPoints: [{ sourceVolume: aliceDefinition.volumes[0].name, containerPath: "/workspace" }],
        },
      ],
    });
    const run = await ecs("RunTask", {
      taskDefinition: registered.taskDefinition.taskDefinitionArn,
      launchType: "FARGATE",
      networkConfiguration: { awsvpcConfiguration: { subnets: [SUBNET.id], securityGroups: [SANDBOX_SG] } },
    });
    const stopped = await eventually("the cross-mount task stopped", async () => {
      const task = await describeTask(run.tasks[0].taskArn);
      return task.lastStatus === "STOPPED" ? task : undefined;
    });
    expect(stopped.stopCode).toBe("TaskFailedToStart");
    expect(stopped.stoppedReason).toMatch(/ResourceInitializationError/);
    expect(stopped.stoppedReason).toMatch(/elasticfilesystem:ClientMount|not authorized|access point/i);
  });

  test("GIVEN alice's sandbox WHEN bob tries to reach it THEN the edge and the proxy refuse him, and his key cannot see it", async () => {
    const [alice, bob] = [people.alice, people.bob];
    const aliceHost = publicHost(alice.sandbox!.runtime.url);
    // The edge: no runtime ticket for another person's runtime host.
    const minted = await bob.browser.page.goto(`${stack.appOrigin}/_auth/runtime?host=${aliceHost}&path=/`);
    expect(minted?.status()).toBe(403);
    await bob.browser.screenshot("refused-alice-runtime");
    // The proxy: bob's signed identity on alice's runtime host is refused before any lookup.
    expect(await proxyGet(aliceHost, "/api/conversations/search", signedIdentity(bob.user, aliceHost))).toBe(403);
    // The remote sandbox API: bob's key lists his own sandbox only, and alice's is unknown to it.
    const list = await sandboxApi(bob.app!.env, "GET", "/list");
    expect(list.status).toBe(200);
    expect(list.body.runtimes.map((runtime: Runtime) => runtime.session_id)).toEqual([bob.sandbox!.id]);
    expect(JSON.stringify(list.body)).not.toContain(alice.sandbox!.runtime.session_api_key!);
    expect((await sandboxApi(bob.app!.env, "GET", `/sessions/${alice.sandbox!.id}`)).status).toBe(404);
    expect((await sandboxApi(bob.app!.env, "GET", `/sessions/batch?ids=${alice.sandbox!.id}`)).body).toEqual([]);
    expect((await sandboxApi(bob.app!.env, "POST", "/stop", { runtime_id: alice.sandbox!.runtime.runtime_id })).status).toBe(404);
    expect((await tasksStartedBy(`sbx/${alice.user.slug}`)).map((task) => task.taskArn)).toEqual([alice.sandbox!.task.taskArn]);
    // Her own key lists hers.
    const own = await sandboxApi(alice.app!.env, "GET", "/list");
    expect(own.body.runtimes.map((runtime: Runtime) => runtime.session_id)).toEqual([alice.sandbox!.id]);
  });

  test("GIVEN alice's running sandbox WHEN her page calls its agent-server on her runtime host THEN it answers", async () => {
    const alice = people.alice;
    const url = `https://${publicHost(alice.sandbox!.runtime.url)}/server_info`;
    const answer = await alice.browser.page.evaluate(
      async ([target, key]) => {
        const res = await fetch(target!, { headers: { "X-Session-API-Key": key! } });
        return { status: res.status, body: await res.text() };
      },
      [url, alice.sandbox!.runtime.session_api_key],
    );
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('"sandbox"');
  });

  test("GIVEN alice's sandbox WHEN it calls back on its webhook base THEN the relay forwards it to her app (and only hers)", async () => {
    const [alice, bob] = [people.alice, people.bob];
    const sandboxEnv = await environmentOf(alice.sandbox!.container);
    // The spawner replaced the app's public webhook base by the relay on the host's private address.
    const base = sandboxEnv.OH_WEBHOOKS_0_BASE_URL!;
    expect(base).toBe(`http://${HOST}:${RELAY_PORT}/api/v1/webhooks`);
    const stats = async () => (await fetch(`${stack.spawnerUrl}/v1/stats`).then((res) => res.json())) as { relayForwarded: number };
    const before = (await stats()).relayForwarded;
    // Her app answers a token signed with her app's JWT secret: "no such provider", not "unauthorized".
    const secrets = await callFromTask(alice.sandbox!.container, `${base}/secrets`, {
      headers: { "X-Access-Token": accessToken(alice.app!.env.JWT_SECRET!) },
    });
    expect(secrets).toEqual({ status: 404, body: JSON.stringify({ detail: "No such provider" }) });
    // Her agent's MCP call with her session key reaches her app's MCP server.
    const mcp = await callFromTask(alice.sandbox!.container, `http://${HOST}:${RELAY_PORT}/mcp/mcp`, {
      method: "POST",
      headers: {
        "X-Session-API-Key": alice.sandbox!.runtime.session_api_key!,
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
    });
    expect(mcp.status).toBe(200);
    expect(mcp.body).toMatch(/"jsonrpc":"2.0","id":1,/);
    expect((await stats()).relayForwarded).toBe(before + 2);
    // Bob's sandbox presenting alice's session key is refused by the relay; his own app does not know her token.
    const stolen = await callFromTask(bob.sandbox!.container, `${base}/conversations`, {
      method: "POST",
      headers: { "X-Session-API-Key": alice.sandbox!.runtime.session_api_key!, "content-type": "application/json" },
      body: "{}",
    });
    expect(stolen.status).toBe(403);
    const foreign = await callFromTask(bob.sandbox!.container, `${base}/secrets`, {
      headers: { "X-Access-Token": accessToken(alice.app!.env.JWT_SECRET!) },
    });
    expect(foreign).toEqual({ status: 401, body: JSON.stringify({ detail: "Unauthorized" }) });
  });

  test(
    "GIVEN alice's app WHEN her browser starts a conversation THEN her OpenHands starts a sandbox through the remote API and " +
      "creates the conversation on its agent-server through the proxy's internal listener",
    async () => {
      const alice = people.alice;
      const app = alice.app!.task.containers![0]!.runtimeId!;
      // A person's sandbox n takes the route ports 40000 + 4n to + 3: her second is named 40004-<slug>. The private zone's
      // wildcard record resolves any such name; /etc/hosts has no wildcard, so the name is written in beforehand.
      const name = `40004-${alice.user.slug}.${SANDBOX_DOMAIN}`;
      resolveSandboxNamesIn(app, [name]);
      const started = await fromApp(alice, "/api/v1/app-conversations", { method: "POST", body: "{}" });
      expect(started).toMatchObject({ status: 200, body: { status: "WORKING" } });
      const task = await eventually(
        "alice's conversation ready",
        async () => {
          const [answer] = (await fromApp(alice, `/api/v1/app-conversations/start-tasks?ids=${started.body.id}`)).body;
          if (answer?.status === "ERROR") throw new Error(`the conversation failed to start: ${answer.detail}`);
          return answer?.status === "READY" ? answer : undefined;
        },
        60_000,
      );
      // The agent-server's URL the app used is the sandbox name; the browser is given its public runtime host.
      expect(task.agent_server_url).toBe(`https://40004-${alice.user.slug}.${RUNTIME_DOMAIN}`);
      const runtime = (await sandboxApi(alice.app!.env, "GET", `/sessions/${task.sandbox_id}`)).body as Runtime;
      expect(runtime).toMatchObject({ status: "running", url: `http://${name}` });
      // The app's calls went through nginx's internal listener: its /alive wait and the conversation's creation, whose
      // agent connected to the MCP server at the app's web_url: the relay, not the login-gated public app host.
      const access = readFileSync(join(stack.logDir, "nginx-access.log"), "utf8");
      expect(access).toContain(`"GET ${name} /alive`);
      expect(access).toContain(`"POST ${name} /api/conversations`);
      expect(await tasksStartedBy(`sbx/${alice.user.slug}`)).toHaveLength(2);
    },
  );

  test("GIVEN the spawner restarted with a 6 s idle limit WHEN nobody works THEN the cull stops every app and sandbox task", async () => {
    // Nobody works: the browsers close (alice's page polled her app through the proxy, which counts as activity).
    for (const person of Object.values(people)) await person.browser.close();
    await stack.restartSpawner(CULL_IDLE_MINUTES);
    const restartedAt = Date.now();
    // It keeps no state: the view comes back from ListTasks and DescribeTasks.
    const stats = (await fetch(`${stack.spawnerUrl}/v1/stats`).then((res) => res.json())) as { runningUsers: number; culls: number };
    expect(stats.runningUsers).toBe(2);
    const arns = Object.values(people).flatMap((person) => [person.app!.task.taskArn, person.sandbox!.task.taskArn]);
    const stopped = await eventually(
      "every app and sandbox task stopped",
      async () => {
        const tasks = (await ecs("DescribeTasks", { tasks: arns })).tasks as EcsTask[];
        return tasks.every((task) => task.lastStatus === "STOPPED") ? tasks : undefined;
      },
      45_000,
    );
    const culledAfterMs = Date.now() - restartedAt;
    figures.restartToAllTasksStoppedMs = culledAfterMs;
    expect(culledAfterMs).toBeGreaterThanOrEqual(CULL_IDLE_MINUTES * 60_000 - 1_000);
    for (const task of stopped) expect(task).toMatchObject({ desiredStatus: "STOPPED", stopCode: "UserInitiated" });
    expect(await tasksStartedBy(people.alice.user.slug)).toEqual([]);
    expect(await tasksStartedBy(`sbx/${people.alice.user.slug}`)).toEqual([]);
    // The spawner counts a cull once its stops and closes are answered: ECS shows STOPPED, and the app leaves the
    // running count, a moment before.
    const after = await eventually(
      "the spawner's view without running users, both culls counted",
      async () => {
        const now = (await fetch(`${stack.spawnerUrl}/v1/stats`).then((res) => res.json())) as { runningUsers: number; culls: number };
        return now.runningUsers === 0 && now.culls >= stats.culls + 2 ? now : undefined;
      },
      10_000,
    );
    expect(after).toMatchObject({ runningUsers: 0 });
  }, 90_000);
});
