/**
 * Users' sandboxes as Fargate (Spot) tasks, started by their OpenHands apps through the remote sandbox API the
 * spawner serves (sandbox-api.ts; docs/ecs.md, section 3). One task per running sandbox, `startedBy = sbx/<slug>`,
 * `group = sbx:<session id>`, from the user's task definition `oh-sbx-<slug>`. Fargate cannot pause: a paused
 * sandbox is a record (sandbox-records.ts) and no task; a resume runs a new task with a new session key. After a
 * spawner restart, running sandboxes come back from ListTasks + DescribeTasks, paused ones from their records.
 *
 * Routes: each sandbox gets four route ports `p..p+3` of its owner (agent-server, vscode, two workers); the app is
 * told `url = http://<p>-<slug>.<sandbox domain>` and `resolve(slug, p+i)` gives the task's address and port.
 */
import { randomBytes } from "node:crypto";
import {
  DescribeTasksCommand,
  type ECSClient,
  type LogConfiguration,
  RunTaskCommand,
  StopTaskCommand,
  type Task,
} from "@aws-sdk/client-ecs";
import { createHash } from "node:crypto";
import type { SandboxBackend, SandboxRoute, UserPlacement } from "../backends";
import type { Logger } from "../log";
import { isUserSlug } from "../slug";
import type { UserPaths } from "../user-directories";
import { currentTaskDefinition, type EcsPlacement, listAllTaskArns } from "./client";
import { type RuntimeObject, SandboxApiServer } from "./sandbox-api";
import { sandboxRuntimeUrl } from "./sandbox-hosts";
import { verifySandboxApiKey } from "./sandbox-api-key";
import { EcsSandboxRecords, type EcsSandboxRecord } from "./sandbox-records";
import { SandboxApiError, type StartRequest } from "./sandbox-requests";
import {
  fargateSizeProblem,
  missingTaskView,
  overrideEnvironmentOf,
  ROUTE_PORTS_PER_SANDBOX,
  SANDBOX_CONTAINER,
  SANDBOX_PORTS,
  type RuntimeStatus,
  SESSION_KEY_VARIABLE,
  sandboxGroup,
  sandboxStartedBy,
  sandboxTaskDefinition,
  type SandboxTaskView,
  SPEC_HASH_LABEL,
  sessionIdOfGroup,
  taskIdOf,
  taskView,
  WEBHOOK_BASE_VARIABLE,
} from "./sandbox-task";

/** A user's own IAM and EFS resources for sandboxes (made elsewhere: IAM role per user, EFS access point per user). */
export interface SandboxUserResources {
  workspaceAccessPointId: string;
  fileSystemId: string;
  sandboxTaskRoleArn: string;
}

