/**
 * A contract fake of the Docker Engine API (HTTP over a unix socket), for tests without a Docker engine.
 *
 * It answers like dockerd 27 for the calls the spawner and OpenHands 1.7.0 (docker-py 7.1.0) make:
 * version negotiation (`GET /version`, unprefixed), `/v1.xx/...` paths, 64-hex Ids, names with a leading
 * '/', 404 bodies `{"message":"No such container: x"}`, 409 name conflicts, 304 on start/stop of a
 * container already in that state, streamed image pulls, networks with IPAM, and a `GET /events` stream.
 * It records every call. It runs nothing: hooks let a system test "run" containers (for example as
 * local processes) when they start, and choose the host ports that dockerd would choose.
 *
 * Usage:
 *   const engine = await startFakeDockerEngine({ socketPath, images: ["repo:tag"], onStart: (c) => ... });
 *   engine.calls               // [{ method, path, query, body }]
 *   engine.containers          // Map<Id, FakeContainer>
 *   await engine.close();
 */
import { randomBytes } from "node:crypto";
import { existsSync, unlinkSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTcpServer } from "node:net";

export interface RecordedCall {
  method: string;
  /** Path without the `/v1.xx` prefix and without the query string. */
  path: string;
  /** The path exactly as sent. */
  rawPath: string;
  query: Record<string, string>;
  body?: unknown;
}

export interface FakePortBinding {
  HostIp: string;
  HostPort: string;
}

export interface FakeContainer {
  Id: string;
  Name: string;
  Created: string;
  Image: string;
  Config: {
    Image: string;
    Env: string[];
    Labels: Record<string, string>;
    Cmd?: string[];
    WorkingDir?: string;
    ExposedPorts?: Record<string, object>;
    [key: string]: unknown;
  };
  HostConfig: Record<string, unknown> & { NetworkMode?: string; PortBindings?: Record<string, FakePortBinding[]> };
  State: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    Restarting: boolean;
    Pid: number;
    ExitCode: number;
    StartedAt: string;
    FinishedAt: string;
  };
  NetworkSettings: {
    Ports: Record<string, FakePortBinding[] | null>;
    Networks: Record<
      string,
      { NetworkID: string; IPAddress: string; Gateway: string; IPPrefixLen: number; IPAMConfig?: { IPv4Address?: string } | null }
    >;
  };
  /** Request body of the create call, as received. */
  createBody: Record<string, unknown>;
}

export interface FakeNetwork {
  Id: string;
  Name: string;
  Driver: string;
  Created: string;
  IPAM: { Driver: string; Config: Array<{ Subnet: string; Gateway?: string; IPRange?: string }> };
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

export interface FakeDockerEngineOptions {
  socketPath: string;
  /** API version reported by GET /version. @default "1.47" */
  apiVersion?: string;
  /** Image references present from the start ("repo:tag"). */
  images?: string[];
  /** Called after a container is started (IP and ports assigned); may "run" it. */
  onStart?: (container: FakeContainer) => void | Promise<void>;
  /** Called after a container stops, is paused or is removed. */
  onStop?: (container: FakeContainer, action: "stop" | "pause" | "destroy") => void | Promise<void>;
  /** Called for every create before it is accepted; return a {status, message} to make the daemon refuse it. */
  onCreate?: (name: string, body: Record<string, unknown>) => { status: number; message: string } | undefined;
  /** Chooses the host port for a published port whose HostPort is "" (dockerd picks one). @default a free TCP port */
  allocateHostPort?: (hostIp: string, containerPort: string) => Promise<number>;
}

export interface FakeDockerEngine {
  readonly socketPath: string;
  readonly calls: RecordedCall[];
  readonly containers: Map<string, FakeContainer>;
  readonly networks: Map<string, FakeNetwork>;
  readonly images: Map<string, { Id: string; RepoTags: string[] }>;
  /** Finds a container by Id, unique Id prefix or name (with or without '/'). */
  find(ref: string): FakeContainer | undefined;
  addImage(ref: string): void;
  /** Calls (method and unprefixed path) matching a predicate, for assertions. */
  callsMatching(method: string, path: RegExp): RecordedCall[];
  /** Ends every open GET /events stream (a daemon restart as clients see it); events until they reconnect are lost. */
  dropEventStreams(): void;
  /** Changes a container without emitting any event (a missed event). */
  silently(mutate: (engine: { containers: Map<string, FakeContainer> }) => void): void;
  /** Stops the server and ends the event streams; containers are forgotten. */
  close(): Promise<void>;
}

const hex64 = () => randomBytes(32).toString("hex");

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createTcpServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function ipToInt(ip: string): number {
  return ip.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
}
function intToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}
function cidrRange(cidr: string): [number, number] {
  const [ip, bits] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ipToInt(ip!) / size) * size;
  return [start, start + size - 1];
}

