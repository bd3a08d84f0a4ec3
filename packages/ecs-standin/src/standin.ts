/**
 * The ECS API stand-in: an HTTP server on loopback speaking Amazon ECS's JSON 1.1 protocol (`POST /` with
 * `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Operation>` and `Content-Type: application/x-amz-json-1.1`) for
 * RegisterTaskDefinition, DeregisterTaskDefinition, DescribeTaskDefinition, RunTask, StopTask, DescribeTasks and
 * ListTasks, whose tasks are real containers on a Docker engine.
 *
 * ECS cannot run here (no AWS account is reachable from the test machines), so this stands for it in tests. Written
 * from the ECS API reference (API_RunTask, API_StopTask, API_DescribeTasks, API_ListTasks, API_RegisterTaskDefinition,
 * API_DeregisterTaskDefinition, API_Task, API_Container, API_Attachment, API_Failure, "Common Errors") and the
 * Developer Guide's task lifecycle, Fargate task size and API failure reason pages; see README.md.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type HttpAnswer, isSigned } from "./aws-protocol";
import { EfsApi } from "./efs-api";
import { DockerCallError, DockerEngine } from "./engine";
import { EcsError, type EcsErrorType } from "./errors";
import { isObject, type JsonObject, requiredString } from "./fields";
import { IamApi } from "./iam-api";
import { SECRETS_TARGET_PREFIX, SecretsManagerApi } from "./secrets-api";
import { TaskDefinitionRegistry, taskDefinitionView } from "./task-definitions";
import type { AccessPoint, EfsStandIn, TaskRoleAuthority } from "./task-resources";
import { LABEL, type Subnet, TaskStore } from "./tasks";

export const TARGET_PREFIX = "AmazonEC2ContainerServiceV20141113.";
export const CONTENT_TYPE = "application/x-amz-json-1.1";

export type Operation =
  | "RegisterTaskDefinition"
  | "DeregisterTaskDefinition"
  | "DescribeTaskDefinition"
  | "RunTask"
  | "StopTask"
  | "DescribeTasks"
  | "ListTasks";

export interface EcsStandInOptions {
  /** The Docker engine's API socket (the lab engine's in tests). */
  readonly socketPath: string;
  /** @default "eu-central-1" */
  readonly region?: string;
  /** @default "123456789012" */
  readonly accountId?: string;
  /** Cluster names that exist, each with the FARGATE and FARGATE_SPOT capacity providers. @default ["default"] */
  readonly clusters?: readonly string[];
  /** The VPC subnets tasks may be placed in; each becomes a Docker network with that CIDR. */
  readonly subnets: readonly Subnet[];
  /** Security group IDs that exist; when given, any other ID is refused as EC2 would. @default any */
  readonly securityGroups?: readonly string[];
  /** The network-owner container every task gets (ECS's "pause" container): an image on the engine and a command that waits. */
  readonly pause: { readonly image: string; readonly command: readonly string[] };
  /** Secrets Manager secret ARNs and SSM parameter ARNs or names to their values, for task definitions' `secrets`. @default {} */
  readonly secrets?: Readonly<Record<string, string>>;
  /** EFS file systems (host folders the engine can bind) and access points, for `efsVolumeConfiguration` volumes. @default none */
  readonly efs?: EfsStandIn;
  /** How long a STOPPED task stays visible to DescribeTasks and ListTasks (ECS: at least an hour). @default 3600000 */
  readonly stoppedTaskRetentionMs?: number;
  /**
   * Evaluate task roles as IAM would: every task role must be a role made through the IAM API with a trust policy
   * admitting ecs-tasks.amazonaws.com, and an IAM-authorised EFS mount needs its policies (and permissions boundary) to
   * allow elasticfilesystem:ClientMount (ClientWrite to write). `policies`: the managed policies that exist (ARN to
   * document), such as a permissions boundary; `propagationMs`: how long a new role stays unassumable (IAM's eventual
   * consistency; default 0). Absent: task roles are taken as given and may mount anything.
   */
  readonly iam?: { readonly policies?: Readonly<Record<string, string>>; readonly propagationMs?: number };
  /** How long an access point made through the EFS API stays `creating`. @default 300 */
  readonly accessPointReadyMs?: number;
}

