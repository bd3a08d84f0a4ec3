/**
 * The spawner's core: ensure (start on demand), activity, culling, capacity, route resolution and
 * statistics, over the AppBackend and SandboxBackend interfaces. It keeps no state that Docker cannot
 * give back: a restart rebuilds everything through reconcile().
 */
import type { MemoryBudget } from "./memory";
import { seedLlmSettings, waitForHealth } from "./app-client";
import type { AppBackend, SandboxBackend, SandboxRoute } from "./backends";
import type { UserDatabase } from "./database";
import type { Logger } from "./log";
import type { WebhookRelay } from "./relay";
import { isUserSlug } from "./slug";
import { StartProgress, type StartReport, type StartStage, startRequestId } from "./start-progress";
import type { UserPaths } from "./user-directories";

/** What a capacity refusal was about, for the page a person sees (the message is for the logs and API clients). */
export interface CapacityDetails {
  reason: "apps" | "memory";
  running?: number;
  starting?: number;
  max?: number;
}

export class CapacityError extends Error {
  override name = "CapacityError";
  constructor(
    message: string,
    readonly details?: CapacityDetails,
  ) {
    super(message);
  }
}
export class BadRequestError extends Error {
  override name = "BadRequestError";
}
/** A start that failed; the message names the step that failed and why (shown to the user by the proxy). */
export class StartFailedError extends Error {
  override name = "StartFailedError";
}

/** At most this many users' activity times are kept (a flood of reports cannot grow the map without end). */
const MAX_ACTIVITY_ENTRIES = 10_000;

/** Runs one step of a start; its failure names the step. */
async function runStep<T>(name: string, work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof StartFailedError || error instanceof CapacityError) throw error;
    throw new StartFailedError(`${name} failed: ${(error as Error).message}`);
  }
}

/** "42 s" below a minute, "3 min" above. */
export function idleText(ms: number): string {
  return ms < 60_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}

export interface SpawnerOptions {
  apps: AppBackend;
  sandboxes: SandboxBackend;
  databases: { ensure(slug: string): Promise<UserDatabase>; describe(slug: string): UserDatabase };
  directories: { ensure(slug: string): UserPaths };
  relay: WebhookRelay;
  log: Logger;
  runtimeDomain: string;
  maxRunningApps: number;
  /** Memory admission (src/memory.ts); absent: only maxRunningApps applies. */
  memory?: MemoryBudget;
  idleMs: number;
  healthTimeoutMs: number;
  healthIntervalMs: number;
  /** The gateway's model and URL for new settings, and each person's own gateway key (never the master key). */
  llm: { model: string; baseUrl: string; keyFor(slug: string): string };
  now?: () => number;
}

export interface SpawnerStats {
  runningUsers: number;
  startingUsers: number;
  runningSandboxes: number;
  starts: number;
  culls: number;
  refusals: number;
  failures: number;
  settingsSeeded: number;
  relayForwarded: number;
  relayRefused: number;
  uptimeSeconds: number;
}

export class Spawner {
  private readonly starting = new Map<string, Promise<string>>();
  /** Users whose start passed the capacity check and has not ended (what the capacity check counts as starting). */
  private readonly admitted = new Set<string>();
  private readonly healthy = new Set<string>();
  private readonly activity = new Map<string, number>();
  /** The last failed start of a user not yet told to anyone (it went on after a 202): the next ensure answers it. */
  private readonly unreportedFailures = new Map<string, string>();
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Each user's start: stage, request id, failure; and how long recent starts took (the starting page). */
  private readonly progress: StartProgress;
  private readonly startedAt: number;
  private counters = { starts: 0, culls: 0, refusals: 0, failures: 0, settingsSeeded: 0 };
  private readonly now: () => number;
  private readonly runtimeHost: RegExp;

