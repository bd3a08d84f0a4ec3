/**
 * Tasks: RunTask, StopTask, DescribeTasks and ListTasks over a real Docker engine.
 *
 * A task is what Fargate makes of it, in Docker terms: a network-owner container (ECS's "pause" container) joined to
 * the Docker network that stands for the task's awsvpc subnet, whose address is the task's private IPv4 (the ENI's),
 * and one container per container definition sharing that network namespace, as the containers of an awsvpc task
 * share their ENI. lastStatus walks the documented lifecycle (Developer Guide, "Amazon ECS task lifecycle":
 * PROVISIONING, PENDING, ACTIVATING, RUNNING, DEACTIVATING, STOPPING, DEPROVISIONING, STOPPED) as the containers do:
 * an essential container that exits stops the task with stopCode EssentialContainerExited, StopTask with
 * UserInitiated, and a start that cannot complete with TaskFailedToStart.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { DockerCallError, type DockerEngine } from "./engine";
import { clientError, EcsError, invalidParameter } from "./errors";
import {
  type Json,
  type JsonObject,
  type KeyValue,
  keyValueList,
  objectList,
  optionalInteger,
  optionalObject,
  optionalString,
  requiredString,
  stringList,
} from "./fields";
import { type Bind, type ResourceStores, resolveMounts, resolveSecrets } from "./task-resources";
import {
  type ContainerDefinition,
  cpuUnits,
  fargateCompatible,
  memoryMiB,
  type TaskDefinition,
  type TaskDefinitionRegistry,
} from "./task-definitions";

export const LABEL = "org.openhands-team.ecs-standin";

export type LastStatus = "PROVISIONING" | "PENDING" | "ACTIVATING" | "RUNNING" | "DEACTIVATING" | "STOPPING" | "DEPROVISIONING" | "STOPPED";

export interface Subnet {
  /** `subnet-` followed by hex, as EC2 names them. */
  readonly id: string;
  /** The Docker network's subnet, e.g. "10.250.1.0/24". */
  readonly cidr: string;
  readonly availabilityZone?: string;
}

export interface TaskSetting {
  readonly region: string;
  readonly accountId: string;
  readonly instance: string;
  readonly clusters: ReadonlySet<string>;
  readonly subnets: ReadonlyMap<string, Subnet & { network: string }>;
  readonly securityGroups?: ReadonlySet<string>;
  readonly pause: { readonly image: string; readonly command: readonly string[] };
  readonly stoppedTaskRetentionMs: number;
  readonly stores: ResourceStores;
}

interface TaskContainer {
  readonly definition: ContainerDefinition;
  readonly containerArn: string;
  readonly command?: string[];
  readonly environment: KeyValue[];
  readonly cpu?: number;
  readonly memory?: number;
  readonly memoryReservation?: number;
  dockerId?: string;
  /** Resolved in PENDING: `secrets` as environment variables, EFS mount points as host folders. */
  secretEnvironment: KeyValue[];
  binds: Bind[];
  lastStatus: "PENDING" | "RUNNING" | "STOPPED";
  exitCode?: number;
  reason?: string;
}

interface Task {
  readonly id: string;
  readonly arn: string;
  readonly cluster: string;
  readonly definition: TaskDefinition;
  readonly startedBy?: string;
  readonly group: string;
  readonly overrides: JsonObject;
  readonly subnet: Subnet & { network: string };
  readonly capacityProviderName: string;
  readonly cpu?: string;
  readonly memory?: string;
  readonly tags: JsonObject[];
  readonly containers: TaskContainer[];
  readonly attachmentId: string;
  readonly createdAt: number;
  lastStatus: LastStatus;
  desiredStatus: "RUNNING" | "STOPPED";
  version: number;
  attachmentStatus: "PRECREATED" | "ATTACHED" | "DELETED";
  privateIp?: string;
  macAddress?: string;
  pauseId?: string;
  pullStartedAt?: number;
  pullStoppedAt?: number;
  startedAt?: number;
  connectivityAt?: number;
  stoppingAt?: number;
  executionStoppedAt?: number;
  stoppedAt?: number;
  stoppedReason?: string;
  stopCode?: "TaskFailedToStart" | "EssentialContainerExited" | "UserInitiated";
  /** Lifecycle steps run one after another per task (a StopTask waits for the start it interrupts). */
  work: Promise<void>;
}

