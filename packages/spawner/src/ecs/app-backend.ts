/**
 * Users' OpenHands apps as Fargate tasks (docs/ecs.md, section 3): one task per user, `startedBy` = slug, group
 * "apps", from the user's task definition `oh-app-<slug>` (app-task-definition.ts). Stateless: the view behind
 * get/list is rebuilt from ListTasks and DescribeTasks, at first use and every `viewRefreshIntervalMs`, so a
 * restarted spawner (or a second one) sees what ECS runs and nothing else.
 */
import { DescribeTasksCommand, type ECSClient, RunTaskCommand, StopTaskCommand, type Task } from "@aws-sdk/client-ecs";
import type { AppBackend, AppInstance, AppStartRequest, UserPlacement } from "../backends";
import type { EcsConfig, SpawnerConfig } from "../config";
import type { Logger } from "../log";
import { APP_CONTAINER, APP_SPEC_LABEL, APP_STOP_TIMEOUT_SECONDS, type AppTaskResources, appTaskDefinition } from "./app-task-definition";
import { currentTaskDefinition, EcsCallError, listAllTaskArns } from "./client";

export const APP_GROUP = "apps";
const FAMILY_PREFIX = "oh-app-";

/** The user's ECS-side resources (EFS access point, app secret), made elsewhere before the first start. */
export type AppTaskResourceResolver = (slug: string) => Promise<AppTaskResources>;

export interface EcsAppBackendOptions {
  config: SpawnerConfig;
  ecs: EcsConfig;
  client: ECSClient;
  resources: AppTaskResourceResolver;
  log: Logger;
}

/** An ECS call failed: the operation and ECS's own error name and message. */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `arn:…:task-definition/<family>:<revision>` → family. */
function familyOf(task: Task): string | undefined {
  return /task-definition\/([^:]+):\d+$/.exec(task.taskDefinitionArn ?? "")?.[1];
}

function isAppTask(task: Task): boolean {
  const family = familyOf(task);
  return family?.startsWith(FAMILY_PREFIX) === true && task.startedBy === family.slice(FAMILY_PREFIX.length);
}

function privateAddress(task: Task): string | undefined {
  const eni = task.attachments?.find((attachment) => attachment.type === "ElasticNetworkInterface");
  return eni?.details?.find((detail) => detail.name === "privateIPv4Address")?.value;
}

const isLive = (task: Task) => task.desiredStatus !== "STOPPED" && task.lastStatus !== "STOPPED";
const isRunning = (task: Task) => isLive(task) && task.lastStatus === "RUNNING" && privateAddress(task) !== undefined;

/** Why a task stopped, in ECS's words: stop code, reason and the app container's own reason or exit code. */
export function stopDescription(task: Task): string {
  const container = task.containers?.find((c) => c.name === APP_CONTAINER) ?? task.containers?.[0];
  const parts = [task.stoppedReason ?? "no reason given"];
  if (task.stopCode) parts.push(`stop code ${task.stopCode}`);
  if (container?.reason) parts.push(`container: ${container.reason}`);
  if (container?.exitCode !== undefined) parts.push(`exit code ${container.exitCode}`);
  return parts.join("; ");
}

export class EcsAppBackend implements AppBackend {
  /** slug → the user's app task as last described: the live one, else the latest stopped one. */
  private readonly tasks = new Map<string, Task>();
  private readonly starting = new Map<string, Promise<AppInstance>>();
  private readonly stoppedListeners: Array<(slug: string) => void> = [];
  private synced?: Promise<void>;
  private refreshTimer?: NodeJS.Timeout;
  private readonly config: SpawnerConfig;
  private readonly ecs: EcsConfig;
  private readonly client: ECSClient;
  private readonly resources: AppTaskResourceResolver;
  private readonly log: Logger;

  constructor(options: EcsAppBackendOptions) {
    this.config = options.config;
    this.ecs = options.ecs;
    this.client = options.client;
    this.resources = options.resources;
    this.log = options.log;
  }