interface InjectedFault {
  readonly type: EcsErrorType;
  readonly message: string;
}

/** Default messages of the faults tests may inject, as ECS words them. */
const FAULT_MESSAGES: Partial<Record<EcsErrorType, string>> = {
  ThrottlingException: "Rate exceeded",
  ServerException: "Service Unavailable. Please try again later.",
};

export class EcsStandIn {
  private server?: Server;
  private readonly networks: string[] = [];
  private readonly faults = new Map<Operation, InjectedFault[]>();
  private readonly docker: DockerEngine;
  private readonly registry: TaskDefinitionRegistry;
  private readonly tasks: TaskStore;
  readonly region: string;
  readonly accountId: string;
  /** Calls answered, in order, for assertions on what a client sent (`service` set for the EFS, IAM and Secrets Manager APIs). */
  readonly calls: { operation: string; status: number; body: unknown; service?: "efs" | "iam" | "secretsmanager" }[] = [];
  /** The EFS API's access points (they are the stand-in's access points tasks mount). */
  readonly efs: EfsApi;
  /** The IAM API's roles (task roles, evaluated when `iam` is given). */
  readonly iam: IamApi;
  /** The Secrets Manager API's secrets (their current values are what tasks' `secrets` resolve to). */
  readonly secretsManager: SecretsManagerApi;
  private readonly instance = randomBytes(6).toString("hex");

  private constructor(options: EcsStandInOptions) {
    this.region = options.region ?? "eu-central-1";
    this.accountId = options.accountId ?? "123456789012";
    this.docker = new DockerEngine(options.socketPath);
    this.registry = new TaskDefinitionRegistry(this.region, this.accountId);
    // The stores tasks read are the ones the EFS, IAM and Secrets Manager APIs write.
    const secretStore: Record<string, string> = { ...(options.secrets ?? {}) };
    const accessPoints: Record<string, AccessPoint> = { ...(options.efs?.accessPoints ?? {}) };
    const efs = options.efs ? { fileSystems: options.efs.fileSystems, accessPoints } : undefined;
    this.efs = new EfsApi({
      region: this.region,
      accountId: this.accountId,
      fileSystems: options.efs?.fileSystems ?? {},
      accessPoints,
      readyAfterMs: options.accessPointReadyMs ?? 300,
      limitPerFileSystem: 10_000,
    });
    this.iam = new IamApi({
      accountId: this.accountId,
      policies: options.iam?.policies ?? {},
      ...(options.iam?.propagationMs ? { propagationMs: options.iam.propagationMs } : {}),
    });
    this.secretsManager = new SecretsManagerApi({ region: this.region, accountId: this.accountId, store: secretStore });
    const subnets = new Map(
      options.subnets.map((subnet) => [subnet.id, { ...subnet, network: `ecs-standin-${this.instance}-${subnet.id}` }]),
    );
    this.tasks = new TaskStore(
      {
        region: this.region,
        accountId: this.accountId,
        instance: this.instance,
        clusters: new Set(options.clusters ?? ["default"]),
        subnets,
        securityGroups: options.securityGroups ? new Set(options.securityGroups) : undefined,
        pause: options.pause,
        stoppedTaskRetentionMs: options.stoppedTaskRetentionMs ?? 3_600_000,
        stores: { secrets: secretStore, efs, ...(options.iam ? { iam: this.roleAuthority() } : {}) },
      },
      this.registry,
      this.docker,
    );
  }