const now = () => Date.now() / 1000;
const STARTED_BY = /^[A-Za-z0-9_/-]{1,128}$/;

export class TaskStore {
  private readonly tasks = new Map<string, Task>();

  constructor(
    private readonly setting: TaskSetting,
    private readonly registry: TaskDefinitionRegistry,
    private readonly docker: DockerEngine,
  ) {}

  /** `cluster` as a short name or ARN; absent means "default" (ClusterNotFoundException when it does not exist). */
  cluster(body: JsonObject): string {
    const given = optionalString(body, "cluster") ?? "default";
    const arn = /^arn:aws:ecs:([^:]+):(\d+):cluster\/(.+)$/.exec(given);
    const name = arn ? (arn[1] === this.setting.region && arn[2] === this.setting.accountId ? arn[3] : undefined) : given;
    if (!name || !this.setting.clusters.has(name)) throw new EcsError("ClusterNotFoundException", "Cluster not found.");
    return name;
  }

  clusterArn(name: string): string {
    return `arn:aws:ecs:${this.setting.region}:${this.setting.accountId}:cluster/${name}`;
  }

  run(body: JsonObject): { tasks: JsonObject[]; failures: JsonObject[] } {
    const cluster = this.cluster(body);
    const reference = requiredString(body, "taskDefinition");
    const definition = this.registry.find(reference);
    if (!definition) throw clientError("TaskDefinition not found.");
    if (definition.status !== "ACTIVE") throw clientError("TaskDefinition is inactive");
    const count = optionalInteger(body, "count") ?? 1;
    if (count > 10) throw invalidParameter("Task count can not be greater than 10");
    if (count < 1) throw invalidParameter(`count ${count} is invalid: run 1 to 10 tasks per call.`);
    const startedBy = optionalString(body, "startedBy");
    if (startedBy !== undefined && !STARTED_BY.test(startedBy)) {
      throw invalidParameter(
        `startedBy ${JSON.stringify(startedBy)} is invalid: up to 128 letters, numbers, hyphens, slashes and underscores.`,
      );
    }
    const group = optionalString(body, "group") ?? `family:${definition.family}`;
    if (group.length > 255) throw invalidParameter("group can have at most 255 characters.");
    const capacityProviderName = this.capacityProvider(body, definition);
    if (capacityProviderName === undefined) {
      return { tasks: [], failures: [{ arn: this.clusterArn(cluster), reason: "No Container Instances were found in your cluster." }] };
    }
    const subnet = this.network(body);
    const overrides = optionalObject(body, "overrides") ?? {};
    if (JSON.stringify(overrides).length > 8192) throw invalidParameter("Container Overrides length must be at most 8192");
    const containerOverrides = new Map<string, JsonObject>();
    for (const [index, override] of (objectList(overrides, "containerOverrides", "overrides.containerOverrides") ?? []).entries()) {
      const name = requiredString(override, "name", `overrides.containerOverrides[${index}].name`);
      if (!definition.containerDefinitions.some((container) => container.name === name)) {
        throw invalidParameter(`Override for container named ${name} is not a container in the TaskDefinition.`);
      }
      containerOverrides.set(name, override);
    }
    const settings = definition.containerDefinitions.map((container) =>
      containerSettings(container, containerOverrides.get(container.name)),
    );
    const cpuOverride = optionalString(overrides, "cpu", "overrides.cpu");
    const memoryOverride = optionalString(overrides, "memory", "overrides.memory");
    const cpu = cpuOverride === undefined ? definition.cpu : String(cpuUnits(cpuOverride, "overrides.cpu"));
    const memory = memoryOverride === undefined ? definition.memory : String(memoryMiB(memoryOverride, "overrides.memory"));
    const tags = objectList(body, "tags") ?? [];
    if (tags.length > 50) throw invalidParameter("tags can have at most 50 items.");

    const tasks: JsonObject[] = [];
    for (let n = 0; n < count; n++) {
      const id = randomBytes(16).toString("hex");
      const arn = `arn:aws:ecs:${this.setting.region}:${this.setting.accountId}:task/${cluster}/${id}`;
      const task: Task = {
        id,
        arn,
        cluster,
        definition,
        startedBy,
        group,
        overrides,
        subnet,
        capacityProviderName,
        cpu,
        memory,
        tags,
        containers: settings.map((setting) => ({
          ...setting,
          containerArn: this.containerArn(arn),
          secretEnvironment: [],
          binds: [],
          lastStatus: "PENDING" as const,
        })),
        attachmentId: randomUUID(),
        createdAt: now(),
        lastStatus: "PROVISIONING",
        desiredStatus: "RUNNING",
        version: 1,
        attachmentStatus: "PRECREATED",
        work: Promise.resolve(),
      };
      this.tasks.set(arn, task);
      this.schedule(task, () => this.launch(task));
      tasks.push(this.view(task, false));
    }
    return { tasks, failures: [] };
  }