  /** Called when a user's app task that was running or starting is seen stopped (culled, crashed, interrupted). */
  onStopped(listener: (slug: string) => void): void {
    this.stoppedListeners.push(listener);
  }

  /** Rebuilds the view from ECS once (at first use); later calls wait for that. */
  ready(): Promise<void> {
    this.synced ??= this.refresh().catch((error: Error) => {
      this.synced = undefined;
      throw error;
    });
    return this.synced;
  }

  /** Refreshes the view every `viewRefreshIntervalMs` (a failed pass is logged; the next one tries again). */
  startRefreshing(): void {
    this.refreshTimer ??= setInterval(() => {
      this.refresh().catch((error: Error) => this.log.warn("app task view not refreshed", { error: error.message }));
    }, this.ecs.viewRefreshIntervalMs);
    this.refreshTimer.unref();
  }

  stopRefreshing(): void {
    clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
  }

  /**
   * The view from ECS: every task of the cluster with desired status RUNNING whose family is an app family, plus the
   * tasks the view knew as live (to learn how they ended). More than one live task for a user: the extra ones stop.
   */
  async refresh(): Promise<void> {
    const arns = new Set(await this.listTaskArns({}));
    for (const task of this.tasks.values()) if (isLive(task) && task.taskArn) arns.add(task.taskArn);
    const described = (await this.describe([...arns])).filter(isAppTask);
    const bySlug = new Map<string, Task[]>();
    for (const task of described) bySlug.set(task.startedBy!, [...(bySlug.get(task.startedBy!) ?? []), task]);
    for (const [slug, tasks] of bySlug) {
      if (this.starting.has(slug)) continue; // the start in flight owns this user's tasks until it returns
      const chosen = await this.keepOne(slug, tasks);
      this.remember(slug, chosen);
    }
    // Users whose known task ECS no longer describes (retention over): nothing left to report.
    for (const [slug, task] of this.tasks) if (!bySlug.has(slug) && isLive(task) && !this.starting.has(slug)) this.tasks.delete(slug);
  }

  /** The live task to keep among a user's tasks (running first, then the oldest); other live ones are stopped. */
  private async keepOne(slug: string, tasks: Task[]): Promise<Task> {
    const live = tasks.filter(isLive).sort((a, b) => Number(isRunning(b)) - Number(isRunning(a)) || age(a) - age(b));
    const [keep, ...extra] = live;
    for (const task of extra) {
      // Two apps of one user on one database and one EFS folder: the second would fight the first over both.
      this.log.warn("duplicate app task stopped", { slug, task: task.taskArn });
      await this.call("StopTask", () =>
        this.client.send(new StopTaskCommand({ cluster: this.ecs.cluster, task: task.taskArn, reason: "duplicate app task" })),
      );
    }
    return keep ?? tasks.sort((a, b) => age(b) - age(a))[0]!;
  }

  private remember(slug: string, task: Task): void {
    const before = this.tasks.get(slug);
    this.tasks.set(slug, task);
    if (before && isLive(before) && !isLive(task)) {
      this.log.info("app task stopped", { slug, task: task.taskArn, why: stopDescription(task) });
      for (const listener of this.stoppedListeners) listener(slug);
    }
  }

  /**
   * Nothing to prepare in ECS. `callbackAddress` and `sandboxHostAddress` are the host's private address (the relay
   * and the sandbox API listen there, as tasks reach the host); `sandboxUrlPattern` is the shape of the sandbox URLs the
   * remote sandbox API answers, `{port}` being the route port (OpenHands reads no URL pattern in remote mode).
   */
  async place(slug: string): Promise<UserPlacement> {
    return {
      slug,
      callbackAddress: this.ecs.hostPrivateAddress,
      sandboxHostAddress: this.ecs.hostPrivateAddress,
      sandboxUrlPattern: `http://{port}-${slug}.${this.ecs.sandboxDomain}`,
    };
  }

  /** Runs the user's app task unless one is live (then waits for it); one start per user at a time. */
  start(request: AppStartRequest): Promise<AppInstance> {
    const inflight = this.starting.get(request.slug);
    if (inflight) return inflight;
    const work = this.startTask(request).finally(() => this.starting.delete(request.slug));
    this.starting.set(request.slug, work);
    return work;
  }

