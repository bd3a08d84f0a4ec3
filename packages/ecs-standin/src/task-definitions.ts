/**
 * RegisterTaskDefinition / DeregisterTaskDefinition and the lookup RunTask does: revisions per family, ARNs
 * `arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision>` (ECS API reference, API_TaskDefinition.html),
 * and the Fargate checks ECS makes when a definition asks for FARGATE compatibility (Developer Guide, "Amazon ECS task
 * definition parameters for Fargate": awsvpc only, task-level cpu and memory from the table of valid pairs).
 */
import { clientError, invalidParameter } from "./errors";
import {
  type JsonObject,
  type KeyValue,
  keyValueList,
  objectList,
  optionalBoolean,
  optionalInteger,
  optionalObject,
  optionalString,
  stringList,
} from "./fields";
import { checkDefinitionResources } from "./task-resources";

export interface ContainerDefinition {
  readonly name: string;
  readonly image: string;
  readonly cpu?: number;
  readonly memory?: number;
  readonly memoryReservation?: number;
  readonly essential: boolean;
  readonly command?: string[];
  readonly entryPoint?: string[];
  readonly environment: KeyValue[];
  readonly workingDirectory?: string;
  readonly user?: string;
  readonly readonlyRootFilesystem?: boolean;
  readonly stopTimeout?: number;
  readonly initProcessEnabled?: boolean;
  /** Members the stand-in keeps and echoes but cannot honour here (secrets, mount points, log configuration...). */
  readonly raw: JsonObject;
}

export interface TaskDefinition {
  readonly taskDefinitionArn: string;
  readonly family: string;
  readonly revision: number;
  status: "ACTIVE" | "INACTIVE";
  readonly containerDefinitions: ContainerDefinition[];
  readonly networkMode: string;
  readonly requiresCompatibilities: string[];
  /** Task-level size as ECS echoes it: CPU units and MiB, as strings. */
  readonly cpu?: string;
  readonly memory?: string;
  readonly taskRoleArn?: string;
  readonly executionRoleArn?: string;
  readonly volumes: JsonObject[];
  readonly runtimePlatform?: JsonObject;
  readonly registeredAt: number;
  deregisteredAt?: number;
}

const NAME = /^[A-Za-z0-9_-]{1,255}$/;

/** Fargate task sizes: CPU units to the memory values (MiB) allowed with them. */
const FARGATE_SIZES: ReadonlyArray<readonly [number, readonly number[]]> = [
  [256, [512, 1024, 2048]],
  [512, range(1024, 4096, 1024)],
  [1024, range(2048, 8192, 1024)],
  [2048, range(4096, 16384, 1024)],
  [4096, range(8192, 30720, 1024)],
  [8192, range(16384, 61440, 4096)],
  [16384, range(32768, 122880, 8192)],
];

function range(from: number, to: number, step: number): number[] {
  const values: number[] = [];
  for (let value = from; value <= to; value += step) values.push(value);
  return values;
}

/** "1024", "1 vCPU", "0.25 vcpu" → CPU units. */
export function cpuUnits(text: string, path: string): number {
  const vcpu = /^\s*(\d+(?:\.\d+)?)\s*vcpu\s*$/i.exec(text);
  const units = vcpu?.[1] ? Math.round(Number(vcpu[1]) * 1024) : /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isFinite(units) || units <= 0) {
    throw clientError(`${path}: "${text}" is not a CPU value (CPU units such as "1024", or "1 vCPU").`);
  }
  return units;
}

/** "2048", "2 GB", "2GB" → MiB. */
export function memoryMiB(text: string, path: string): number {
  const gb = /^\s*(\d+(?:\.\d+)?)\s*gb\s*$/i.exec(text);
  const mib = gb?.[1] ? Math.round(Number(gb[1]) * 1024) : /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isFinite(mib) || mib <= 0) throw clientError(`${path}: "${text}" is not a memory value (MiB such as "2048", or "2 GB").`);
  return mib;
}