  /** Creates the subnets' Docker networks and listens on 127.0.0.1 (a free port). */
  static async start(options: EcsStandInOptions): Promise<EcsStandIn> {
    for (const subnet of options.subnets) {
      if (!/^subnet-[0-9a-f]{8,17}$/.test(subnet.id)) {
        throw new Error(`ecs-standin: subnets[].id "${subnet.id}" is not a subnet ID (subnet- followed by 8 to 17 hex digits)`);
      }
    }
    const standIn = new EcsStandIn(options);
    try {
      for (const subnet of options.subnets) {
        const name = `ecs-standin-${standIn.instance}-${subnet.id}`;
        await standIn.docker.call("POST", "/networks/create", {
          Name: name,
          CheckDuplicate: true,
          // AWS keeps the first four addresses of a subnet (network, router, DNS, reserved) and the last: Docker's
          // gateway takes .1, and .2 and .3 are held as auxiliary addresses, so tasks get .4 onward as in a VPC.
          IPAM: { Config: [{ Subnet: subnet.cidr, AuxiliaryAddresses: reservedAddresses(subnet.cidr) }] },
          Labels: { [LABEL]: standIn.instance },
        });
        standIn.networks.push(name);
      }
      standIn.server = createServer((req, res) => void standIn.handle(req, res));
      await new Promise<void>((resolve, reject) => {
        standIn.server?.once("error", reject);
        standIn.server?.listen(0, "127.0.0.1", resolve);
      });
      return standIn;
    } catch (error) {
      await standIn.close();
      throw error;
    }
  }

  /** `http://127.0.0.1:<port>`: the endpoint an ECS client is pointed at. */
  get endpoint(): string {
    const address = this.server?.address() as AddressInfo | undefined;
    if (!address) throw new Error("ecs-standin: not listening");
    return `http://127.0.0.1:${address.port}`;
  }

  /** The Docker network standing for a subnet (to attach a test's own containers, e.g. a client in the same VPC). */
  networkOf(subnetId: string): string {
    const name = `ecs-standin-${this.instance}-${subnetId}`;
    if (!this.networks.includes(name)) throw new Error(`ecs-standin: no subnet ${subnetId}`);
    return name;
  }

  /** The next call of `operation` answers this error (throttling, access denied, a service fault) instead of acting. */
  failNext(operation: Operation, type: EcsErrorType, message?: string): void {
    const fault = {
      type,
      message:
        message ??
        FAULT_MESSAGES[type] ??
        (type === "AccessDeniedException"
          ? `User: arn:aws:sts::${this.accountId}:assumed-role/test/session is not authorized to perform: ecs:${operation}`
          : `${type} injected by the test`),
    };
    this.faults.set(operation, [...(this.faults.get(operation) ?? []), fault]);
  }

  private roleAuthority(): TaskRoleAuthority {
    return {
      mayAssume: (roleArn, taskArn, placedAtMs) => this.iam.ecsMayAssume(roleArn, taskArn, placedAtMs),
      efsAccess: (roleArn, fileSystemId, accessPointId) => {
        const resource = `arn:aws:elasticfilesystem:${this.region}:${this.accountId}:file-system/${fileSystemId}`;
        // The request context EFS gives IAM for a mount through a mount target over TLS (EFS User Guide, "Using IAM to
        // control file system data access").
        const accessPointArn = `arn:aws:elasticfilesystem:${this.region}:${this.accountId}:access-point/${accessPointId}`;
        const context: Record<string, string> = {
          "elasticfilesystem:AccessedViaMountTarget": "true",
          "aws:SecureTransport": "true",
          ...(accessPointId ? { "elasticfilesystem:AccessPointArn": accessPointArn } : {}),
        };
        const allowed = (action: string) => this.iam.decide(roleArn, action, resource, context) === "allow";
        const mount = allowed("elasticfilesystem:ClientMount");
        return { mount, write: mount && allowed("elasticfilesystem:ClientWrite") };
      },
    };
  }