  private async startTask(request: AppStartRequest): Promise<AppInstance> {
    const { slug } = request;
    await this.ready();
    const began = Date.now();
    const deadline = began + this.ecs.taskStartTimeoutMs;
    // ECS, not the view, says whether this user's app runs (another spawner may have started it).
    const tasks = await this.userTasks(slug);
    const live = tasks.filter(isLive);
    if (live.length > 0) {
      const task = await this.keepOne(slug, live);
      this.log.info("app task already live", { slug, task: task.taskArn, lastStatus: task.lastStatus });
      return this.untilRunning(slug, task, deadline);
    }
    // A task still stopping (its stop began elsewhere) finishes first: never two apps of one user at once.
    for (const task of tasks.filter((t) => t.lastStatus !== "STOPPED")) await this.untilStopped(task);

    const resources = await this.resources(slug);
    const taskDefinitionArn = await this.taskDefinition(request, resources);
    const run = await this.call("RunTask", () =>
      this.client.send(
        new RunTaskCommand({
          cluster: this.ecs.cluster,
          taskDefinition: taskDefinitionArn,
          count: 1,
          startedBy: slug,
          group: APP_GROUP,
          launchType: "FARGATE",
          networkConfiguration: {
            awsvpcConfiguration: { subnets: this.ecs.subnets, securityGroups: [this.ecs.appSecurityGroup], assignPublicIp: "DISABLED" },
          },
          tags: [
            { key: "org.openhands-team.owner", value: slug },
            { key: "org.openhands-team.role", value: "app" },
          ],
        }),
      ),
    );
    const task = run.tasks?.[0];
    if (!task?.taskArn) {
      const failure = run.failures?.[0];
      const why = failure ? `${failure.reason ?? "no reason"}${failure.detail ? ` (${failure.detail})` : ""}` : "no task and no failure";
      throw new Error(`ECS RunTask started no app task for ${slug}: ${why}`);
    }
    this.log.info("app task started", { slug, task: task.taskArn, taskDefinition: taskDefinitionArn });
    this.tasks.set(slug, task);
    const instance = await this.untilRunning(slug, task, deadline);
    this.log.info("app task running", { slug, task: task.taskArn, ms: Date.now() - began });
    return instance;
  }

  /** The latest ACTIVE revision of `oh-app-<slug>` when its spec label matches, else a new revision (the old one deregistered). */
  private async taskDefinition(request: AppStartRequest, resources: AppTaskResources): Promise<string> {
    const { input, spec } = appTaskDefinition(this.config, this.ecs, request.slug, request.database, resources);
    const marker = { container: APP_CONTAINER, label: APP_SPEC_LABEL, hash: spec };
    const { arn } = await currentTaskDefinition(this.client, input, marker, this.log.child({ slug: request.slug }));
    return arn;
  }

  /** Polls the task until it runs with an address; a task that stops instead fails the start with ECS's reason. */
  private async untilRunning(slug: string, first: Task, deadline: number): Promise<AppInstance> {
    let task = first;
    for (;;) {
      if (isRunning(task)) {
        this.remember(slug, task);
        return this.toInstance(slug, task);
      }
      if (!isLive(task) && task.lastStatus === "STOPPED") {
        this.remember(slug, task);
        throw new Error(`the app task of ${slug} (${task.taskArn}) stopped instead of running: ${stopDescription(task)}`);
      }
      if (Date.now() > deadline) {
        await this.call("StopTask", () =>
          this.client.send(new StopTaskCommand({ cluster: this.ecs.cluster, task: task.taskArn, reason: "start timed out" })),
        );
        throw new Error(
          `the app task of ${slug} (${task.taskArn}) was not RUNNING within ${this.ecs.taskStartTimeoutMs} ms ` +
            `(last status ${task.lastStatus}); it was stopped`,
        );
      }
      await sleep(this.ecs.taskPollIntervalMs);
      const [again] = await this.describe([task.taskArn!]);
      if (!again) throw new Error(`the app task of ${slug} (${task.taskArn}) is no longer known to ECS`);
      task = again;
      this.tasks.set(slug, task);
    }
  }