function containerDefinition(raw: JsonObject, index: number): ContainerDefinition {
  const path = `containerDefinitions[${index}]`;
  const name = optionalString(raw, "name", `${path}.name`);
  if (!name || !NAME.test(name)) {
    throw clientError(`Container.name ${JSON.stringify(name ?? "")} is invalid: up to 255 letters, numbers, hyphens and underscores.`);
  }
  const image = optionalString(raw, "image", `${path}.image`);
  if (!image) throw clientError("Container.image should not be null or empty.");
  const stopTimeout = optionalInteger(raw, "stopTimeout", `${path}.stopTimeout`);
  if (stopTimeout !== undefined && (stopTimeout < 2 || stopTimeout > 120)) {
    throw clientError(`Container ${name}: stopTimeout ${stopTimeout} is out of range (Fargate allows 2 to 120 seconds).`);
  }
  const linux = optionalObject(raw, "linuxParameters", `${path}.linuxParameters`);
  return {
    name,
    image,
    cpu: optionalInteger(raw, "cpu", `${path}.cpu`),
    memory: optionalInteger(raw, "memory", `${path}.memory`),
    memoryReservation: optionalInteger(raw, "memoryReservation", `${path}.memoryReservation`),
    essential: optionalBoolean(raw, "essential", `${path}.essential`) ?? true,
    command: stringList(raw, "command", `${path}.command`),
    entryPoint: stringList(raw, "entryPoint", `${path}.entryPoint`),
    environment: keyValueList(raw, "environment", `${path}.environment`) ?? [],
    workingDirectory: optionalString(raw, "workingDirectory", `${path}.workingDirectory`),
    user: optionalString(raw, "user", `${path}.user`),
    readonlyRootFilesystem: optionalBoolean(raw, "readonlyRootFilesystem", `${path}.readonlyRootFilesystem`),
    stopTimeout,
    initProcessEnabled: linux ? optionalBoolean(linux, "initProcessEnabled", `${path}.linuxParameters.initProcessEnabled`) : undefined,
    raw,
  };
}

/** Log drivers Fargate offers (Developer Guide, "Amazon ECS task definition parameters for Fargate", logConfiguration). */
const FARGATE_LOG_DRIVERS = ["awslogs", "splunk", "awsfirelens"];

/**
 * A container's `logConfiguration` on Fargate: one of Fargate's drivers; for awslogs the group, the region and the
 * stream prefix (required on Fargate, "Send Amazon ECS logs to CloudWatch"), and a task execution role, which writes
 * the logs. The wording of the messages follows what ECS answers as far as it is known; the checks are the documented ones.
 */
function checkFargateLogConfiguration(container: ContainerDefinition, executionRoleArn: string | undefined): void {
  const path = `Container ${container.name}: logConfiguration`;
  const config = optionalObject(container.raw, "logConfiguration", path);
  if (!config) return;
  const driver = optionalString(config, "logDriver", `${path}.logDriver`);
  if (!driver || !FARGATE_LOG_DRIVERS.includes(driver)) {
    throw clientError(`Log driver ${JSON.stringify(driver ?? "")} is not supported on Fargate (${FARGATE_LOG_DRIVERS.join(", ")}).`);
  }
  if (driver !== "awslogs") return;
  const options = optionalObject(config, "options", `${path}.options`) ?? {};
  for (const option of ["awslogs-group", "awslogs-region", "awslogs-stream-prefix"]) {
    const value = options[option];
    if (typeof value !== "string" || value === "") throw clientError(`Log driver awslogs option '${option}' should not be null or empty.`);
  }
  if (!executionRoleArn) throw clientError("Fargate requires task definition to have execution role ARN to support log driver awslogs.");
}

export class TaskDefinitionRegistry {
  private readonly families = new Map<string, TaskDefinition[]>();

  constructor(
    private readonly region: string,
    private readonly accountId: string,
  ) {}