export interface EcsSandboxBackendOptions {
  readonly ecs: ECSClient;
  /** Cluster, subnets, the sandbox security group and the execution role. */
  readonly placement: EcsPlacement;
  /** The spawner's secret the per-user `OH_SANDBOX_API_KEY`s derive from (sandbox-api-key.ts). */
  readonly apiKeySecret: string;
  /** Where the remote sandbox API listens (the address users' apps reach; port 0: any). */
  readonly listen: { readonly host: string; readonly port: number };
  /** Internal name the apps resolve to the proxy: runtime URLs are `http://<route port>-<slug>.<sandboxDomain>`. */
  readonly sandboxDomain: string;
  /** The one image sandboxes may run (the pinned agent-server). */
  readonly image: string;
  /** The user's workspace access point and sandbox task role. */
  readonly userResources: (slug: string) => Promise<SandboxUserResources>;
  /** Starting and running sandboxes per user (at least 2: OpenHands keeps `max_num_sandboxes - 1` before a start). */
  readonly sandboxesPerUser: number;
  /** Sandboxes a user may keep, paused ones included (each holds four route ports and a record). @default 50 */
  readonly recordsPerUser?: number;
  /** Port the webhook relay listens on at the placement's callback address. */
  readonly relayPort: number;
  /**
   * The origins a sandbox's agent-server admits (`OH_ALLOW_CORS_ORIGINS_n`): the app host's, whatever the app asks
   * (OpenHands sends its web_url, which in ECS mode is the relay on the host, not the origin browsers call from).
   */
  readonly corsOrigins: readonly string[];
  /** Fargate task size. @default { cpu: "1024", memory: "4096" } */
  readonly taskSize?: { readonly cpu: string; readonly memory: string };
  /** First route port of every user; sandbox n of a user takes `routePortBase + 4n .. + 3`. @default 40000 */
  readonly routePortBase?: number;
  /** Seconds between SIGTERM and SIGKILL when a sandbox stops (Fargate: 2-120). @default 10 */
  readonly stopTimeoutSeconds?: number;
  /** How often live sandboxes are described, so routes follow tasks the API is not asked about. @default 5000 */
  readonly refreshIntervalMs?: number;
  /** A caller's reads describe its tasks again once this old. @default 1000 */
  readonly freshnessMs?: number;
  /** @default "FARGATE_SPOT" */
  readonly capacityProvider?: "FARGATE" | "FARGATE_SPOT";
  /** Where the sandbox container's output goes (client.ts `awsLogs`); absent: nowhere. */
  readonly logConfiguration?: LogConfiguration;
  readonly log: Logger;
}

interface Sandbox {
  record: EcsSandboxRecord;
  /** The last description of the record's task; absent right after RunTask. */
  task?: SandboxTaskView;
  /** The session key of the live task (from our RunTask, or from the task's overrides after a restart). */
  sessionKey?: string;
}

interface UserSandboxes {
  slug: string;
  open: boolean;
  placement?: UserPlacement;
  records?: EcsSandboxRecords;
  sandboxes: Map<string, Sandbox>;
  /** Calls of one user run one at a time (limit checks, port allocation and records stay consistent). */
  queue: Promise<unknown>;
  refreshedAt: number;
}

const DEFAULT_TASK_SIZE = { cpu: "1024", memory: "4096" };
const LIVE: ReadonlySet<RuntimeStatus> = new Set(["starting", "running"]);

export class EcsSandboxBackend implements SandboxBackend {
  private readonly users = new Map<string, UserSandboxes>();
  private readonly definitions = new Map<string, { hash: string; arn: string }>();
  private readonly api: SandboxApiServer;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private apiUrl: string | undefined;
  private refreshing = false;

  constructor(private readonly options: EcsSandboxBackendOptions) {
    if (!Number.isInteger(options.sandboxesPerUser) || options.sandboxesPerUser < 2) {
      throw new Error(
        `EcsSandboxBackend: sandboxesPerUser ${options.sandboxesPerUser} is too small ` +
          "(2 at least: OpenHands pauses down to one less before a start)",
      );
    }
    const size = options.taskSize ?? DEFAULT_TASK_SIZE;
    const sizeProblem = fargateSizeProblem(size.cpu, size.memory);
    if (sizeProblem) throw new Error(`EcsSandboxBackend: taskSize: ${sizeProblem}`);
    this.log = options.log.child({ component: "ecs-sandboxes" });
    this.api = new SandboxApiServer(
      {
        userOf: (key) => this.userOf(key),
        start: (slug, request) => this.serial(slug, () => this.start(slug, request)),
        get: async (slug, id) => {
          await this.refresh(slug);
          const sandbox = this.user(slug).sandboxes.get(id);
          return sandbox && this.runtime(slug, sandbox);
        },
        batch: async (slug, ids) => {
          await this.refresh(slug);
          const user = this.user(slug);
          return ids.flatMap((id) => {
            const sandbox = user.sandboxes.get(id);
            return sandbox ? [this.runtime(slug, sandbox)] : [];
          });
        },
        list: async (slug) => {
          await this.refresh(slug);
          return [...this.user(slug).sandboxes.values()].filter((s) => LIVE.has(this.statusOf(s))).map((s) => this.runtime(slug, s));
        },
        pause: (slug, runtimeId) => this.serial(slug, () => this.pause(slug, runtimeId)),
        resume: (slug, runtimeId) => this.serial(slug, () => this.resume(slug, runtimeId)),
        stop: (slug, runtimeId) => this.serial(slug, () => this.stop(slug, runtimeId)),
      },
      this.log,
    );
  }

