/**
 * The Docker Engine API calls docker-py 7.1.0 makes for OpenHands' DockerSandboxService and
 * DockerSandboxSpecService, replayed request by request (path, query in docker-py's order, JSON body,
 * User-Agent), so that whatever listens at DOCKER_HOST (the real engine, or the spawner's filter in front of
 * it) sees what it would see from the real app. Written from docker-py 7.1.0 (pinned by OpenHands 1.7.0
 * poetry.lock L1954-1955 and unchanged in 1.11.0):
 *
 * - `docker.from_env()` with version "auto": one `GET /version` without prefix, then `/v<ApiVersion>` on every
 *   path (docker/api/client.py L203-223, docker/api/daemon.py L180);
 * - `containers.list(all=True)`: `GET /containers/json?limit=-1&all=1&size=0&trunc_cmd=0`, then an inspect
 *   by Id per entry (docker/models/containers.py L1009-1027);
 * - `containers.get(name)`: `GET /containers/<name>/json`; `container.image`: `GET /images/<hex>/json`;
 * - `containers.run(...)`: `POST /containers/create?name=`, inspect, `POST /start`; on 404 "No such image"
 *   pull and create again (models/containers.py L863-885); the container it returns is the inspect from
 *   BEFORE start (status "created");
 * - `images.get`, `images.pull` (`POST /images/create?tag=&fromImage=` then get); `pause`, `unpause`, `start`,
 *   `stop(timeout=10)` (`?t=10`), `remove()` (`?v=False&link=False&force=False`), `volumes.get(...).remove()`.
 *
 * Usable by tests directly: `new DockerPy("unix:///path/docker.sock")`.
 */
import { request } from "node:http";

const USER_AGENT = "docker-sdk-python/7.1.0";

export interface DockerReply {
  readonly status: number;
  readonly body: unknown;
}

export interface PortBinding {
  readonly HostIp: string;
  readonly HostPort: string;
}

/** The parts of `GET /containers/<id>/json` OpenHands reads (DSS L128-193, L257). */
export interface ContainerInspect {
  readonly Id: string;
  readonly Name: string;
  readonly Image: string;
  readonly Created?: string;
  readonly State: { readonly Status: string; readonly Running?: boolean; readonly StartedAt?: string };
  readonly Config: { readonly Env?: string[] | null; readonly WorkingDir?: string; readonly Labels?: Record<string, string> | null };
  readonly HostConfig?: { readonly NetworkMode?: string };
  readonly NetworkSettings: { readonly Ports?: Record<string, PortBinding[] | null> | null };
}

/** docker.errors.APIError: any answer that is not a success. */
export class DockerApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly what: string,
  ) {
    super(`${what}: docker answered ${status} ${typeof body === "string" ? body : JSON.stringify(body)}`);
  }

  /** docker.errors.NotFound (a subclass of APIError in docker-py). */
  get notFound(): boolean {
    return this.status === 404;
  }
}

/** A container model as docker-py holds it: the attrs of one inspect. */
export class DockerContainer {
  constructor(
    private readonly client: DockerPy,
    readonly attrs: ContainerInspect,
  ) {}

  get id(): string {
    return this.attrs.Id;
  }