  private containerArn(taskArn: string): string {
    return taskArn.replace(":task/", ":container/").concat(`/${randomUUID()}`);
  }

  stop(body: JsonObject): JsonObject {
    const cluster = this.cluster(body);
    const reference = requiredString(body, "task");
    const reason = optionalString(body, "reason");
    if (reason !== undefined && reason.length > 255) throw invalidParameter("reason can have at most 255 characters.");
    const task = this.find(cluster, reference);
    if (!task) throw invalidParameter("The referenced task was not found.");
    this.requestStop(task, "UserInitiated", reason ?? "Task stopped by user");
    return this.view(task, false);
  }

  async describe(body: JsonObject): Promise<{ tasks: JsonObject[]; failures: JsonObject[] }> {
    const cluster = this.cluster(body);
    const references = stringList(body, "tasks");
    if (!references || references.length === 0) throw invalidParameter("Tasks cannot be empty.");
    if (references.length > 100) throw invalidParameter("tasks can have at most 100 items.");
    const include = stringList(body, "include") ?? [];
    for (const item of include) if (item !== "TAGS") throw invalidParameter(`include: "${item}" is invalid (TAGS).`);
    await this.refresh();
    const tasks: JsonObject[] = [];
    const failures: JsonObject[] = [];
    for (const reference of references) {
      const task = this.find(cluster, reference);
      if (task) tasks.push(this.view(task, include.includes("TAGS")));
      else failures.push({ arn: reference.startsWith("arn:") ? reference : this.taskArn(cluster, reference), reason: "MISSING" });
    }
    return { tasks, failures };
  }

  async list(body: JsonObject): Promise<{ taskArns: string[]; nextToken?: string }> {
    const cluster = this.cluster(body);
    const family = optionalString(body, "family");
    const startedBy = optionalString(body, "startedBy");
    const serviceName = optionalString(body, "serviceName");
    const containerInstance = optionalString(body, "containerInstance");
    const launchType = optionalString(body, "launchType");
    // ECS: "When you specify startedBy as the filter, it must be the only filter that you use" (desiredStatus aside).
    if (startedBy !== undefined && (family !== undefined || serviceName !== undefined || containerInstance !== undefined)) {
      throw invalidParameter("startedBy cannot be combined with family, serviceName or containerInstance: it must be the only filter.");
    }
    const desiredStatus = optionalString(body, "desiredStatus") ?? "RUNNING";
    if (!["RUNNING", "PENDING", "STOPPED"].includes(desiredStatus)) {
      throw invalidParameter(`desiredStatus "${desiredStatus}" is invalid (RUNNING, PENDING or STOPPED).`);
    }
    if (launchType !== undefined && !["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"].includes(launchType)) {
      throw invalidParameter(`launchType "${launchType}" is invalid (EC2, FARGATE, EXTERNAL or MANAGED_INSTANCES).`);
    }
    const maxResults = optionalInteger(body, "maxResults") ?? 100;
    if (maxResults < 1 || maxResults > 100) throw invalidParameter(`maxResults ${maxResults} is invalid: 1 to 100.`);
    await this.refresh();
    const matching = [...this.tasks.values()]
      .filter(
        (task) =>
          task.cluster === cluster &&
          // ECS never sets a desired status of PENDING, so that filter finds nothing.
          task.desiredStatus === desiredStatus &&
          (family === undefined || task.definition.family === family) &&
          (startedBy === undefined || task.startedBy === startedBy) &&
          serviceName === undefined &&
          containerInstance === undefined &&
          (launchType === undefined || launchType === "FARGATE"),
      )
      .map((task) => task.arn);
    const offset = decodeToken(optionalString(body, "nextToken"));
    const page = matching.slice(offset, offset + maxResults);
    const next = offset + maxResults < matching.length ? encodeToken(offset + maxResults) : undefined;
    return { taskArns: page, ...(next ? { nextToken: next } : {}) };
  }