  register(body: JsonObject): TaskDefinition {
    const family = optionalString(body, "family");
    if (!family || !NAME.test(family)) {
      throw clientError(`Family ${JSON.stringify(family ?? "")} is invalid: up to 255 letters, numbers, hyphens and underscores.`);
    }
    const rawContainers = objectList(body, "containerDefinitions") ?? [];
    if (rawContainers.length === 0) throw clientError("Container list cannot be empty.");
    const containers = rawContainers.map(containerDefinition);
    const seen = new Set<string>();
    for (const container of containers) {
      if (seen.has(container.name)) throw clientError(`Duplicate container name found: ${container.name}.`);
      seen.add(container.name);
    }
    checkDefinitionResources(body, containers);
    if (!containers.some((container) => container.essential)) {
      throw clientError("Task definition must have at least one essential container.");
    }
    const networkMode = optionalString(body, "networkMode") ?? "bridge";
    if (!["awsvpc", "bridge", "host", "none"].includes(networkMode)) {
      throw clientError(`networkMode "${networkMode}" is invalid (awsvpc, bridge, host or none).`);
    }
    const requiresCompatibilities = stringList(body, "requiresCompatibilities") ?? [];
    for (const compatibility of requiresCompatibilities) {
      if (!["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"].includes(compatibility)) {
        throw clientError(`requiresCompatibilities: "${compatibility}" is invalid (EC2, FARGATE, EXTERNAL or MANAGED_INSTANCES).`);
      }
    }
    const cpuText = optionalString(body, "cpu");
    const memoryText = optionalString(body, "memory");
    const cpu = cpuText === undefined ? undefined : cpuUnits(cpuText, "cpu");
    const memory = memoryText === undefined ? undefined : memoryMiB(memoryText, "memory");
    if (requiresCompatibilities.includes("FARGATE")) {
      if (networkMode !== "awsvpc") throw clientError("Fargate only supports network mode 'awsvpc'.");
      if (cpu === undefined) throw clientError("Fargate requires that 'cpu' be defined at the task level.");
      if (memory === undefined) throw clientError("Fargate requires that 'memory' be defined at the task level.");
      const allowed = FARGATE_SIZES.find(([units]) => units === cpu)?.[1];
      if (!allowed?.includes(memory)) throw clientError(`No Fargate configuration exists for given values: ${cpu} CPU, ${memory} memory.`);
      for (const container of containers) checkFargateLogConfiguration(container, optionalString(body, "executionRoleArn"));
    } else {
      for (const container of containers) {
        if (memory === undefined && container.memory === undefined && container.memoryReservation === undefined) {
          throw clientError(
            `Invalid setting for container '${container.name}'. At least one of 'memory' or 'memoryReservation' must be specified.`,
          );
        }
      }
    }
    const revisions = this.families.get(family) ?? [];
    const revision = revisions.length + 1;
    const definition: TaskDefinition = {
      taskDefinitionArn: `arn:aws:ecs:${this.region}:${this.accountId}:task-definition/${family}:${revision}`,
      family,
      revision,
      status: "ACTIVE",
      containerDefinitions: containers,
      networkMode,
      requiresCompatibilities,
      cpu: cpu === undefined ? undefined : String(cpu),
      memory: memory === undefined ? undefined : String(memory),
      taskRoleArn: optionalString(body, "taskRoleArn"),
      executionRoleArn: optionalString(body, "executionRoleArn"),
      volumes: objectList(body, "volumes") ?? [],
      runtimePlatform: optionalObject(body, "runtimePlatform"),
      registeredAt: Date.now() / 1000,
    };
    revisions.push(definition);
    this.families.set(family, revisions);
    return definition;
  }

  /** `family` (latest ACTIVE revision), `family:revision` or the full ARN; undefined when there is none. */
  find(reference: string): TaskDefinition | undefined {
    const arn = /^arn:aws:ecs:[^:]+:\d+:task-definition\/(.+)$/.exec(reference);
    const shortName = arn?.[1] ?? reference;
    const [family = "", revisionText] = shortName.split(":", 2);
    const revisions = this.families.get(family);
    if (!revisions) return undefined;
    if (revisionText === undefined) return [...revisions].reverse().find((definition) => definition.status === "ACTIVE");
    if (!/^[1-9]\d*$/.test(revisionText)) return undefined;
    return revisions[Number(revisionText) - 1];
  }

  deregister(reference: string): TaskDefinition {
    if (!/:\d+$/.test(reference)) {
      throw invalidParameter(`taskDefinition "${reference}": a revision is required (family:revision or the full ARN).`);
    }
    const definition = this.find(reference);
    if (!definition) throw clientError("The specified task definition does not exist.");
    if (definition.status === "ACTIVE") {
      definition.status = "INACTIVE";
      definition.deregisteredAt = Date.now() / 1000;
    }
    return definition;
  }
}

/** Fargate runs a definition in awsvpc mode with a task-level size (registration checked the pair when it asked for FARGATE). */
export function fargateCompatible(definition: TaskDefinition): boolean {
  return definition.networkMode === "awsvpc" && definition.cpu !== undefined && definition.memory !== undefined;
}

/** The task definition as DescribeTaskDefinition and RegisterTaskDefinition answer it. */
export function taskDefinitionView(definition: TaskDefinition, accountId: string): JsonObject {
  return {
    taskDefinitionArn: definition.taskDefinitionArn,
    family: definition.family,
    revision: definition.revision,
    status: definition.status,
    containerDefinitions: definition.containerDefinitions.map((container) => ({ ...container.raw, essential: container.essential })),
    networkMode: definition.networkMode,
    requiresCompatibilities: definition.requiresCompatibilities,
    compatibilities: fargateCompatible(definition) ? ["EC2", "FARGATE"] : ["EC2"],
    volumes: definition.volumes,
    placementConstraints: [],
    requiresAttributes: [],
    registeredAt: definition.registeredAt,
    registeredBy: `arn:aws:iam::${accountId}:root`,
    ...(definition.cpu ? { cpu: definition.cpu } : {}),
    ...(definition.memory ? { memory: definition.memory } : {}),
    ...(definition.taskRoleArn ? { taskRoleArn: definition.taskRoleArn } : {}),
    ...(definition.executionRoleArn ? { executionRoleArn: definition.executionRoleArn } : {}),
    ...(definition.runtimePlatform ? { runtimePlatform: definition.runtimePlatform } : {}),
    ...(definition.deregisteredAt ? { deregisteredAt: definition.deregisteredAt } : {}),
  };
}