  /** docker-py strips the leading slash of `Name`. */
  get name(): string {
    return this.attrs.Name.replace(/^\//, "");
  }

  get status(): string {
    return this.attrs.State.Status;
  }

  /** `container.image.tags`: the image inspected by the hex of its Id (models/containers.py L37-44). */
  async imageTags(): Promise<string[]> {
    const hex = this.attrs.Image.split(":")[1] ?? this.attrs.Image;
    const image = (await this.client.request("GET", `/images/${hex}/json`, [200])).body as { RepoTags?: string[] | null };
    return (image.RepoTags ?? []).filter((tag) => tag !== "<none>:<none>");
  }

  start(): Promise<void> {
    return this.client.request("POST", `/containers/${this.id}/start`, [204]).then(() => undefined);
  }

  pause(): Promise<void> {
    return this.client.request("POST", `/containers/${this.id}/pause`, [204]).then(() => undefined);
  }

  unpause(): Promise<void> {
    return this.client.request("POST", `/containers/${this.id}/unpause`, [204]).then(() => undefined);
  }

  stop(timeout = 10): Promise<void> {
    return this.client.request("POST", `/containers/${this.id}/stop?t=${timeout}`, [204, 304]).then(() => undefined);
  }

  remove(): Promise<void> {
    return this.client.request("DELETE", `/containers/${this.id}?v=False&link=False&force=False`, [204]).then(() => undefined);
  }
}

/** Arguments of `containers.run` as DockerSandboxService passes them (DSS L463-487). */
export interface RunArguments {
  readonly image: string;
  readonly command: readonly string[];
  readonly name: string;
  readonly environment: Readonly<Record<string, string>>;
  /** container port -> host port (`None` in host network mode). */
  readonly ports?: Readonly<Record<number, number>>;
  /** host path -> {bind, mode} */
  readonly volumes?: Readonly<Record<string, { bind: string; mode: string }>>;
  readonly workingDir: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly extraHosts?: Readonly<Record<string, string>>;
  readonly networkMode?: string;
  readonly devices?: readonly string[];
}

/** The create body docker-py 7.1.0 builds for those arguments (types/containers.py, utils/utils.py L85-123). */
export function createBody(args: RunArguments): Record<string, unknown> {
  const ports = args.ports ? Object.entries(args.ports) : [];
  const binds = Object.entries(args.volumes ?? {}).map(([host, { bind, mode }]) => `${host}:${bind}:${mode}`);
  const hostConfig: Record<string, unknown> = {
    // HostConfig writes "default" when network_mode is None.
    NetworkMode: args.networkMode ?? "default",
  };
  if (binds.length > 0) hostConfig.Binds = binds;
  if (ports.length > 0) {
    hostConfig.PortBindings = Object.fromEntries(
      ports.map(([container, host]) => [`${container}/tcp`, [{ HostIp: "", HostPort: String(host) }]]),
    );
  }
  if (args.extraHosts && Object.keys(args.extraHosts).length > 0) {
    hostConfig.ExtraHosts = Object.entries(args.extraHosts).map(([host, address]) => `${host}:${address}`);
  }
  hostConfig.Init = true;
  if (args.devices && args.devices.length > 0) {
    hostConfig.Devices = args.devices.map((device) => {
      const [onHost, inContainer, permissions] = device.split(":");
      return { PathOnHost: onHost, PathInContainer: inContainer ?? onHost, CgroupPermissions: permissions ?? "rwm" };
    });
  }
  const body: Record<string, unknown> = {
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Env: Object.entries(args.environment).map(([key, value]) => `${key}=${value}`),
    Cmd: [...args.command],
    Image: args.image,
    NetworkDisabled: false,
    WorkingDir: args.workingDir,
    Labels: { ...args.labels },
    HostConfig: hostConfig,
  };
  if (ports.length > 0) body.ExposedPorts = Object.fromEntries(ports.map(([container]) => [`${container}/tcp`, {}]));
  if (binds.length > 0) body.Volumes = Object.fromEntries(Object.values(args.volumes ?? {}).map(({ bind }) => [bind, {}]));
  return body;
}

interface Transport {
  readonly socketPath?: string;
  readonly host?: string;
  readonly port?: number;
}

function transportFor(dockerHost: string): Transport {
  if (dockerHost.startsWith("unix://")) return { socketPath: dockerHost.slice("unix://".length) };
  if (dockerHost.startsWith("tcp://") || dockerHost.startsWith("http://")) {
    const url = new URL(dockerHost.replace(/^tcp:/, "http:"));
    return { host: url.hostname, port: Number(url.port || 2375) };
  }
  throw new Error(`DOCKER_HOST: "${dockerHost}" is not unix:///path or tcp://host:port`);
}

export class DockerPy {
  private apiVersion: string | undefined;
  private readonly transport: Transport;

  /** @param dockerHost what DOCKER_HOST holds; docker-py's default is unix:///var/run/docker.sock */
  constructor(dockerHost = "unix:///var/run/docker.sock") {
    this.transport = transportFor(dockerHost);
  }