  /** Stops every task (SIGKILL, no grace) and removes its containers: the end of a test run. */
  async closeAll(): Promise<void> {
    const removeAll = async () => {
      for (const task of this.tasks.values()) {
        for (const container of task.containers) if (container.dockerId) await this.docker.remove(container.dockerId);
        if (task.pauseId) await this.docker.remove(task.pauseId);
      }
    };
    // A start in progress gives up at its next step; a stop waiting out its grace period returns once the
    // containers are gone; whatever a start created meanwhile goes in the second pass.
    for (const task of this.tasks.values()) task.desiredStatus = "STOPPED";
    await removeAll();
    await Promise.allSettled([...this.tasks.values()].map((task) => task.work));
    await removeAll();
  }

  // --- lifecycle ----------------------------------------------------------------------------------------------

  private schedule(task: Task, step: () => Promise<void>): void {
    task.work = task.work.then(step).catch((error: unknown) => this.failStart(task, `${(error as Error).message}`));
  }

  private setStatus(task: Task, status: LastStatus): void {
    task.lastStatus = status;
    task.version++;
  }

  private labels(task: Task, container?: TaskContainer): Record<string, string> {
    return {
      [LABEL]: this.setting.instance,
      [`${LABEL}.task`]: task.id,
      // The labels the ECS container agent puts on a task's Docker containers.
      "com.amazonaws.ecs.cluster": this.clusterArn(task.cluster),
      "com.amazonaws.ecs.task-arn": task.arn,
      "com.amazonaws.ecs.task-definition-family": task.definition.family,
      "com.amazonaws.ecs.task-definition-version": String(task.definition.revision),
      "com.amazonaws.ecs.container-name": container ? container.definition.name : "~internal~ecs~pause",
    };
  }