  constructor(private readonly options: SpawnerOptions) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.progress = new StartProgress(this.now);
    const domain = options.runtimeDomain.replace(/[.]/g, "\\.");
    this.runtimeHost = new RegExp(`^([1-9][0-9]{0,4})-([a-z2-7]{16})\\.${domain}$`);
  }

  /** Serialises starts and culls of one user. */
  private withUserLock<T>(slug: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(slug) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    this.locks.set(slug, settled);
    void settled.then(() => {
      if (this.locks.get(slug) === settled) this.locks.delete(slug);
    });
    return next;
  }

  /** The running app's upstream, when it is running and has been seen healthy. */
  runningUpstream(slug: string): string | undefined {
    if (!this.healthy.has(slug)) return undefined;
    const app = this.options.apps.get(slug);
    return app?.state === "running" ? app.upstream : undefined;
  }

  /**
   * Starts the user's app if needed; resolves with its upstream once healthy. Concurrent calls for one
   * user share one start (N parallel ensures start one container).
   */
  ensure(slug: string, requestId?: string): Promise<string> {
    // Injection into names, paths and SQL identifiers: only a well-formed slug goes further.
    if (!isUserSlug(slug))
      return Promise.reject(
        new BadRequestError(`malformed user slug ${JSON.stringify(String(slug).slice(0, 64))} (expected 16 characters of [a-z2-7])`),
      );
    const upstream = this.runningUpstream(slug);
    if (upstream) {
      this.touch(slug);
      return Promise.resolve(upstream);
    }
    const inflight = this.starting.get(slug);
    if (inflight) return inflight;
    // Starting page forever: a start that failed after a 202 is answered once, with what failed; the ensure after it tries again.
    const failure = this.unreportedFailures.get(slug);
    if (failure !== undefined) {
      this.unreportedFailures.delete(slug);
      return Promise.reject(new StartFailedError(failure));
    }
    this.progress.begin(slug, startRequestId(requestId));
    const work = this.withUserLock(slug, () => this.startUser(slug)).finally(() => this.starting.delete(slug));
    this.starting.set(slug, work);
    return work;
  }

  /** Where the user's start is (`GET /v1/users/<slug>/start`): for that user's starting page only. */
  startReport(slug: string): StartReport {
    return this.progress.report(slug, this.runningUpstream(slug) !== undefined);
  }

  /** A caller of ensure got this start's failure itself (a 502): it is not told a second time. */
  failureReported(slug: string): void {
    this.unreportedFailures.delete(slug);
  }

  /** The caller was told "starting" (202) for this start: should it fail, the next ensure answers with its failure. */
  answeredStarting(slug: string, work: Promise<string>): void {
    work.catch((error: Error) => {
      if (!(error instanceof CapacityError) && !(error instanceof BadRequestError)) this.unreportedFailures.set(slug, error.message);
    });
  }

  private async startUser(slug: string): Promise<string> {
    const already = this.runningUpstream(slug);
    if (already) {
      this.progress.succeed(slug, false);
      return already;
    }
    const { apps, sandboxes, relay, log } = this.options;
    const current = apps.get(slug);
    const requestId = this.progress.requestId(slug);
    // Each step says where the start is before it runs; its failure names it (for the logs) and stays its stage (for the page).
    const step = <T>(stage: StartStage, name: string, work: () => Promise<T> | T): Promise<T> => {
      this.progress.enter(slug, stage);
      return runStep(name, work);
    };
    if (current?.state !== "running") {
      const running = apps.list().filter((app) => app.state === "running" && app.slug !== slug).length;
      const startingOthers = [...this.admitted].filter((other) => other !== slug && apps.get(other)?.state !== "running").length;
      // Host exhaustion: one more app than the host was sized for would starve everyone's.
      if (running + startingOthers >= this.options.maxRunningApps) {
        this.counters.refusals += 1;
        log.warn("start refused: host full", { slug, running, starting: startingOthers, max: this.options.maxRunningApps });
        this.progress.drop(slug);
        throw new CapacityError(
          `this host already runs or starts ${running + startingOthers} OpenHands apps (${running} running, ${startingOthers} ` +
            `starting; users.maxRunningApps = ${this.options.maxRunningApps}); try again when someone's idle app has been stopped`,
          { reason: "apps", running, starting: startingOthers, max: this.options.maxRunningApps },
        );
      }
      // Host memory exhaustion: the apps' and sandboxes' limits together may not exceed what the host really has.
      const memoryRefusal = this.options.memory?.refusal(
        "app",
        startingOthers * this.options.memory.appMiB,
        (c) => c.kind === "app" && c.owner === slug,
      );
      if (memoryRefusal) {
        this.counters.refusals += 1;
        log.warn("start refused: host memory budget", {
          slug,
          budgetMiB: this.options.memory!.budgetMiB,
          usedMiB: this.options.memory!.usedMiB(),
        });
        this.progress.drop(slug);
        throw new CapacityError(memoryRefusal, { reason: "memory" });
      }
    }
    const began = this.now();
    this.admitted.add(slug);
    try {
      // An app that already runs has its database: a restarted spawner must not depend on PostgreSQL
      // (perhaps paused at 0 ACU) to reopen that user's relay and Docker socket.
      const database =
        current?.state === "running"
          ? this.options.databases.describe(slug)
          : await step("database", "preparing the user database", () => this.options.databases.ensure(slug));
      const paths = await step("folders", "preparing the user folders", () => this.options.directories.ensure(slug));
      const placement = await step("network", "preparing the user network (Docker)", () => apps.place(slug));
      await step("docker-api", "opening the Docker API of the app", () => sandboxes.open(slug, placement, paths));
      await step("relay", "opening the webhook relay", () => relay.open(slug, placement.callbackAddress, () => apps.get(slug)?.upstream));
      const instance = await step("container", "starting the app container (Docker)", () =>
        apps.start({ slug, placement, database, paths }),
      );
      if (!instance.upstream) throw new StartFailedError(`the app of ${slug} has no address after start (state ${instance.state})`);
      await step("health", "waiting for the app to answer", () =>
        waitForHealth(instance.upstream!, this.options.healthTimeoutMs, this.options.healthIntervalMs),
      );
      this.progress.enter(slug, "settings");
      try {
        const { model, baseUrl, keyFor } = this.options.llm;
        const outcome = await seedLlmSettings(instance.upstream, { model, baseUrl, apiKey: keyFor(slug) });
        if (outcome === "seeded") this.counters.settingsSeeded += 1;
        log.info("llm settings checked", { slug, outcome });
      } catch (error) {
        log.error("llm settings not seeded", { slug, error: (error as Error).message });
      }
      this.healthy.add(slug);
      this.unreportedFailures.delete(slug);
      this.touch(slug);
      if (current?.state !== "running") this.counters.starts += 1;
      this.progress.succeed(slug, current?.state !== "running");
      log.info("app ready", { slug, upstream: instance.upstream, ms: this.now() - began, requestId });
      return instance.upstream;
    } catch (error) {
      this.counters.failures += 1;
      this.progress.fail(slug, (error as Error).message);
      log.error("app start failed", { slug, error: (error as Error).message, requestId });
      if (apps.get(slug)?.state !== "running") {
        // Nothing runs for this user: no door stays open on their gateway or in the socket folder.
        await relay.close(slug).catch(() => undefined);
        await sandboxes.close(slug).catch(() => undefined);
      }
      throw error;
    } finally {
      this.admitted.delete(slug);
    }
  }

  /** Forgets that an app was healthy (it stopped or restarted); the next ensure checks it again. */
  appStopped(slug: string): void {
    this.healthy.delete(slug);
  }

  touch(slug: string, at: number = this.now()): void {
    if (!isUserSlug(slug)) return;
    // Memory growth: activity of users with no app here (forged or stale slugs) is not kept.
    if (!this.options.apps.get(slug) && !this.starting.has(slug)) return;
    const previous = this.activity.get(slug);
    if (previous === undefined && this.activity.size >= MAX_ACTIVITY_ENTRIES) return;
    if (at > (previous ?? 0)) this.activity.set(slug, Math.min(at, this.now()));
  }

  /** Activity reports from the proxy: `[{slug, at}]`, `at` in unix milliseconds. Bad entries are skipped. */
  recordActivity(batch: unknown): number {
    if (!Array.isArray(batch)) throw new BadRequestError("activity must be a JSON array of {slug, at}");
    let accepted = 0;
    for (const entry of batch.slice(0, 10_000)) {
      const { slug, at } = (entry ?? {}) as { slug?: unknown; at?: unknown };
      if (!isUserSlug(slug) || typeof at !== "number" || !Number.isFinite(at)) continue;
      this.touch(slug, at);
      accepted += 1;
    }
    return accepted;
  }

  /** Stops apps idle longer than the limit (and their sandboxes), and sandboxes whose app is not running. */
  async cullIdle(): Promise<string[]> {
    const now = this.now();
    const culled: string[] = [];
    for (const app of this.options.apps.list()) {
      if (app.state !== "running" || this.starting.has(app.slug)) continue;
      const last = this.activity.get(app.slug);
      if (last === undefined) {
        // First sight (e.g. after a spawner restart): the idle clock starts now.
        this.activity.set(app.slug, now);
        continue;
      }
      if (now - last > this.options.idleMs) {
        await this.cull(app.slug, `idle for ${idleText(now - last)}`);
        culled.push(app.slug);
      }
    }
    // Activity of users whose app is gone (removed, reclaimed) is dropped.
    for (const slug of [...this.activity.keys()]) if (!this.options.apps.get(slug) && !this.starting.has(slug)) this.activity.delete(slug);
    for (const owner of this.options.sandboxes.owners()) {
      if (this.options.apps.get(owner)?.state !== "running" && !this.starting.has(owner)) {
        const stopped = await this.options.sandboxes.stopAll(owner);
        if (stopped) this.options.log.info("orphan sandboxes stopped", { slug: owner, stopped });
      }
    }
    return culled;
  }

  cull(slug: string, reason: string): Promise<void> {
    return this.withUserLock(slug, async () => {
      const { apps, sandboxes, relay, log } = this.options;
      this.healthy.delete(slug);
      const stopped = await sandboxes.stopAll(slug);
      await apps.stop(slug);
      await relay.close(slug);
      await sandboxes.close(slug);
      this.activity.delete(slug);
      this.counters.culls += 1;
      log.info("app culled", { slug, reason, sandboxesStopped: stopped });
    });
  }

  /** Rebuilds the runtime state for apps Docker says are running (after a spawner restart). */
  reconcile(): string[] {
    const resumed: string[] = [];
    for (const app of this.options.apps.list()) {
      if (app.state !== "running") continue;
      this.activity.set(app.slug, this.now());
      resumed.push(app.slug);
      this.ensure(app.slug).catch(() => undefined);
    }
    this.options.log.info("reconciled from docker", { runningApps: resumed.length });
    return resumed;
  }

  /** `GET /v1/routes/resolve?host=`: the route of `<port>-<slug>.<runtime domain>`, or undefined. */
  resolveHost(host: unknown): SandboxRoute | undefined {
    if (typeof host !== "string" || host.length > 300) return undefined;
    // Host confusion: exactly one strict pattern, lower case, no port, no extra labels.
    const match = this.runtimeHost.exec(host);
    if (!match) return undefined;
    const port = Number(match[1]);
    if (port > 65535) return undefined;
    return this.options.sandboxes.resolve(match[2]!, port);
  }

  /** How many users' activity times are kept (bounded; see MAX_ACTIVITY_ENTRIES). */
  get activityEntries(): number {
    return this.activity.size;
  }

  stats(): SpawnerStats {
    const apps = this.options.apps.list();
    return {
      runningUsers: apps.filter((app) => app.state === "running").length,
      startingUsers: this.starting.size,
      runningSandboxes: this.options.sandboxes.runningCount(),
      ...this.counters,
      relayForwarded: this.options.relay.forwarded,
      relayRefused: this.options.relay.refused,
      uptimeSeconds: Math.round((this.now() - this.startedAt) / 1000),
    };
  }
}