  /** Stops listening, removes every container and network it made. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    // Idle keep-alive connections would hold close() open until they time out.
    this.server?.closeAllConnections();
    await closed;
    await this.tasks.closeAll();
    for (const name of this.networks.splice(0)) {
      try {
        await this.docker.call("DELETE", `/networks/${encodeURIComponent(name)}`);
      } catch (error) {
        if (!(error instanceof DockerCallError && error.status === 404)) throw error;
      }
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= 1024 * 1024) chunks.push(chunk);
    });
    await new Promise<void>((resolve) => req.on("end", resolve));
    const other = this.otherService(req, Buffer.concat(chunks), size);
    if (other) {
      this.calls.push({ operation: other.operation, status: other.answer.status, body: parseAnswer(other.answer), service: other.service });
      const payload = Buffer.from(other.answer.body);
      res.writeHead(other.answer.status, {
        "content-type": other.answer.contentType,
        "content-length": String(payload.length),
        "x-amzn-requestid": requestId,
        ...other.answer.headers,
      });
      res.end(payload);
      return;
    }
    const target = String(req.headers["x-amz-target"] ?? "");
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target;
    let status = 200;
    let answer: unknown;
    try {
      answer = await this.dispatch(req, operation, Buffer.concat(chunks), size);
    } catch (error) {
      const ecsError = error instanceof EcsError ? error : new EcsError("ServerException", `Internal error: ${(error as Error).message}`);
      status = ecsError.status;
      answer = ecsError.body();
    }
    this.calls.push({ operation, status, body: answer });
    const payload = Buffer.from(JSON.stringify(answer));
    res.writeHead(status, { "content-type": CONTENT_TYPE, "content-length": String(payload.length), "x-amzn-requestid": requestId });
    res.end(payload);
  }

  /**
   * The EFS (`/2015-02-01/...`), Secrets Manager (`X-Amz-Target: secretsmanager.*`) and IAM (form-encoded `Action=`)
   * APIs on the same server; undefined for anything else, which the ECS API answers.
   */
  private otherService(
    req: IncomingMessage,
    raw: Buffer,
    size: number,
  ): { service: "efs" | "iam" | "secretsmanager"; operation: string; answer: HttpAnswer } | undefined {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const method = req.method ?? "GET";
    const target = String(req.headers["x-amz-target"] ?? "");
    const contentType = String(req.headers["content-type"] ?? "");
    let service: "efs" | "iam" | "secretsmanager";
    let operation: string;
    if (url.pathname.startsWith("/2015-02-01/")) {
      service = "efs";
      operation = EfsApi.operationOf(method, url.pathname) ?? `${method} ${url.pathname}`;
    } else if (target.startsWith(SECRETS_TARGET_PREFIX)) {
      service = "secretsmanager";
      operation = target.slice(SECRETS_TARGET_PREFIX.length);
    } else if (method === "POST" && url.pathname === "/" && contentType.startsWith("application/x-www-form-urlencoded")) {
      service = "iam";
      operation = new URLSearchParams(raw.toString("utf8")).get("Action") ?? "";
    } else {
      return undefined;
    }
    const refusal = (code: string, message: string, status: number): HttpAnswer =>
      service === "iam"
        ? {
            status,
            contentType: "text/xml",
            body: `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error></ErrorResponse>`,
          }
        : {
            status,
            contentType: "application/json",
            headers: { "x-amzn-errortype": code },
            body: JSON.stringify({ __type: code, message }),
          };
    if (!isSigned(req.headers.authorization)) {
      return {
        service,
        operation,
        answer: refusal(
          service === "iam" ? "MissingAuthenticationToken" : "MissingAuthenticationTokenException",
          "Missing Authentication Token",
          403,
        ),
      };
    }
    if (size > 1024 * 1024)
      return { service, operation, answer: refusal("SerializationException", "The request body is larger than 1 MiB.", 400) };
    if (service === "efs") {
      const efsOperation = EfsApi.operationOf(method, url.pathname);
      if (!efsOperation) return { service, operation, answer: refusal("UnknownOperationException", `${method} ${url.pathname}`, 404) };
      return { service, operation, answer: this.efs.handle(efsOperation, url.pathname, url.searchParams, raw) };
    }
    if (service === "secretsmanager") return { service, operation, answer: this.secretsManager.handle(operation, raw) };
    return { service, operation, answer: this.iam.handle(new URLSearchParams(raw.toString("utf8"))) };
  }

