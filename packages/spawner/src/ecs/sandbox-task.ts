/**
 * A user's sandbox as an ECS task (docs/ecs.md, section 3): the names that tie tasks to users and sessions, the
 * task definition `oh-sbx-<slug>`, and what the spawner reads back from a described task (status, address, key).
 * Pure functions; the backend (sandbox-backend.ts) makes the calls.
 */
import { createHash } from "node:crypto";
import type { LogConfiguration, RegisterTaskDefinitionCommandInput, Task } from "@aws-sdk/client-ecs";
import type { RouteKind } from "../backends";

/** The one container of a sandbox task. */
export const SANDBOX_CONTAINER = "agent-server";
/** OpenHands' remote sandbox ports (remote_sandbox_service.py: AGENT_SERVER_PORT, VSCODE_PORT, WORKER_1_PORT, WORKER_2_PORT). */
export const SANDBOX_PORTS: ReadonlyArray<{ port: number; kind: RouteKind }> = [
  { port: 60000, kind: "agent-server" },
  { port: 60001, kind: "vscode" },
  { port: 12000, kind: "worker" },
  { port: 12001, kind: "worker" },
];
/** A sandbox takes one route port per service: `p` (agent-server), `p+1` (vscode), `p+2` and `p+3` (workers). */
export const ROUTE_PORTS_PER_SANDBOX = SANDBOX_PORTS.length;
/** The sandbox user of OpenHands' remote start request (run_as_user, run_as_group, fs_group) and of the EFS access point. */
export const SANDBOX_UID = 10001;
export const SESSION_KEY_VARIABLE = "OH_SESSION_API_KEYS_0";
export const WEBHOOK_BASE_VARIABLE = "OH_WEBHOOKS_0_BASE_URL";
/** Docker label on the container definition carrying the hash of the definition's content (reuse when unchanged). */
export const SPEC_HASH_LABEL = "openhands-team.sandbox-spec-sha256";

/**
 * A session id as OpenHands makes them (base62 of 16 random bytes, or a hex id). It becomes part of a file name and
 * of the task's group, so nothing else is accepted.
 */
export const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

export const sandboxFamily = (slug: string): string => `oh-sbx-${slug}`;
/** ListTasks(startedBy) finds one user's sandboxes: `sbx/<slug>` (ECS allows up to 128 of [A-Za-z0-9_/-]; apps use the bare slug). */
export const sandboxStartedBy = (slug: string): string => `sbx/${slug}`;
/** ECS documents no character set for `group` (its defaults are `family:<name>`, `service:<name>`), only 255 characters at most. */
export const sandboxGroup = (sessionId: string): string => `sbx:${sessionId}`;

export function sessionIdOfGroup(group: string | undefined): string | undefined {
  const id = group?.startsWith("sbx:") ? group.slice(4) : undefined;
  return id !== undefined && SESSION_ID.test(id) ? id : undefined;
}

/** The task ID: the last part of `arn:aws:ecs:<region>:<account>:task/<cluster>/<id>`. */
export function taskIdOf(arnOrId: string): string {
  return arnOrId.slice(arnOrId.lastIndexOf("/") + 1);
}

/** What the app's remote sandbox service reads as `status` (section 1: running, paused, starting, error, stopped). */
export type RuntimeStatus = "starting" | "running" | "paused" | "stopped" | "error";

/** A described task as the backend keeps it. */
export interface SandboxTaskView {
  taskId: string;
  lastStatus: string;
  desiredStatus: string;
  status: RuntimeStatus;
  privateIp?: string;
  sessionKey?: string;
  stopCode?: string;
  stoppedReason?: string;
  startedAt?: Date;
  createdAt?: Date;
}

const STARTING = new Set(["PROVISIONING", "PENDING", "ACTIVATING"]);

/**
 * PROVISIONING to ACTIVATING → starting; RUNNING (with its address) → running; stopped or stopping by our StopTask
 * (UserInitiated) → stopped; stopped for any other reason (EssentialContainerExited, SpotInterruption,
 * TaskFailedToStart, ...) → error.
 */
export function runtimeStatusOf(
  task: Pick<Task, "lastStatus" | "desiredStatus" | "stopCode">,
  privateIp: string | undefined,
): RuntimeStatus {
  if (task.desiredStatus === "STOPPED" || task.lastStatus === "STOPPED" || task.stopCode) {
    // No stop code yet: a StopTask of ours on its way (ECS names every other cause: SpotInterruption, EssentialContainerExited, ...).
    return task.stopCode === undefined || task.stopCode === "UserInitiated" ? "stopped" : "error";
  }
  if (task.lastStatus === "RUNNING") return privateIp ? "running" : "starting";
  if (STARTING.has(task.lastStatus ?? "")) return "starting";
  // DEACTIVATING and later without a stop request: the task is on its way out for a reason of its own.
  return "error";
}

export function privateIpOf(task: Task): string | undefined {
  for (const attachment of task.attachments ?? []) {
    if (attachment.type !== "ElasticNetworkInterface") continue;
    const value = attachment.details?.find((detail) => detail.name === "privateIPv4Address")?.value;
    if (value && /^\d{1,3}(\.\d{1,3}){3}$/.test(value)) return value;
  }
  return undefined;
}