  private async launch(task: Task): Promise<void> {
    if (stopRequested(task)) return;
    // PROVISIONING: the ENI. The network owner's address on the subnet's network is the task's private IPv4.
    const pause = await this.docker.call<{ Id: string }>("POST", `/containers/create?name=ecs-standin-${task.id}-pause`, {
      Image: this.setting.pause.image,
      Cmd: this.setting.pause.command,
      Labels: this.labels(task),
      HostConfig: { NetworkMode: task.subnet.network },
      NetworkingConfig: { EndpointsConfig: { [task.subnet.network]: {} } },
    });
    task.pauseId = pause.Id;
    await this.docker.call("POST", `/containers/${pause.Id}/start`);
    const inspected = await this.docker.inspect(pause.Id);
    const endpoint = inspected?.NetworkSettings.Networks[task.subnet.network];
    if (!endpoint?.IPAddress) throw new Error("ResourceInitializationError: the task's network interface got no address");
    task.privateIp = endpoint.IPAddress;
    task.macAddress = endpoint.MacAddress;
    task.attachmentStatus = "ATTACHED";
    if (stopRequested(task)) return;
    // PENDING: images and containers.
    this.setStatus(task, "PENDING");
    // Secrets and volumes come before the images (a TaskStartFailure here stops the task as ECS would).
    const taskRoleArn = optionalString(task.overrides, "taskRoleArn") ?? task.definition.taskRoleArn;
    // A role whose trust policy does not let ECS tasks assume it (or that does not exist) gives the task no credentials.
    if (taskRoleArn && this.setting.stores.iam && !this.setting.stores.iam.mayAssume(taskRoleArn, task.arn, task.createdAt * 1000)) {
      throw new Error(
        `ResourceInitializationError: ECS was unable to assume the role '${taskRoleArn}' that was provided for this task. ` +
          "Please verify that the role being passed has the proper trust relationship and permissions.",
      );
    }
    for (const container of task.containers) {
      container.secretEnvironment = resolveSecrets(container.definition.raw, this.setting.stores);
      container.binds = resolveMounts(container.definition.raw, task.definition.volumes, taskRoleArn, this.setting.stores);
    }
    task.pullStartedAt = now();
    for (const container of task.containers) {
      try {
        await this.docker.call("GET", `/images/${encodeURIComponent(container.definition.image)}/json`);
      } catch (error) {
        if (error instanceof DockerCallError && error.status === 404) {
          container.reason = `CannotPullContainerError: pull image manifest has been retried 5 time(s): ${error.daemonMessage}`;
          throw new Error(container.reason);
        }
        throw error;
      }
    }
    task.pullStoppedAt = now();
    for (const container of task.containers) {
      const created = await this.docker.call<{ Id: string }>(
        "POST",
        `/containers/create?name=${dockerName(task, container)}`,
        this.createBody(task, container),
      );
      container.dockerId = created.Id;
    }
    if (stopRequested(task)) return;
    // ACTIVATING, then RUNNING once every container runs.
    this.setStatus(task, "ACTIVATING");
    for (const container of task.containers) await this.docker.call("POST", `/containers/${container.dockerId}/start`);
    for (const container of task.containers) container.lastStatus = "RUNNING";
    task.startedAt = now();
    task.connectivityAt = task.startedAt;
    this.setStatus(task, "RUNNING");
  }

  private createBody(task: Task, container: TaskContainer): JsonObject {
    const definition = container.definition;
    const taskMemory = task.memory === undefined ? undefined : Number(task.memory);
    const memory = container.memory ?? taskMemory;
    const host: JsonObject = {
      NetworkMode: `container:${task.pauseId}`,
      ...(memory !== undefined ? { Memory: memory * 1024 * 1024 } : {}),
      ...(container.memoryReservation !== undefined ? { MemoryReservation: container.memoryReservation * 1024 * 1024 } : {}),
      ...(container.cpu !== undefined && container.cpu > 0 ? { CpuShares: Math.max(2, container.cpu) } : {}),
      // Fargate's task-level CPU is a hard ceiling; a CPU quota on each container stands for it.
      ...(task.cpu !== undefined ? { NanoCpus: Math.round((Number(task.cpu) / 1024) * 1e9) } : {}),
      ...(definition.readonlyRootFilesystem ? { ReadonlyRootfs: true } : {}),
      ...(definition.initProcessEnabled ? { Init: true } : {}),
      ...(container.binds.length > 0
        ? { Binds: container.binds.map((bind) => `${bind.hostPath}:${bind.containerPath}${bind.readOnly ? ":ro" : ""}`) }
        : {}),
    };
    return {
      Image: definition.image,
      ...(container.command ? { Cmd: container.command } : {}),
      ...(definition.entryPoint ? { Entrypoint: definition.entryPoint } : {}),
      Env: [...container.environment, ...container.secretEnvironment].map(({ name, value }) => `${name}=${value}`),
      ...(definition.workingDirectory ? { WorkingDir: definition.workingDirectory } : {}),
      ...(definition.user ? { User: definition.user } : {}),
      Labels: this.labels(task, container),
      HostConfig: host,
    };
  }

  private async failStart(task: Task, reason: string): Promise<void> {
    if (task.lastStatus === "STOPPED") return;
    task.desiredStatus = "STOPPED";
    task.stopCode ??= "TaskFailedToStart";
    task.stoppedReason ??= reason;
    task.stoppingAt ??= now();
    await this.teardown(task).catch(() => undefined);
  }

  private requestStop(task: Task, stopCode: Task["stopCode"], reason: string): void {
    if (task.desiredStatus === "STOPPED") return;
    task.desiredStatus = "STOPPED";
    task.stopCode = stopCode;
    task.stoppedReason = reason;
    task.stoppingAt = now();
    task.version++;
    this.schedule(task, () => this.teardown(task));
  }