  /** Starts the remote sandbox API and the periodic refresh; returns the API's base URL (`OH_SANDBOX_API_URL`). */
  async listen(): Promise<string> {
    this.apiUrl ??= await this.api.listen(this.options.listen.host, this.options.listen.port);
    this.timer ??= setInterval(() => void this.refreshAll(), this.options.refreshIntervalMs ?? 5_000);
    this.timer.unref();
    return this.apiUrl;
  }

  /** Stops the API and the refresh; tasks keep running (a restarted spawner finds them). */
  async shutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.api.close();
    this.apiUrl = undefined;
  }

  get url(): string | undefined {
    return this.apiUrl;
  }

  // ---- SandboxBackend ----

  async open(slug: string, placement: UserPlacement, paths: UserPaths): Promise<void> {
    const user = this.users.get(slug) ?? this.newUser(slug);
    user.placement = placement;
    user.records = new EcsSandboxRecords(paths.sandboxRecords);
    this.users.set(slug, user);
    await this.serial(slug, () => this.restore(user));
    user.open = true;
  }

  async close(slug: string): Promise<void> {
    const user = this.users.get(slug);
    if (!user) return;
    user.open = false;
    // Tasks still running stay known (owners() reports them, so the orphan sweep stops them); otherwise forget the user.
    if (![...user.sandboxes.values()].some((s) => LIVE.has(this.statusOf(s)))) this.users.delete(slug);
  }

  /** Stops the user's running sandboxes; their records turn paused, so the app can resume them later. */
  async stopAll(slug: string): Promise<number> {
    if (!this.users.has(slug)) return 0;
    return this.serial(slug, async () => {
      let stopped = 0;
      for (const sandbox of this.user(slug).sandboxes.values()) {
        if (sandbox.record.state !== "live" || !LIVE.has(this.statusOf(sandbox))) continue;
        await this.stopTask(sandbox.record.taskId, "sandboxes of the user stopped by the spawner");
        this.setRecord(slug, sandbox, { state: "paused" });
        stopped += 1;
      }
      return stopped;
    });
  }

  resolve(owner: string, hostPort: number): SandboxRoute | undefined {
    const user = this.users.get(owner);
    if (!user) return undefined;
    for (const sandbox of user.sandboxes.values()) {
      const offset = hostPort - sandbox.record.routePort;
      if (offset < 0 || offset >= ROUTE_PORTS_PER_SANDBOX) continue;
      const task = sandbox.task;
      if (sandbox.record.state !== "live" || task?.status !== "running" || !task.privateIp) return undefined;
      const target = SANDBOX_PORTS[offset]!;
      return {
        owner,
        upstream: `http://${task.privateIp}:${target.port}`,
        kind: target.kind,
        sessionKeySha256: sandbox.sessionKey ? createHash("sha256").update(sandbox.sessionKey).digest("hex") : null,
      };
    }
    return undefined;
  }

  runningCount(): number {
    let count = 0;
    for (const user of this.users.values()) for (const sandbox of user.sandboxes.values()) if (LIVE.has(this.statusOf(sandbox))) count += 1;
    return count;
  }

  owners(): string[] {
    return [...this.users.values()]
      .filter((user) => [...user.sandboxes.values()].some((s) => LIVE.has(this.statusOf(s))))
      .map((u) => u.slug);
  }

  isOpen(slug: string): boolean {
    return this.users.get(slug)?.open === true;
  }

  /**
   * After a spawner start: finds the sandbox tasks of users not opened (yet), so that owners() reports them and the
   * orphan sweep stops them (their records then turn paused). Their keys stay refused until open(). Returns the
   * number of users found.
   */
  async discover(pathsFor: (slug: string) => UserPaths): Promise<number> {
    const { ecs, placement } = this.options;
    const arns = await listAllTaskArns(ecs, { cluster: placement.cluster });
    const slugs = new Set<string>();
    for (const task of (await this.describe(arns.map(taskIdOf))).values()) {
      const owner = /^sbx\/([a-z2-7]{16})$/.exec(task?.startedBy ?? "")?.[1];
      if (owner && isUserSlug(owner) && !this.users.has(owner)) slugs.add(owner);
    }
    for (const slug of slugs) {
      const user = this.newUser(slug);
      user.records = new EcsSandboxRecords(pathsFor(slug).sandboxRecords);
      this.users.set(slug, user);
      await this.serial(slug, () => this.restore(user));
    }
    return slugs.size;
  }

  // ---- the API's calls ----

  private userOf(key: string): string | undefined {
    const slug = verifySandboxApiKey(this.options.apiKeySecret, key);
    // A valid key of a user whose app is not running here opens nothing.
    return slug && this.users.get(slug)?.open ? slug : undefined;
  }

  private async start(slug: string, request: StartRequest): Promise<RuntimeObject> {
    const user = this.user(slug);
    // Arbitrary images: sandboxes run the pinned agent-server only.
    if (request.image !== this.options.image) {
      throw new SandboxApiError(403, `image ${JSON.stringify(request.image.slice(0, 200))} is not allowed (only ${this.options.image})`);
    }
    if (user.sandboxes.has(request.sessionId)) {
      throw new SandboxApiError(409, `session ${request.sessionId} exists: resume it (POST /resume) or stop it first`);
    }
    await this.refresh(slug, 0);
    this.checkLimit(user);
    // Disk and route-port exhaustion: paused sandboxes are bounded too.
    const most = this.options.recordsPerUser ?? 50;
    if (user.sandboxes.size >= most) {
      throw new SandboxApiError(429, `sandbox limit reached: ${most} sandboxes kept (running and paused); delete old conversations first`);
    }
    const now = new Date().toISOString();
    const record: EcsSandboxRecord = {
      version: 1,
      sessionId: request.sessionId,
      taskId: "",
      state: "live",
      routePort: this.freeRoutePort(user),
      image: request.image,
      ...(request.command ? { command: request.command } : {}),
      workingDir: request.workingDir,
      environment: withoutOurVariables(request.environment),
      createdAt: now,
      updatedAt: now,
    };
    const sandbox: Sandbox = { record };
    await this.runSandboxTask(user, sandbox);
    user.sandboxes.set(record.sessionId, sandbox);
    this.setRecord(slug, sandbox, {});
    this.log.info("sandbox started", { slug, sessionId: record.sessionId, taskId: record.taskId });
    return this.runtime(slug, sandbox);
  }

  private async pause(slug: string, runtimeId: string): Promise<RuntimeObject | undefined> {
    const sandbox = this.byRuntimeId(slug, runtimeId);
    if (!sandbox) return undefined;
    if (sandbox.record.state === "live") {
      await this.stopTask(sandbox.record.taskId, "sandbox paused by OpenHands");
      this.setRecord(slug, sandbox, { state: "paused" });
      this.log.info("sandbox paused (task stopped)", { slug, sessionId: sandbox.record.sessionId, taskId: runtimeId });
    }
    return this.runtime(slug, sandbox);
  }

  private async resume(slug: string, runtimeId: string): Promise<RuntimeObject | undefined> {
    const user = this.user(slug);
    const sandbox = this.byRuntimeId(slug, runtimeId);
    if (!sandbox) return undefined;
    await this.refresh(slug, 0);
    if (sandbox.record.state === "live" && LIVE.has(this.statusOf(sandbox))) return this.runtime(slug, sandbox);
    this.checkLimit(user);
    // A new task with a new session key: a key leaked while the sandbox ran opens nothing after the resume.
    await this.runSandboxTask(user, sandbox);
    this.setRecord(slug, sandbox, { state: "live" });
    this.log.info("sandbox resumed (new task)", { slug, sessionId: sandbox.record.sessionId, taskId: sandbox.record.taskId });
    return this.runtime(slug, sandbox);
  }

  private async stop(slug: string, runtimeId: string): Promise<RuntimeObject | undefined> {
    const user = this.user(slug);
    const sandbox = this.byRuntimeId(slug, runtimeId);
    if (!sandbox) return undefined;
    if (sandbox.record.state === "live") await this.stopTask(sandbox.record.taskId, "sandbox deleted by OpenHands");
    user.sandboxes.delete(sandbox.record.sessionId);
    user.records?.remove(sandbox.record.sessionId);
    this.log.info("sandbox stopped and dropped", { slug, sessionId: sandbox.record.sessionId, taskId: runtimeId });
    return { ...this.runtime(slug, sandbox), status: "stopped", session_api_key: null };
  }

  // ---- tasks ----

  /** Registers (or reuses) the definition and runs a task for the sandbox with a new session key. */
  private async runSandboxTask(user: UserSandboxes, sandbox: Sandbox): Promise<void> {
    const { placement, ecs } = this.options;
    const record = sandbox.record;
    const sessionKey = randomBytes(32).toString("base64url");
    const environment = {
      ...record.environment,
      ...Object.fromEntries(this.options.corsOrigins.map((origin, index) => [`OH_ALLOW_CORS_ORIGINS_${index}`, origin])),
      [SESSION_KEY_VARIABLE]: sessionKey,
      [WEBHOOK_BASE_VARIABLE]: this.webhookBase(user),
    };
    const overrides = {
      containerOverrides: [{ name: SANDBOX_CONTAINER, environment: Object.entries(environment).map(([name, value]) => ({ name, value })) }],
    };
    // ECS refuses overrides longer than 8192 characters: say so in the app's terms rather than pass ECS's error on.
    if (JSON.stringify(overrides).length > 8192) {
      throw new SandboxApiError(400, "environment: too large for an ECS task override (8192 characters with the session key)");
    }
    // After the checks: a refused start registers no definition revision.
    const definitionArn = await this.definitionFor(user.slug, record);
    let answer: { tasks?: Task[]; failures?: Array<{ reason?: string; detail?: string }> };
    try {
      answer = await ecs.send(
        new RunTaskCommand({
          cluster: placement.cluster,
          taskDefinition: definitionArn,
          count: 1,
          startedBy: sandboxStartedBy(user.slug),
          group: sandboxGroup(record.sessionId),
          capacityProviderStrategy: [{ capacityProvider: this.options.capacityProvider ?? "FARGATE_SPOT", weight: 1 }],
          networkConfiguration: {
            awsvpcConfiguration: {
              subnets: placement.subnets,
              securityGroups: [placement.sandboxSecurityGroup],
              assignPublicIp: "DISABLED",
            },
          },
          overrides,
        }),
      );
    } catch (error) {
      throw new SandboxApiError(502, `ECS RunTask failed: ${ecsErrorText(error)}`);
    }
    const task = answer.tasks?.[0];
    if (!task?.taskArn) {
      const failure = answer.failures?.[0];
      throw new SandboxApiError(
        503,
        `ECS could not run the sandbox: ${failure?.reason ?? "no task"}${failure?.detail ? ` (${failure.detail})` : ""}`,
      );
    }
    record.taskId = taskIdOf(task.taskArn);
    sandbox.task = taskView(task);
    sandbox.sessionKey = sessionKey;
  }

  private async definitionFor(slug: string, record: EcsSandboxRecord): Promise<string> {
    const resources = await this.options.userResources(slug);
    const size = this.options.taskSize ?? DEFAULT_TASK_SIZE;
    const { input, hash } = sandboxTaskDefinition({
      slug,
      image: record.image,
      ...(record.command ? { command: record.command } : {}),
      workingDir: record.workingDir,
      cpu: size.cpu,
      memory: size.memory,
      ...resources,
      executionRoleArn: this.options.placement.executionRoleArn,
      stopTimeoutSeconds: this.options.stopTimeoutSeconds ?? 10,
      ...(this.options.logConfiguration ? { logConfiguration: this.options.logConfiguration } : {}),
    });
    const cached = this.definitions.get(slug);
    if (cached?.hash === hash) return cached.arn;
    try {
      const marker = { container: SANDBOX_CONTAINER, label: SPEC_HASH_LABEL, hash };
      const { arn } = await currentTaskDefinition(this.options.ecs, input, marker, this.log.child({ slug }));
      this.definitions.set(slug, { hash, arn });
      return arn;
    } catch (error) {
      throw new SandboxApiError(502, (error as Error).message);
    }
  }

  /** StopTask; a task ECS no longer knows is as good as stopped. */
  private async stopTask(taskId: string, reason: string): Promise<void> {
    if (!taskId) return;
    try {
      await this.options.ecs.send(new StopTaskCommand({ cluster: this.options.placement.cluster, task: taskId, reason }));
    } catch (error) {
      if (ecsErrorName(error) === "InvalidParameterException") return;
      throw new SandboxApiError(502, `ECS StopTask failed: ${ecsErrorText(error)}`);
    }
  }

  private async describe(taskIds: string[]): Promise<Map<string, Task | undefined>> {
    const found = new Map<string, Task | undefined>();
    for (let at = 0; at < taskIds.length; at += 100) {
      const batch = taskIds.slice(at, at + 100);
      const answer = await this.options.ecs.send(new DescribeTasksCommand({ cluster: this.options.placement.cluster, tasks: batch }));
      for (const id of batch) found.set(id, undefined);
      for (const task of answer.tasks ?? []) if (task.taskArn) found.set(taskIdOf(task.taskArn), task);
    }
    return found;
  }

  /** Describes the user's live sandboxes' tasks when the last look is older than `maxAgeMs`. */
  private async refresh(slug: string, maxAgeMs = this.options.freshnessMs ?? 1_000): Promise<void> {
    const user = this.users.get(slug);
    if (!user || Date.now() - user.refreshedAt < maxAgeMs) return;
    const live = [...user.sandboxes.values()].filter((s) => s.record.state === "live" && s.record.taskId);
    if (live.length === 0) return;
    let described: Map<string, Task | undefined>;
    try {
      described = await this.describe(live.map((s) => s.record.taskId));
    } catch (error) {
      throw new SandboxApiError(502, `ECS DescribeTasks failed: ${ecsErrorText(error)}`);
    }
    for (const sandbox of live) {
      const task = described.get(sandbox.record.taskId);
      sandbox.task = task ? taskView(task) : missingTaskView(sandbox.record.taskId);
      if (!LIVE.has(sandbox.task.status)) sandbox.sessionKey = undefined;
    }
    user.refreshedAt = Date.now();
  }

  private async refreshAll(): Promise<void> {
    // One round at a time: a slow ECS does not pile rounds up.
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      for (const slug of this.owners()) {
        try {
          await this.refresh(slug, 0);
        } catch (error) {
          this.log.warn("sandbox refresh failed", { slug, error: (error as Error).message });
        }
      }
    } finally {
      this.refreshing = false;
    }
  }

  /**
   * The user's sandboxes after a spawner (re)start: records from the user's folder, running tasks from
   * ListTasks(startedBy) + DescribeTasks (the session key from the task's overrides).
   */
  private async restore(user: UserSandboxes): Promise<void> {
    const { ecs, placement } = this.options;
    for (const record of user.records?.list() ?? []) {
      if (!user.sandboxes.has(record.sessionId)) user.sandboxes.set(record.sessionId, { record });
    }
    const arns = await listAllTaskArns(ecs, { cluster: placement.cluster, startedBy: sandboxStartedBy(user.slug) });
    const running = arns.length ? await this.describe(arns.map(taskIdOf)) : new Map<string, Task | undefined>();
    const seen = new Set<string>();
    for (const task of running.values()) {
      const sessionId = sessionIdOfGroup(task?.group);
      if (!task || !sessionId || !task.taskArn) continue;
      const view = taskView(task);
      if (!LIVE.has(view.status)) continue;
      const known = user.sandboxes.get(sessionId);
      // A pause that stopped the spawner halfway (the record says paused), or a second task for one sandbox: it goes.
      if (known?.record.state === "paused" || seen.has(sessionId)) {
        await this.stopTask(view.taskId, "not the sandbox's current task").catch(() => undefined);
        continue;
      }
      seen.add(sessionId);
      const sandbox: Sandbox = known ?? { record: this.adoptedRecord(user, sessionId, task, view) };
      sandbox.record.taskId = view.taskId;
      sandbox.task = view;
      sandbox.sessionKey = view.sessionKey;
      user.sandboxes.set(sessionId, sandbox);
      if (!known) this.setRecord(user.slug, sandbox, {});
    }
    // Live records whose task was not among the running ones: describe them for their end (error, stopped, gone).
    const stale = [...user.sandboxes.values()].filter((s) => s.record.state === "live" && !seen.has(s.record.sessionId) && s.record.taskId);
    if (stale.length) {
      const ended = await this.describe(stale.map((s) => s.record.taskId));
      for (const sandbox of stale) {
        const task = ended.get(sandbox.record.taskId);
        sandbox.task = task ? taskView(task) : missingTaskView(sandbox.record.taskId);
        if (!LIVE.has(sandbox.task.status)) sandbox.sessionKey = undefined;
        else sandbox.sessionKey = sandbox.task.sessionKey;
      }
    }
    user.refreshedAt = Date.now();
    this.log.info("sandboxes restored", { slug: user.slug, records: user.sandboxes.size, runningTasks: running.size });
  }

  /** A running task with no record (its record was lost): rebuilt from the task itself. */
  private adoptedRecord(user: UserSandboxes, sessionId: string, task: Task, view: SandboxTaskView): EcsSandboxRecord {
    const now = new Date().toISOString();
    return {
      version: 1,
      sessionId,
      taskId: view.taskId,
      state: "live",
      routePort: this.freeRoutePort(user),
      image: task.containers?.find((c) => c.name === SANDBOX_CONTAINER)?.image ?? this.options.image,
      workingDir: "/workspace",
      environment: withoutOurVariables(overrideEnvironmentOf(task)),
      createdAt: task.createdAt instanceof Date ? task.createdAt.toISOString() : now,
      updatedAt: now,
    };
  }

  // ---- helpers ----

  private newUser(slug: string): UserSandboxes {
    return { slug, open: false, sandboxes: new Map(), queue: Promise.resolve(), refreshedAt: 0 };
  }

  private user(slug: string): UserSandboxes {
    const user = this.users.get(slug);
    if (!user) throw new SandboxApiError(401, "the user's sandboxes are not open");
    return user;
  }

  private serial<T>(slug: string, work: () => Promise<T>): Promise<T> {
    const user = this.users.get(slug) ?? this.newUser(slug);
    if (!this.users.has(slug)) this.users.set(slug, user);
    const next = user.queue.then(work, work);
    user.queue = next.catch(() => undefined);
    return next;
  }

  private statusOf(sandbox: Sandbox): RuntimeStatus {
    if (sandbox.record.state === "paused") return "paused";
    return sandbox.task?.status ?? "starting";
  }

  private checkLimit(user: UserSandboxes): void {
    const live = [...user.sandboxes.values()].filter((s) => s.record.state === "live" && LIVE.has(this.statusOf(s))).length;
    if (live >= this.options.sandboxesPerUser) {
      throw new SandboxApiError(
        429,
        `sandbox limit reached: ${live} of ${this.options.sandboxesPerUser} sandboxes are running for this user; ` +
          "pause or delete a conversation first",
      );
    }
  }

  private byRuntimeId(slug: string, runtimeId: string): Sandbox | undefined {
    for (const sandbox of this.user(slug).sandboxes.values()) if (sandbox.record.taskId === runtimeId) return sandbox;
    return undefined;
  }

  private freeRoutePort(user: UserSandboxes): number {
    const base = this.options.routePortBase ?? 40_000;
    const taken = new Set([...user.sandboxes.values()].map((s) => s.record.routePort));
    for (let port = base; port + ROUTE_PORTS_PER_SANDBOX - 1 <= 65535; port += ROUTE_PORTS_PER_SANDBOX) {
      if (!taken.has(port)) return port;
    }
    throw new SandboxApiError(429, "no free route port for another sandbox of this user");
  }

  private setRecord(slug: string, sandbox: Sandbox, change: Partial<EcsSandboxRecord>): void {
    Object.assign(sandbox.record, change, { updatedAt: new Date().toISOString() });
    if (change.state === "paused") {
      sandbox.sessionKey = undefined;
      sandbox.task = undefined;
    }
    try {
      this.users.get(slug)?.records?.save(sandbox.record);
    } catch (error) {
      this.log.error("sandbox record not saved", { slug, sessionId: sandbox.record.sessionId, error: (error as Error).message });
    }
  }

  /** Callbacks go to the user's relay on the host, never through the public edge. */
  private webhookBase(user: UserSandboxes): string {
    const address = user.placement?.callbackAddress;
    if (!address) throw new SandboxApiError(503, "the user's relay address is not known yet");
    const host = /:\d+$/.test(address) ? address : `${address}:${this.options.relayPort}`;
    return `http://${host}/api/v1/webhooks`;
  }

  private runtime(slug: string, sandbox: Sandbox): RuntimeObject {
    const status = this.statusOf(sandbox);
    return {
      session_id: sandbox.record.sessionId,
      runtime_id: sandbox.record.taskId,
      status,
      session_api_key: LIVE.has(status) ? (sandbox.sessionKey ?? null) : null,
      url: sandboxRuntimeUrl(sandbox.record.routePort, slug, this.options.sandboxDomain),
      pod_status: sandbox.record.state === "paused" ? "paused" : (sandbox.task?.lastStatus ?? "PROVISIONING").toLowerCase(),
    };
  }
}

/** The app's environment without what the spawner sets: the session key (ours, per task), webhook targets and CORS. */
function withoutOurVariables(environment: Record<string, string>): Record<string, string> {
  const kept: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(environment)) {
    // Key fixation: the session key is always ours; callbacks elsewhere than the user's relay are dropped.
    if (/^OH_SESSION_API_KEYS_\d+$/.test(name) || /^OH_WEBHOOKS_\d+_BASE_URL$/.test(name)) continue;
    // Cross-origin reads of the agent-server: only the spawner's origins are admitted, never one an app adds.
    if (/^OH_ALLOW_CORS_ORIGINS_\d+$/.test(name)) continue;
    kept[name] = value;
  }
  return kept;
}

function ecsErrorName(error: unknown): string | undefined {
  return (error as { name?: string } | undefined)?.name;
}

function ecsErrorText(error: unknown): string {
  const name = ecsErrorName(error) ?? "Error";
  return `${name}: ${(error as Error).message ?? String(error)}`;
}