/** The sandbox container's environment override (where the session key and the app's environment are). */
export function overrideEnvironmentOf(task: Task): Record<string, string> {
  const override = task.overrides?.containerOverrides?.find((item) => item.name === SANDBOX_CONTAINER);
  const environment: Record<string, string> = Object.create(null);
  for (const item of override?.environment ?? []) if (item.name && item.value !== undefined) environment[item.name] = item.value;
  return environment;
}

export function taskView(task: Task): SandboxTaskView {
  const privateIp = privateIpOf(task);
  return {
    taskId: taskIdOf(task.taskArn ?? ""),
    lastStatus: task.lastStatus ?? "PROVISIONING",
    desiredStatus: task.desiredStatus ?? "RUNNING",
    status: runtimeStatusOf(task, privateIp),
    privateIp,
    sessionKey: overrideEnvironmentOf(task)[SESSION_KEY_VARIABLE],
    stopCode: task.stopCode,
    stoppedReason: task.stoppedReason,
    startedAt: task.startedAt,
    createdAt: task.createdAt,
  };
}

/** A task that ECS no longer knows (DescribeTasks: failure MISSING): gone, as far as the app is concerned. */
export function missingTaskView(taskId: string): SandboxTaskView {
  return {
    taskId,
    lastStatus: "STOPPED",
    desiredStatus: "STOPPED",
    status: "stopped",
    stoppedReason: "the task is no longer known to ECS",
  };
}

/** Fargate's task sizes (Developer Guide, "task definition parameters for Fargate"): memory MiB per CPU units. */
const FARGATE_MEMORY: Record<string, { min: number; max: number; step: number }> = {
  "256": { min: 512, max: 2048, step: 512 },
  "512": { min: 1024, max: 4096, step: 1024 },
  "1024": { min: 2048, max: 8192, step: 1024 },
  "2048": { min: 4096, max: 16384, step: 1024 },
  "4096": { min: 8192, max: 30720, step: 1024 },
  "8192": { min: 16384, max: 61440, step: 4096 },
  "16384": { min: 32768, max: 122880, step: 8192 },
};

/** Why a task size is not one Fargate runs, or undefined when it is. */
export function fargateSizeProblem(cpu: string, memory: string): string | undefined {
  const range = FARGATE_MEMORY[cpu];
  if (!range) return `cpu ${JSON.stringify(cpu)} is not a Fargate size (${Object.keys(FARGATE_MEMORY).join(", ")})`;
  const mib = Number(memory);
  if (!Number.isInteger(mib) || mib < range.min || mib > range.max || (mib - range.min) % range.step !== 0) {
    const allowed = `${range.min} to ${range.max} MiB in steps of ${range.step}`;
    return `memory ${JSON.stringify(memory)} does not go with cpu ${cpu} on Fargate (${allowed})`;
  }
  return undefined;
}

/** What the sandbox task definition is made of. */
export interface SandboxDefinitionSpec {
  slug: string;
  image: string;
  /** The container's command; absent: the image's own. */
  command?: string[];
  workingDir: string;
  cpu: string;
  memory: string;
  workspaceAccessPointId: string;
  fileSystemId: string;
  sandboxTaskRoleArn: string;
  executionRoleArn: string;
  stopTimeoutSeconds: number;
  /** The container's log configuration (awslogs), if any. */
  logConfiguration?: LogConfiguration;
}

/**
 * `oh-sbx-<slug>`: one container as the sandbox user, the user's workspace access point at /workspace (IAM
 * authorisation with the per-user sandbox task role, which may mount that access point only), ARM64 Fargate. The
 * per-start parts (the app's environment, the session key) are container overrides, so the definition stays one
 * revision while its content does not change; the content's hash rides along as a Docker label.
 */
export function sandboxTaskDefinition(spec: SandboxDefinitionSpec): { input: RegisterTaskDefinitionCommandInput; hash: string } {
  const content = {
    family: sandboxFamily(spec.slug),
    networkMode: "awsvpc" as const,
    requiresCompatibilities: ["FARGATE" as const],
    cpu: spec.cpu,
    memory: spec.memory,
    taskRoleArn: spec.sandboxTaskRoleArn,
    executionRoleArn: spec.executionRoleArn,
    runtimePlatform: { cpuArchitecture: "ARM64" as const, operatingSystemFamily: "LINUX" as const },
    volumes: [
      {
        name: "workspace",
        efsVolumeConfiguration: {
          fileSystemId: spec.fileSystemId,
          transitEncryption: "ENABLED" as const,
          authorizationConfig: { accessPointId: spec.workspaceAccessPointId, iam: "ENABLED" as const },
        },
      },
    ],
    containerDefinitions: [
      {
        name: SANDBOX_CONTAINER,
        image: spec.image,
        essential: true,
        ...(spec.command ? { command: spec.command } : {}),
        workingDirectory: spec.workingDir,
        user: `${SANDBOX_UID}:${SANDBOX_UID}`,
        mountPoints: [{ sourceVolume: "workspace", containerPath: "/workspace", readOnly: false }],
        stopTimeout: spec.stopTimeoutSeconds,
        linuxParameters: { initProcessEnabled: true },
        ...(spec.logConfiguration ? { logConfiguration: spec.logConfiguration } : {}),
      },
    ],
  };
  const hash = createHash("sha256").update(JSON.stringify(content)).digest("hex");
  const [container] = content.containerDefinitions;
  return {
    input: { ...content, containerDefinitions: [{ ...container!, dockerLabels: { [SPEC_HASH_LABEL]: hash } }] },
    hash,
  };
}