  private async teardown(task: Task): Promise<void> {
    if (task.lastStatus === "STOPPED") return;
    this.setStatus(task, "DEACTIVATING");
    this.setStatus(task, "STOPPING");
    await Promise.all(
      task.containers.map(async (container) => {
        if (!container.dockerId) return;
        const timeout = container.definition.stopTimeout ?? 30;
        try {
          await this.docker.call("POST", `/containers/${container.dockerId}/stop?t=${timeout}`);
        } catch (error) {
          if (!(error instanceof DockerCallError && (error.status === 404 || error.status === 304))) throw error;
        }
      }),
    );
    task.executionStoppedAt = now();
    this.setStatus(task, "DEPROVISIONING");
    for (const container of task.containers) {
      if (container.dockerId) {
        const state = (await this.docker.inspect(container.dockerId))?.State;
        if (state && container.exitCode === undefined && state.StartedAt !== "0001-01-01T00:00:00Z") container.exitCode = state.ExitCode;
        await this.docker.remove(container.dockerId);
      }
      container.lastStatus = "STOPPED";
    }
    if (task.pauseId) await this.docker.remove(task.pauseId);
    task.attachmentStatus = "DELETED";
    task.stoppedAt = now();
    this.setStatus(task, "STOPPED");
  }

  /** Follows the containers of running tasks: an exited essential container stops its task. */
  private async refresh(): Promise<void> {
    const cutoff = now() - this.setting.stoppedTaskRetentionMs / 1000;
    for (const [arn, task] of this.tasks) {
      if (task.lastStatus === "STOPPED" && (task.stoppedAt ?? 0) < cutoff) this.tasks.delete(arn);
    }
    for (const task of this.tasks.values()) {
      if (task.lastStatus !== "RUNNING" || task.desiredStatus !== "RUNNING") continue;
      for (const container of task.containers) {
        if (container.lastStatus !== "RUNNING" || !container.dockerId) continue;
        const state = (await this.docker.inspect(container.dockerId))?.State;
        if (state?.Running) continue;
        container.lastStatus = "STOPPED";
        container.exitCode = state?.ExitCode;
        if (state?.OOMKilled) container.reason = "OutOfMemoryError: Container killed due to memory usage";
        task.version++;
        if (container.definition.essential) this.requestStop(task, "EssentialContainerExited", "Essential container in task exited");
      }
    }
  }

  // --- lookups and views --------------------------------------------------------------------------------------

  private taskArn(cluster: string, id: string): string {
    return `arn:aws:ecs:${this.setting.region}:${this.setting.accountId}:task/${cluster}/${id}`;
  }

  /** A task by ID or ARN, in the given cluster only. */
  private find(cluster: string, reference: string): Task | undefined {
    const arn = reference.startsWith("arn:") ? reference : this.taskArn(cluster, reference);
    const task = this.tasks.get(arn);
    return task?.cluster === cluster ? task : undefined;
  }

  private capacityProvider(body: JsonObject, definition: TaskDefinition): string | undefined {
    const launchType = optionalString(body, "launchType");
    const strategy = objectList(body, "capacityProviderStrategy");
    if (launchType !== undefined && strategy !== undefined) {
      throw invalidParameter("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.");
    }
    if (launchType !== undefined && !["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"].includes(launchType)) {
      throw invalidParameter(`launchType "${launchType}" is invalid (EC2, FARGATE, EXTERNAL or MANAGED_INSTANCES).`);
    }
    // The stand-in's clusters have no container instances, only the Fargate capacity providers.
    if (launchType !== undefined && launchType !== "FARGATE") return undefined;
    let provider = "FARGATE";
    if (strategy !== undefined) {
      if (strategy.length === 0 || strategy.length > 20) throw invalidParameter("capacityProviderStrategy must have 1 to 20 items.");
      const items = strategy.map((item, index) => ({
        name: requiredString(item, "capacityProvider", `capacityProviderStrategy[${index}].capacityProvider`),
        weight: optionalInteger(item, "weight", `capacityProviderStrategy[${index}].weight`) ?? 0,
        base: optionalInteger(item, "base", `capacityProviderStrategy[${index}].base`) ?? 0,
      }));
      for (const item of items) {
        if (item.name !== "FARGATE" && item.name !== "FARGATE_SPOT") {
          throw invalidParameter(
            "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. " +
              `Associate the capacity provider with the cluster or specify a valid capacity provider and try again. (${item.name})`,
          );
        }
      }
      const chosen = items.find((item) => item.base > 0) ?? items.find((item) => item.weight > 0);
      if (!chosen) throw invalidParameter("capacityProviderStrategy: at least one capacity provider must have a weight greater than 0.");
      provider = chosen.name;
    }
    if (!fargateCompatible(definition)) throw clientError("Task definition does not support launch_type FARGATE.");
    return provider;
  }