export async function startFakeDockerEngine(options: FakeDockerEngineOptions): Promise<FakeDockerEngine> {
  const apiVersion = options.apiVersion ?? "1.47";
  const calls: RecordedCall[] = [];
  const containers = new Map<string, FakeContainer>();
  const networks = new Map<string, FakeNetwork>();
  const images = new Map<string, { Id: string; RepoTags: string[] }>();
  const volumes = new Map<string, { Name: string }>();
  const eventStreams = new Set<ServerResponse>();
  const allocatePort = options.allocateHostPort ?? (async () => freePort());

  const addImage = (ref: string) => {
    if (!images.has(ref)) images.set(ref, { Id: `sha256:${hex64()}`, RepoTags: [ref] });
  };
  for (const ref of options.images ?? []) addImage(ref);
  const bridge: FakeNetwork = {
    Id: hex64(),
    Name: "bridge",
    Driver: "bridge",
    Created: new Date().toISOString(),
    IPAM: { Driver: "default", Config: [{ Subnet: "172.17.0.0/16", Gateway: "172.17.0.1" }] },
    Options: {},
    Labels: {},
  };
  networks.set(bridge.Id, bridge);

  const find = (ref: string): FakeContainer | undefined => {
    const bare = ref.startsWith("/") ? ref.slice(1) : ref;
    const byId = containers.get(bare);
    if (byId) return byId;
    for (const c of containers.values()) if (c.Name === `/${bare}`) return c;
    if (/^[0-9a-f]{3,63}$/.test(bare)) {
      const matches = [...containers.values()].filter((c) => c.Id.startsWith(bare));
      if (matches.length === 1) return matches[0];
    }
    return undefined;
  };
  const findNetwork = (ref: string) => networks.get(ref) ?? [...networks.values()].find((n) => n.Name === ref);
  const findImage = (ref: string) => {
    const bare = ref.startsWith("sha256:") ? ref : images.has(ref) ? ref : undefined;
    if (bare && images.has(bare)) return images.get(bare);
    for (const image of images.values()) {
      if (image.Id === ref || image.Id === `sha256:${ref}`) return image;
    }
    return undefined;
  };

  const emit = (type: string, action: string, id: string, attributes: Record<string, string>) => {
    const now = Date.now();
    const event = {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: "local",
      time: Math.floor(now / 1000),
      timeNano: now * 1e6,
      status: action,
      id,
      from: attributes.image,
    };
    const line = `${JSON.stringify(event)}\n`;
    for (const res of eventStreams) res.write(line);
  };
  const emitContainer = (c: FakeContainer, action: string) =>
    emit("container", action, c.Id, { name: c.Name.slice(1), image: c.Config.Image, ...c.Config.Labels });

  const send = (res: ServerResponse, status: number, body?: unknown) => {
    if (body === undefined) {
      res.writeHead(status);
      res.end();
      return;
    }
    // dockerd's JSON answers (errors included) end in a newline (Go's json.Encoder).
    const text = typeof body === "string" ? body : `${JSON.stringify(body)}\n`;
    res.writeHead(status, {
      "Api-Version": apiVersion,
      "Content-Type": typeof body === "string" ? "text/plain; charset=utf-8" : "application/json",
      "Docker-Experimental": "false",
      Ostype: "linux",
      Server: "Docker/27.5.1 (linux)",
    });
    res.end(text);
  };
  const noSuchContainer = (res: ServerResponse, ref: string) => send(res, 404, { message: `No such container: ${ref}` });

  const assignAddress = (network: FakeNetwork, requested?: string): { ip: string; gateway: string; prefix: number } => {
    const config = network.IPAM.Config[0]!;
    const [start, end] = cidrRange(config.Subnet);
    const gateway = config.Gateway ?? intToIp(start + 1);
    const prefix = Number(config.Subnet.split("/")[1]);
    if (requested) return { ip: requested, gateway, prefix };
    const used = new Set<string>([gateway]);
    for (const c of containers.values()) for (const n of Object.values(c.NetworkSettings.Networks)) if (n.IPAddress) used.add(n.IPAddress);
    const [rangeStart, rangeEnd] = config.IPRange ? cidrRange(config.IPRange) : [start, end];
    for (let candidate = Math.max(rangeStart, start + 2); candidate < rangeEnd; candidate += 1) {
      const ip = intToIp(candidate);
      if (!used.has(ip)) return { ip, gateway, prefix };
    }
    throw new Error(`no free address in ${config.Subnet}`);
  };

  const startContainer = async (c: FakeContainer) => {
    const mode = c.HostConfig.NetworkMode ?? "default";
    const networkName = mode === "default" || mode === "" ? "bridge" : mode;
    if (networkName !== "host" && networkName !== "none") {
      const network = findNetwork(networkName);
      if (!network) throw Object.assign(new Error(`network ${networkName} not found`), { status: 404 });
      const endpoints = ((
        c.createBody.NetworkingConfig as { EndpointsConfig?: Record<string, { IPAMConfig?: { IPv4Address?: string } }> } | undefined
      )?.EndpointsConfig ?? {}) as Record<string, { IPAMConfig?: { IPv4Address?: string } }>;
      const requested = endpoints[networkName]?.IPAMConfig?.IPv4Address;
      if (requested) {
        for (const other of containers.values()) {
          if (
            other.Id !== c.Id &&
            other.State.Running &&
            Object.values(other.NetworkSettings.Networks).some((n) => n.IPAddress === requested)
          ) {
            throw Object.assign(new Error(`Address already in use`), { status: 500 });
          }
        }
      }
      const { ip, gateway, prefix } = assignAddress(network, requested);
      c.NetworkSettings.Networks = {
        [network.Name]: {
          NetworkID: network.Id,
          IPAddress: ip,
          Gateway: gateway,
          IPPrefixLen: prefix,
          IPAMConfig: requested ? { IPv4Address: requested } : null,
        },
      };
    }
    const ports: Record<string, FakePortBinding[] | null> = {};
    for (const key of Object.keys(c.Config.ExposedPorts ?? {})) ports[key] = null;
    for (const [key, bindings] of Object.entries(c.HostConfig.PortBindings ?? {})) {
      const assigned: FakePortBinding[] = [];
      for (const binding of bindings ?? []) {
        const hostIp = binding.HostIp || "0.0.0.0";
        const hostPort = binding.HostPort ? binding.HostPort : String(await allocatePort(hostIp, key));
        assigned.push({ HostIp: hostIp, HostPort: hostPort });
      }
      ports[key] = assigned;
    }
    c.NetworkSettings.Ports = ports;
    c.State = {
      ...c.State,
      Status: "running",
      Running: true,
      Paused: false,
      Pid: 1000 + containers.size,
      StartedAt: new Date().toISOString(),
    };
    await options.onStart?.(c);
    emitContainer(c, "start");
  };

  const stopContainer = async (c: FakeContainer, action: "stop" | "destroy") => {
    c.State = { ...c.State, Status: "exited", Running: false, Paused: false, Pid: 0, ExitCode: 0, FinishedAt: new Date().toISOString() };
    for (const network of Object.values(c.NetworkSettings.Networks)) network.IPAddress = "";
    c.NetworkSettings.Ports = {};
    await options.onStop?.(c, action);
    emitContainer(c, "die");
    if (action === "stop") emitContainer(c, "stop");
  };

  const summary = (c: FakeContainer) => ({
    Id: c.Id,
    Names: [c.Name],
    Image: c.Config.Image,
    ImageID: c.Image,
    Command: (c.Config.Cmd ?? []).join(" "),
    Created: Math.floor(Date.parse(c.Created) / 1000),
    State: c.State.Status,
    Status: c.State.Running ? "Up 1 second" : "Exited (0) 1 second ago",
    Ports: Object.entries(c.NetworkSettings.Ports).flatMap(([key, bindings]) =>
      (bindings ?? []).map((b) => ({
        IP: b.HostIp,
        PrivatePort: Number(key.split("/")[0]),
        PublicPort: Number(b.HostPort),
        Type: key.split("/")[1],
      })),
    ),
    Labels: c.Config.Labels,
    HostConfig: { NetworkMode: c.HostConfig.NetworkMode ?? "default" },
    NetworkSettings: { Networks: c.NetworkSettings.Networks },
  });

  const readBody = (req: IncomingMessage): Promise<unknown> =>
    new Promise((resolve) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        if (!text) return resolve(undefined);
        try {
          resolve(JSON.parse(text));
        } catch {
          resolve(text);
        }
      });
    });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://docker");
    const method = req.method ?? "GET";
    const path = url.pathname.replace(/^\/v\d+\.\d+(?=\/)/, "");
    const query = Object.fromEntries(url.searchParams.entries());
    const body = await readBody(req);
    calls.push({ method, path, rawPath: req.url ?? "/", query, ...(body === undefined ? {} : { body }) });
    let m: RegExpExecArray | null;

    if (method === "GET" && (path === "/version" || path === "/_ping")) {
      if (path === "/_ping") return send(res, 200, "OK");
      return send(res, 200, {
        Version: "27.5.1",
        ApiVersion: apiVersion,
        MinAPIVersion: "1.24",
        Os: "linux",
        Arch: process.arch === "arm64" ? "arm64" : "amd64",
        KernelVersion: "6.1.0",
      });
    }
    if (method === "GET" && path === "/events") {
      res.writeHead(200, { "content-type": "application/json", "api-version": apiVersion });
      res.flushHeaders();
      eventStreams.add(res);
      req.on("close", () => eventStreams.delete(res));
      return;
    }
    if (method === "GET" && path === "/containers/json") {
      const all = query.all === "1" || query.all === "true";
      let filters: Record<string, string[]> = {};
      try {
        filters = query.filters ? (JSON.parse(query.filters) as Record<string, string[]>) : {};
      } catch {
        return send(res, 400, { message: "invalid filter" });
      }
      const list = [...containers.values()]
        .filter((c) => all || c.State.Running)
        .filter((c) => !filters.name || filters.name.some((pattern) => new RegExp(pattern).test(c.Name)))
        .map(summary);
      return send(res, 200, list);
    }
    if (method === "POST" && path === "/containers/create") {
      const name = query.name ?? "";
      const spec = (body ?? {}) as Record<string, unknown>;
      if (name && !/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name))
        return send(res, 400, { message: `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed` });
      const existing = name ? find(name) : undefined;
      if (existing)
        return send(res, 409, {
          message:
            `Conflict. The container name "/${name}" is already in use by container "${existing.Id}". You have to remove (or rename) ` +
            `that container to be able to reuse that name.`,
        });
      const refusal = options.onCreate?.(name, spec);
      if (refusal) return send(res, refusal.status, { message: refusal.message });
      const imageRef = String(spec.Image ?? "");
      const image = findImage(imageRef);
      if (!image) return send(res, 404, { message: `No such image: ${imageRef}` });
      const hostConfig = { ...((spec.HostConfig ?? {}) as FakeContainer["HostConfig"]) };
      const mode = hostConfig.NetworkMode;
      if (mode && mode !== "default" && mode !== "bridge" && mode !== "host" && mode !== "none" && !findNetwork(mode)) {
        return send(res, 404, { message: `network ${mode} not found` });
      }
      const id = hex64();
      const container: FakeContainer = {
        Id: id,
        Name: `/${name || id.slice(0, 12)}`,
        Created: new Date().toISOString(),
        Image: image.Id,
        Config: {
          Image: imageRef,
          Env: (spec.Env as string[] | undefined) ?? [],
          Labels: (spec.Labels as Record<string, string> | undefined) ?? {},
          Cmd: spec.Cmd as string[] | undefined,
          WorkingDir: (spec.WorkingDir as string | undefined) ?? "",
          ExposedPorts: (spec.ExposedPorts as Record<string, object> | undefined) ?? {},
        },
        HostConfig: { NetworkMode: "default", ...hostConfig },
        State: {
          Status: "created",
          Running: false,
          Paused: false,
          Restarting: false,
          Pid: 0,
          ExitCode: 0,
          StartedAt: "0001-01-01T00:00:00Z",
          FinishedAt: "0001-01-01T00:00:00Z",
        },
        NetworkSettings: { Ports: {}, Networks: {} },
        createBody: spec,
      };
      containers.set(id, container);
      emitContainer(container, "create");
      return send(res, 201, { Id: id, Warnings: [] });
    }
    if ((m = /^\/containers\/([^/]+)\/json$/.exec(path)) && method === "GET") {
      const c = find(decodeURIComponent(m[1]!));
      if (!c) return noSuchContainer(res, decodeURIComponent(m[1]!));
      const { createBody: _createBody, ...inspect } = c;
      void _createBody;
      return send(res, 200, { ...inspect, Path: "/usr/local/bin/entrypoint", Args: c.Config.Cmd ?? [], RestartCount: 0, Mounts: [] });
    }
    if ((m = /^\/containers\/([^/]+)\/(start|stop|pause|unpause|kill|restart)$/.exec(path)) && method === "POST") {
      const ref = decodeURIComponent(m[1]!);
      const c = find(ref);
      if (!c) return noSuchContainer(res, ref);
      const action = m[2]!;
      try {
        if (action === "start") {
          if (c.State.Running) return send(res, 304);
          await startContainer(c);
        } else if (action === "stop" || action === "kill") {
          if (!c.State.Running) return action === "stop" ? send(res, 304) : send(res, 409, { message: `Container ${c.Id} is not running` });
          await stopContainer(c, "stop");
        } else if (action === "pause") {
          if (!c.State.Running) return send(res, 409, { message: `Container ${c.Id} is not running` });
          if (c.State.Paused) return send(res, 409, { message: `Container ${c.Id} is already paused` });
          c.State = { ...c.State, Status: "paused", Paused: true };
          await options.onStop?.(c, "pause");
          emitContainer(c, "pause");
        } else if (action === "unpause") {
          if (!c.State.Paused) return send(res, 409, { message: `Container ${c.Id} is not paused` });
          c.State = { ...c.State, Status: "running", Paused: false };
          emitContainer(c, "unpause");
        } else {
          if (c.State.Running) await stopContainer(c, "stop");
          await startContainer(c);
        }
      } catch (error) {
        const status = (error as { status?: number }).status ?? 500;
        return send(res, status, { message: (error as Error).message });
      }
      return send(res, 204);
    }
    if ((m = /^\/containers\/([^/]+)$/.exec(path)) && method === "DELETE") {
      const ref = decodeURIComponent(m[1]!);
      const c = find(ref);
      if (!c) return noSuchContainer(res, ref);
      const force = query.force === "1" || query.force === "true" || query.force === "True";
      if (c.State.Running && !force) {
        return send(res, 409, {
          message: `You cannot remove a running container ${c.Id}. Stop the container before attempting removal or force remove`,
        });
      }
      if (c.State.Running) await stopContainer(c, "destroy");
      containers.delete(c.Id);
      emitContainer(c, "destroy");
      return send(res, 204);
    }
    if ((m = /^\/images\/(.+)\/json$/.exec(path)) && method === "GET") {
      const ref = decodeURIComponent(m[1]!);
      const image = findImage(ref);
      if (!image) return send(res, 404, { message: `No such image: ${ref}` });
      return send(res, 200, { Id: image.Id, RepoTags: image.RepoTags, RepoDigests: [], Architecture: "amd64", Os: "linux", Config: {} });
    }
    if (method === "POST" && path === "/images/create") {
      const ref = query.tag ? `${query.fromImage}:${query.tag}` : String(query.fromImage);
      res.writeHead(200, { "content-type": "application/json" });
      res.write(`${JSON.stringify({ status: `Pulling from ${query.fromImage}`, id: query.tag ?? "latest" })}\n`);
      addImage(ref);
      res.end(`${JSON.stringify({ status: `Status: Downloaded newer image for ${ref}` })}\n`);
      return;
    }
    if ((m = /^\/volumes\/([^/]+)$/.exec(path))) {
      const name = decodeURIComponent(m[1]!);
      const volume = volumes.get(name);
      if (!volume) return send(res, 404, { message: `get ${name}: no such volume` });
      if (method === "GET")
        return send(res, 200, {
          Name: name,
          Driver: "local",
          Mountpoint: `/var/lib/docker/volumes/${name}/_data`,
          Labels: {},
          Scope: "local",
        });
      if (method === "DELETE") {
        volumes.delete(name);
        return send(res, 204);
      }
    }
    if (method === "POST" && path === "/volumes/create") {
      const name = String((body as { Name?: string } | undefined)?.Name ?? hex64());
      volumes.set(name, { Name: name });
      return send(res, 201, { Name: name, Driver: "local" });
    }
    if (method === "GET" && path === "/networks") {
      let filters: Record<string, string[]> = {};
      try {
        filters = query.filters ? (JSON.parse(query.filters) as Record<string, string[]>) : {};
      } catch {
        return send(res, 400, { message: "invalid filter" });
      }
      const list = [...networks.values()].filter((n) => !filters.name || filters.name.some((pattern) => n.Name.includes(pattern)));
      return send(res, 200, list);
    }
    if (method === "POST" && path === "/networks/create") {
      const spec = (body ?? {}) as Partial<FakeNetwork> & { Name?: string };
      const name = String(spec.Name ?? "");
      if (findNetwork(name)) return send(res, 409, { message: `network with name ${name} already exists` });
      const subnet = spec.IPAM?.Config?.[0]?.Subnet;
      if (subnet) {
        const [start, end] = cidrRange(subnet);
        for (const other of networks.values()) {
          for (const config of other.IPAM.Config) {
            const [os, oe] = cidrRange(config.Subnet);
            if (start <= oe && os <= end) return send(res, 403, { message: "Pool overlaps with other one on this address space" });
          }
        }
      }
      const network: FakeNetwork = {
        Id: hex64(),
        Name: name,
        Driver: spec.Driver ?? "bridge",
        Created: new Date().toISOString(),
        IPAM: {
          Driver: "default",
          Config: spec.IPAM?.Config ?? [{ Subnet: `172.${18 + networks.size}.0.0/16`, Gateway: `172.${18 + networks.size}.0.1` }],
        },
        Options: spec.Options ?? {},
        Labels: spec.Labels ?? {},
      };
      networks.set(network.Id, network);
      emit("network", "create", network.Id, { name, type: network.Driver });
      return send(res, 201, { Id: network.Id, Warning: "" });
    }
    if ((m = /^\/networks\/([^/]+)$/.exec(path))) {
      const network = findNetwork(decodeURIComponent(m[1]!));
      if (!network) return send(res, 404, { message: `network ${m[1]} not found` });
      if (method === "GET") return send(res, 200, network);
      if (method === "DELETE") {
        networks.delete(network.Id);
        return send(res, 204);
      }
    }
    return send(res, 404, { message: "page not found" });
  };

  if (existsSync(options.socketPath)) unlinkSync(options.socketPath);
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => send(res, 500, { message: error.message }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.socketPath, () => resolve());
  });

  return {
    socketPath: options.socketPath,
    calls,
    containers,
    networks,
    images,
    find,
    addImage,
    callsMatching: (method, path) => calls.filter((c) => c.method === method && path.test(c.path)),
    dropEventStreams: () => {
      for (const res of eventStreams) res.end();
      eventStreams.clear();
    },
    silently: (mutate) => mutate({ containers }),
    close: async () => {
      for (const res of eventStreams) res.end();
      eventStreams.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (existsSync(options.socketPath)) unlinkSync(options.socketPath);
    },
  };
}