  private async dispatch(req: IncomingMessage, operation: string, raw: Buffer, size: number): Promise<unknown> {
    if (req.method !== "POST" || (req.url ?? "/").split("?")[0] !== "/") {
      throw new EcsError("UnknownOperationException", `${req.method} ${req.url}: the ECS API takes POST / only.`);
    }
    // ECS refuses unsigned calls before anything else; the stand-in checks that a Signature Version 4 header is there
    // (it cannot check the signature itself, having no credentials to check it against).
    if (!String(req.headers.authorization ?? "").startsWith("AWS4-HMAC-SHA256 ")) {
      throw new EcsError("MissingAuthenticationTokenException", "Missing Authentication Token");
    }
    const known: readonly string[] = [
      "RegisterTaskDefinition",
      "DeregisterTaskDefinition",
      "DescribeTaskDefinition",
      "RunTask",
      "StopTask",
      "DescribeTasks",
      "ListTasks",
    ];
    if (!known.includes(operation)) {
      throw new EcsError(
        "UnknownOperationException",
        `X-Amz-Target "${req.headers["x-amz-target"] ?? ""}" is not an operation of this stand-in.`,
      );
    }
    if (size > 1024 * 1024) throw new EcsError("SerializationException", "The request body is larger than 1 MiB.");
    let body: unknown;
    try {
      body = raw.length === 0 ? {} : JSON.parse(raw.toString("utf8"));
    } catch {
      throw new EcsError("SerializationException", "The request body is not JSON.");
    }
    if (!isObject(body)) throw new EcsError("SerializationException", "The request body must be a JSON object.");
    const queued = this.faults.get(operation as Operation);
    const fault = queued?.shift();
    if (fault) throw new EcsError(fault.type, fault.message);
    return this.operate(operation as Operation, body);
  }

  private async operate(operation: Operation, body: JsonObject): Promise<unknown> {
    switch (operation) {
      case "RegisterTaskDefinition": {
        const definition = this.registry.register(body);
        return { taskDefinition: taskDefinitionView(definition, this.accountId), tags: Array.isArray(body.tags) ? body.tags : [] };
      }
      case "DeregisterTaskDefinition":
        return { taskDefinition: taskDefinitionView(this.registry.deregister(requiredString(body, "taskDefinition")), this.accountId) };
      case "DescribeTaskDefinition": {
        const definition = this.registry.find(requiredString(body, "taskDefinition"));
        if (!definition) throw new EcsError("ClientException", "Unable to describe task definition.");
        return { taskDefinition: taskDefinitionView(definition, this.accountId), tags: [] };
      }
      case "RunTask":
        return this.tasks.run(body);
      case "StopTask":
        return { task: this.tasks.stop(body) };
      case "DescribeTasks":
        return this.tasks.describe(body);
      case "ListTasks":
        return this.tasks.list(body);
    }
  }
}

/** An answer's body as recorded in `calls`: JSON parsed, XML and empty bodies kept as text. */
function parseAnswer(answer: HttpAnswer): unknown {
  if (!answer.contentType.includes("json") || answer.body === "") return answer.body;
  try {
    return JSON.parse(answer.body);
  } catch {
    return answer.body;
  }
}

/** The VPC's DNS (+2) and reserved (+3) addresses of a subnet, kept from Docker's address allocation. */
function reservedAddresses(cidr: string): Record<string, string> {
  const [address] = cidr.split("/");
  const base = address!.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
  const text = (n: number) => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
  return { "aws-dns": text(base + 2), "aws-reserved": text(base + 3) };
}