  private network(body: JsonObject): Subnet & { network: string } {
    const configuration = optionalObject(body, "networkConfiguration");
    const awsvpc = configuration
      ? optionalObject(configuration, "awsvpcConfiguration", "networkConfiguration.awsvpcConfiguration")
      : undefined;
    if (!awsvpc) throw invalidParameter("Network Configuration must be provided when networkMode 'awsvpc' is specified.");
    const subnets = stringList(awsvpc, "subnets", "networkConfiguration.awsvpcConfiguration.subnets") ?? [];
    if (subnets.length === 0) throw invalidParameter("subnets can not be empty.");
    if (subnets.length > 16) throw invalidParameter("subnets can have at most 16 items.");
    const known = subnets.map((id) => {
      const subnet = this.setting.subnets.get(id);
      if (!subnet) {
        throw invalidParameter(
          `Error retrieving subnet information for [${id}]: The subnet ID '${id}' does not exist (ErrorCode: InvalidSubnetID.NotFound)`,
        );
      }
      return subnet;
    });
    const groups = stringList(awsvpc, "securityGroups", "networkConfiguration.awsvpcConfiguration.securityGroups") ?? [];
    if (groups.length > 5) throw invalidParameter("securityGroups can have at most 5 items.");
    for (const group of groups) {
      if (this.setting.securityGroups && !this.setting.securityGroups.has(group)) {
        throw invalidParameter(
          `Error retrieving security group information for [${group}]: ` +
            `The security group '${group}' does not exist (ErrorCode: InvalidGroup.NotFound)`,
        );
      }
    }
    const assignPublicIp = optionalString(awsvpc, "assignPublicIp", "networkConfiguration.awsvpcConfiguration.assignPublicIp");
    if (assignPublicIp !== undefined && assignPublicIp !== "ENABLED" && assignPublicIp !== "DISABLED") {
      throw invalidParameter(`assignPublicIp "${assignPublicIp}" is invalid (ENABLED or DISABLED).`);
    }
    const first = known[0];
    if (!first) throw invalidParameter("subnets can not be empty.");
    return first;
  }