  /** Waits (bounded by the stop timeout and a margin) until a stopping task is STOPPED. */
  private async untilStopped(first: Task): Promise<Task> {
    const deadline = Date.now() + (APP_STOP_TIMEOUT_SECONDS + 60) * 1000;
    let task = first;
    while (task.lastStatus !== "STOPPED") {
      if (Date.now() > deadline) throw new Error(`the app task ${task.taskArn} did not stop (last status ${task.lastStatus})`);
      await sleep(this.ecs.taskPollIntervalMs);
      const [again] = await this.describe([task.taskArn!]);
      if (!again) return task;
      task = again;
    }
    return task;
  }

  /** StopTask ("idle cull") on every live task of the user, then waits for them to be STOPPED. */
  async stop(slug: string): Promise<void> {
    await this.ready();
    for (const task of (await this.userTasks(slug)).filter(isLive)) {
      await this.call("StopTask", () =>
        this.client.send(new StopTaskCommand({ cluster: this.ecs.cluster, task: task.taskArn, reason: "idle cull" })),
      );
      this.remember(slug, await this.untilStopped({ ...task, desiredStatus: "STOPPED" }));
    }
  }

  get(slug: string): AppInstance | undefined {
    const task = this.tasks.get(slug);
    return task ? this.toInstance(slug, task) : undefined;
  }

  list(): AppInstance[] {
    return [...this.tasks].map(([slug, task]) => this.toInstance(slug, task));
  }

  private toInstance(slug: string, task: Task): AppInstance {
    if (isRunning(task)) return { slug, state: "running", upstream: `http://${privateAddress(task)}:${this.config.network.appPort}` };
    // PROVISIONING, PENDING, ACTIVATING (or RUNNING before its address shows) while ECS still wants it to run.
    if (isLive(task) && ["PROVISIONING", "PENDING", "ACTIVATING", "RUNNING"].includes(task.lastStatus ?? ""))
      return { slug, state: "starting" };
    // Stopping or stopped, whatever the cause (cull, SpotInterruption, EssentialContainerExited): the next start runs a new task.
    return { slug, state: "stopped" };
  }

  /** The user's app tasks ECS knows: live ones and those stopped within the retention (an hour). */
  private async userTasks(slug: string): Promise<Task[]> {
    const [running, stopped] = await Promise.all([
      this.listTaskArns({ startedBy: slug, desiredStatus: "RUNNING" }),
      this.listTaskArns({ startedBy: slug, desiredStatus: "STOPPED" }),
    ]);
    return (await this.describe([...running, ...stopped])).filter(isAppTask);
  }

  private async listTaskArns(filter: { startedBy?: string; desiredStatus?: "RUNNING" | "STOPPED" }): Promise<string[]> {
    return this.call("ListTasks", () => listAllTaskArns(this.client, { cluster: this.ecs.cluster, ...filter }));
  }

  /** DescribeTasks in batches of 100 (its limit); unknown tasks (MISSING) are left out. */
  private async describe(arns: string[]): Promise<Task[]> {
    const tasks: Task[] = [];
    for (let index = 0; index < arns.length; index += 100) {
      const answer = await this.call("DescribeTasks", () =>
        this.client.send(new DescribeTasksCommand({ cluster: this.ecs.cluster, tasks: arns.slice(index, index + 100) })),
      );
      tasks.push(...(answer.tasks ?? []));
    }
    return tasks;
  }

  /** One ECS call; the SDK has already retried throttling and server errors. Others carry ECS's name and message. */
  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw this.wrap(operation, error);
    }
  }

  private wrap(operation: string, error: unknown): EcsCallError {
    const { name, message } = error as Error;
    return new EcsCallError(operation, name || "Error", message);
  }
}

/** When the task was created (epoch ms), for ordering. */
function age(task: Task): number {
  return task.createdAt instanceof Date ? task.createdAt.getTime() : 0;
}