  /** One raw call, no version prefix, no status check. */
  raw(method: string, path: string, body?: unknown, timeoutMs = 60_000): Promise<DockerReply> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          ...this.transport,
          method,
          path,
          headers: {
            host: this.transport.socketPath ? "localhost" : `${this.transport.host}:${this.transport.port}`,
            "user-agent": USER_AGENT,
            ...(payload !== undefined ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(payload)) } : {}),
          },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown = text;
            try {
              parsed = text ? (JSON.parse(text) as unknown) : null;
            } catch {
              // a pull's progress stream and plain-text errors stay text
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`docker ${method} ${path} timed out`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  /** `from_env()` with version "auto": the unprefixed `GET /version`, once. */
  async version(): Promise<string> {
    if (!this.apiVersion) {
      const reply = await this.raw("GET", "/version");
      if (reply.status !== 200) throw new DockerApiError(reply.status, reply.body, "GET /version");
      const version = (reply.body as { ApiVersion?: unknown } | null)?.ApiVersion;
      if (typeof version !== "string" || !/^\d+\.\d+$/.test(version))
        throw new DockerApiError(reply.status, reply.body, "GET /version: no ApiVersion");
      this.apiVersion = version;
    }
    return this.apiVersion;
  }

  /** A versioned call that must answer one of `ok`, else DockerApiError. */
  async request(method: string, path: string, ok: readonly number[], body?: unknown, timeoutMs?: number): Promise<DockerReply> {
    const reply = await this.raw(method, `/v${await this.version()}${path}`, body, timeoutMs);
    if (!ok.includes(reply.status)) throw new DockerApiError(reply.status, reply.body, `${method} ${path.split("?")[0]}`);
    return reply;
  }

  /** `containers.get(id_or_name)`. */
  async getContainer(idOrName: string): Promise<DockerContainer> {
    const reply = await this.request("GET", `/containers/${encodeURIComponent(idOrName)}/json`, [200]);
    return new DockerContainer(this, reply.body as ContainerInspect);
  }

  /** `containers.list(all=True)`: no filters, then an inspect by Id per entry; a NotFound there is re-raised. */
  async listContainers(): Promise<DockerContainer[]> {
    const listed = await this.request("GET", "/containers/json?limit=-1&all=1&size=0&trunc_cmd=0", [200]);
    const entries = Array.isArray(listed.body) ? (listed.body as Array<{ Id?: unknown }>) : [];
    const containers: DockerContainer[] = [];
    for (const entry of entries) {
      if (typeof entry.Id !== "string") continue;
      containers.push(await this.getContainer(entry.Id));
    }
    return containers;
  }

  /** `images.get(name)`: the image's attrs, or DockerApiError (404 = ImageNotFound). */
  async getImage(ref: string): Promise<Record<string, unknown>> {
    return (await this.request("GET", `/images/${ref}/json`, [200])).body as Record<string, unknown>;
  }

  /** `images.pull(repository)`: tag split off the reference, the progress stream read to its end, then get. */
  async pullImage(ref: string): Promise<Record<string, unknown>> {
    const { repository, tag } = splitReference(ref);
    const query = new URLSearchParams({ tag, fromImage: repository });
    const reply = await this.request("POST", `/images/create?${query.toString()}`, [200], undefined, 600_000);
    // The daemon reports a failed pull inside the 200 stream; docker-py then fails on the get that follows.
    if (typeof reply.body === "string" && /"error"/.test(reply.body)) {
      const line = reply.body.split("\n").find((entry) => entry.includes('"error"')) ?? reply.body;
      throw new DockerApiError(404, line, `POST /images/create ${ref}`);
    }
    if (reply.body && typeof reply.body === "object" && "error" in reply.body)
      throw new DockerApiError(404, reply.body, `POST /images/create ${ref}`);
    return this.getImage(`${repository}${tag.startsWith("sha256:") ? "@" : ":"}${tag}`);
  }

  /** `containers.run(detach=True, ...)`: create (pull once on "No such image"), inspect, start. */
  async run(args: RunArguments): Promise<DockerContainer> {
    const body = createBody(args);
    const path = `/containers/create?name=${encodeURIComponent(args.name)}`;
    let created = await this.raw("POST", `/v${await this.version()}${path}`, body);
    if (created.status === 404 && /no such image/i.test(JSON.stringify(created.body))) {
      await this.pullImage(args.image);
      created = await this.raw("POST", `/v${await this.version()}${path}`, body);
    }
    if (created.status !== 201) throw new DockerApiError(created.status, created.body, "POST /containers/create");
    const container = await this.getContainer((created.body as { Id: string }).Id);
    await container.start();
    return container;
  }

  /** `volumes.get(name)` then `.remove()`; DockerApiError when either fails. */
  async removeVolume(name: string): Promise<void> {
    await this.request("GET", `/volumes/${encodeURIComponent(name)}`, [200]);
    await this.request("DELETE", `/volumes/${encodeURIComponent(name)}`, [204]);
  }
}

/** docker-py's parse_repository_tag: the tag is after the last colon unless that colon is part of a registry port. */
export function splitReference(ref: string): { repository: string; tag: string } {
  const at = ref.indexOf("@");
  if (at >= 0) return { repository: ref.slice(0, at), tag: ref.slice(at + 1) };
  const colon = ref.lastIndexOf(":");
  if (colon < 0 || ref.slice(colon + 1).includes("/")) return { repository: ref, tag: "latest" };
  return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
}