  private view(task: Task, withTags: boolean): JsonObject {
    const attachmentDetails: JsonObject[] = [{ name: "subnetId", value: task.subnet.id }];
    if (task.privateIp && task.attachmentStatus !== "PRECREATED") {
      attachmentDetails.push(
        { name: "networkInterfaceId", value: `eni-${task.attachmentId.replace(/-/g, "").slice(0, 17)}` },
        { name: "macAddress", value: task.macAddress ?? "" },
        { name: "privateDnsName", value: `ip-${task.privateIp.replace(/\./g, "-")}.${this.setting.region}.compute.internal` },
        { name: "privateIPv4Address", value: task.privateIp },
      );
    }
    const optional: JsonObject = {};
    const put = (key: string, value: Json | undefined) => {
      if (value !== undefined) optional[key] = value;
    };
    put("startedBy", task.startedBy);
    put("cpu", task.cpu);
    put("memory", task.memory);
    put("pullStartedAt", task.pullStartedAt);
    put("pullStoppedAt", task.pullStoppedAt);
    put("startedAt", task.startedAt);
    put("connectivityAt", task.connectivityAt);
    put("stoppingAt", task.stoppingAt);
    put("executionStoppedAt", task.executionStoppedAt);
    put("stoppedAt", task.stoppedAt);
    put("stoppedReason", task.stoppedReason);
    put("stopCode", task.stopCode);
    if (withTags) optional.tags = task.tags;
    return {
      taskArn: task.arn,
      clusterArn: this.clusterArn(task.cluster),
      taskDefinitionArn: task.definition.taskDefinitionArn,
      group: task.group,
      lastStatus: task.lastStatus,
      desiredStatus: task.desiredStatus,
      launchType: "FARGATE",
      capacityProviderName: task.capacityProviderName,
      platformVersion: "1.4.0",
      platformFamily: "Linux",
      availabilityZone: task.subnet.availabilityZone ?? `${this.setting.region}a`,
      connectivity: task.connectivityAt ? "CONNECTED" : "DISCONNECTED",
      createdAt: task.createdAt,
      version: task.version,
      enableExecuteCommand: false,
      ephemeralStorage: { sizeInGiB: 20 },
      overrides: { containerOverrides: [], inferenceAcceleratorOverrides: [], ...task.overrides },
      attachments: [{ id: task.attachmentId, type: "ElasticNetworkInterface", status: task.attachmentStatus, details: attachmentDetails }],
      containers: task.containers.map((container) => {
        const entry: JsonObject = {
          containerArn: container.containerArn,
          taskArn: task.arn,
          name: container.definition.name,
          image: container.definition.image,
          lastStatus: container.lastStatus,
          healthStatus: "UNKNOWN",
          cpu: String(container.cpu ?? 0),
          networkInterfaces:
            task.privateIp && task.attachmentStatus !== "PRECREATED"
              ? [{ attachmentId: task.attachmentId, privateIpv4Address: task.privateIp }]
              : [],
        };
        if (container.memory !== undefined) entry.memory = String(container.memory);
        if (container.memoryReservation !== undefined) entry.memoryReservation = String(container.memoryReservation);
        if (container.dockerId) entry.runtimeId = container.dockerId;
        if (container.exitCode !== undefined) entry.exitCode = container.exitCode;
        if (container.reason !== undefined) entry.reason = container.reason;
        return entry;
      }),
      ...optional,
    };
  }
}

type ContainerSettings = Pick<TaskContainer, "definition" | "command" | "environment" | "cpu" | "memory" | "memoryReservation">;

/** A container definition with its override applied (validated once per RunTask, before any task starts). */
function containerSettings(definition: ContainerDefinition, override: JsonObject | undefined): ContainerSettings {
  const path = `overrides.containerOverrides[${definition.name}]`;
  const environment = new Map(definition.environment.map((item) => [item.name, item.value]));
  for (const item of (override && keyValueList(override, "environment", `${path}.environment`)) ?? [])
    environment.set(item.name, item.value);
  return {
    definition,
    command: (override && stringList(override, "command", `${path}.command`)) ?? definition.command,
    environment: [...environment].map(([name, value]) => ({ name, value })),
    cpu: (override && optionalInteger(override, "cpu", `${path}.cpu`)) ?? definition.cpu,
    memory: (override && optionalInteger(override, "memory", `${path}.memory`)) ?? definition.memory,
    memoryReservation:
      (override && optionalInteger(override, "memoryReservation", `${path}.memoryReservation`)) ?? definition.memoryReservation,
  };
}

/** The ECS agent's container name: `ecs-<family>-<revision>-<container>-<random>`. */
function dockerName(task: Task, container: TaskContainer): string {
  return `ecs-${task.definition.family}-${task.definition.revision}-${container.definition.name}-${randomBytes(6).toString("hex")}`;
}

/** Read through a call, so that a check after an await sees a StopTask that arrived meanwhile. */
function stopRequested(task: Task): boolean {
  return task.desiredStatus === "STOPPED";
}

function encodeToken(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString("base64url");
}

function decodeToken(token: string | undefined): number {
  if (token === undefined) return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { offset?: unknown };
    if (typeof parsed.offset === "number" && Number.isInteger(parsed.offset) && parsed.offset >= 0) return parsed.offset;
  } catch {
    // falls through to the error
  }
  throw invalidParameter("Invalid nextToken: pass the nextToken of the previous ListTasks answer unchanged.");
}
