/**
 * What a user's OpenHands may ask of Docker: exactly the calls of OpenHands 1.7.0 through docker-py 7.1.0
 * (openhands-1.7-design-review.md §1), scoped to the user's own sandboxes, and how a create is rewritten.
 * Pure functions; the socket server in api-endpoint.ts applies them.
 */
import { names } from "../slug";

export type DockerCall =
  | { op: "version" }
  | { op: "list" }
  | { op: "inspect"; ref: string }
  | { op: "create"; name: string }
  | { op: "action"; ref: string; action: "start" | "stop" | "pause" | "unpause" }
  | { op: "remove"; ref: string }
  | { op: "image-inspect"; ref: string }
  | { op: "image-pull"; ref: string }
  | { op: "volume"; name: string; method: "GET" | "DELETE" };

export type Classified = { ok: true; call: DockerCall; upstreamPath: string } | { ok: false; status: number; message: string };

const VERSION_PREFIX = /^\/v1\.\d{1,3}(?=\/)/;
const CONTAINER_REF = "([A-Za-z0-9][A-Za-z0-9_.-]{0,199})";
const IMAGE_REF = /^[a-z0-9][a-z0-9._\-/:@]{0,254}$/;

/** Classifies one request against the allow-list; anything else is refused. */
export function classifyDockerCall(method: string, rawUrl: string): Classified {
  const refuse = (message: string): Classified => ({ ok: false, status: 403, message: `openhands-team docker filter: ${message}` });
  // Smuggling: a path that needs decoding or normalising could mean one thing here and another to dockerd.
  if (!rawUrl.startsWith("/") || rawUrl.includes("..") || rawUrl.includes("//") || rawUrl.includes("\\") || rawUrl.includes("#")) {
    return refuse(`${method} ${rawUrl.slice(0, 200)} is not allowed`);
  }
  const queryAt = rawUrl.indexOf("?");
  const rawPath = queryAt >= 0 ? rawUrl.slice(0, queryAt) : rawUrl;
  const search = new URLSearchParams(queryAt >= 0 ? rawUrl.slice(queryAt + 1) : "");
  const prefix = VERSION_PREFIX.exec(rawPath)?.[0] ?? "";
  const path = rawPath.slice(prefix.length);
  if (/%/.test(path) && !/^\/images\//.test(path)) return refuse(`${method} ${path} is not allowed`);
  const pass = (call: DockerCall): Classified => ({ ok: true, call, upstreamPath: rawUrl });
  let m: RegExpExecArray | null;

  if (method === "GET" && path === "/version") return pass({ op: "version" });
  if (method === "GET" && path === "/containers/json") return pass({ op: "list" });
  if (method === "POST" && path === "/containers/create") {
    const name = search.get("name");
    if (!name) return refuse("a sandbox create needs a name");
    return pass({ op: "create", name });
  }
  if (method === "GET" && (m = new RegExp(`^/containers/${CONTAINER_REF}/json$`).exec(path))) return pass({ op: "inspect", ref: m[1]! });
  if (method === "POST" && (m = new RegExp(`^/containers/${CONTAINER_REF}/(start|stop|pause|unpause)$`).exec(path))) {
    return pass({ op: "action", ref: m[1]!, action: m[2] as "start" | "stop" | "pause" | "unpause" });
  }
  if (method === "DELETE" && (m = new RegExp(`^/containers/${CONTAINER_REF}$`).exec(path))) return pass({ op: "remove", ref: m[1]! });
  if (method === "GET" && (m = /^\/images\/(.+)\/json$/.exec(path))) {
    const ref = decodeURIComponentSafe(m[1]!);
    if (!ref || !IMAGE_REF.test(ref)) return refuse(`image reference ${show(m[1])} is not allowed`);
    return pass({ op: "image-inspect", ref });
  }
  if (method === "POST" && path === "/images/create") {
    const from = search.get("fromImage") ?? "";
    const tag = search.get("tag");
    return pass({ op: "image-pull", ref: tag ? `${from}:${tag}` : from });
  }
  if ((method === "GET" || method === "DELETE") && (m = /^\/volumes\/([A-Za-z0-9][A-Za-z0-9_.-]{0,254})$/.exec(path))) {
    return pass({ op: "volume", name: m[1]!, method });
  }
  return refuse(`${method} ${path} is not allowed`);
}

function decodeURIComponentSafe(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** The primary name of a container as the daemon reports it ("/name"; link aliases contain a second '/'). */
function primaryName(names: unknown): string | undefined {
  if (!Array.isArray(names)) return undefined;
  return names.find((n): n is string => typeof n === "string" && n.lastIndexOf("/") === 0);
}

export function ownsContainerName(slug: string, daemonName: unknown): boolean {
  if (typeof daemonName !== "string") return false;
  const bare = daemonName.startsWith("/") ? daemonName.slice(1) : daemonName;
  const prefix = names.sandboxPrefix(slug);
  return bare.startsWith(prefix) && /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(bare.slice(prefix.length)) && bare.length > prefix.length;
}

/** Keeps only the user's own sandboxes in a `GET /containers/json` answer. */
export function filterContainerList(slug: string, list: unknown): unknown[] {
  if (!Array.isArray(list)) return [];
  return list.filter((item) => item !== null && typeof item === "object" && ownsContainerName(slug, primaryName((item as { Names?: unknown }).Names)));
}

/** Splits "repo[:tag]" the way docker-py does (a ':' after the last '/' starts the tag). */
export function splitImageRef(ref: string): { repository: string; tag: string } {
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  if (colon > slash) return { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repository: ref, tag: "latest" };
}

export interface CreateContext {
  slug: string;
  network: string;
  gateway: string;
  /** Host path of the user's workspace, bound at /workspace. */
  workspaceHostPath: string;
  /** The one image sandboxes may run (the pinned agent-server). */
  image: string;
  memoryBytes: number;
  nanoCpus: number;
  pidsLimit: number;
}

export type CreateReview = { ok: true; body: Record<string, unknown> } | { ok: false; message: string };

const TOP_LEVEL_ALLOWED = new Set([
  "Image", "Cmd", "Entrypoint", "WorkingDir", "Labels", "Env", "ExposedPorts", "Volumes", "AttachStdin", "AttachStdout",
  "AttachStderr", "Tty", "OpenStdin", "StdinOnce", "NetworkDisabled", "HostConfig", "NetworkingConfig", "Hostname",
  "Domainname", "User", "StopSignal", "StopTimeout", "Healthcheck",
]);
const MAX_PUBLISHED_PORTS = 16;
/** HostConfig fields docker-py 7.1.0 may send for OpenHands, or harmless ones the filter overwrites. */
const HOST_CONFIG_ALLOWED = new Set([
  "NetworkMode", "PortBindings", "Binds", "ExtraHosts", "Init", "Devices", "Privileged", "RestartPolicy", "AutoRemove",
  "Memory", "NanoCpus", "PidsLimit", "ShmSize", "CapDrop", "ReadonlyRootfs",
  "PublishAllPorts", "Mounts", "VolumesFrom", "CapAdd", "SecurityOpt", "Sysctls", "PidMode", "IpcMode", "UTSMode",
  "UsernsMode", "CgroupnsMode", "DeviceRequests", "DeviceCgroupRules", "Runtime", "CgroupParent", "Links", "Tmpfs",
]);

/** A caller-supplied value, quoted and cut short for messages and logs. */
const show = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
};

const isEmpty = (value: unknown) =>
  value === undefined || value === null || value === false || value === "" || (Array.isArray(value) && value.length === 0) || (typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length === 0);

/** Checks a sandbox create against the user's scope and rewrites it onto the user's network and workspace. */
export function reviewCreate(name: string, input: unknown, ctx: CreateContext): CreateReview {
  const refuse = (message: string): CreateReview => ({ ok: false, message: `openhands-team docker filter: ${message}` });
  // Name squatting: a container outside the user's prefix would be listed, routed and owned as someone else's.
  if (!ownsContainerName(ctx.slug, name) || name.length > 200) return refuse(`container name ${show(name)} is outside ${names.sandboxPrefix(ctx.slug)}*`);
  if (!input || typeof input !== "object" || Array.isArray(input)) return refuse("the create body must be a JSON object");
  const body = input as Record<string, unknown>;
  for (const [key, value] of Object.entries(body)) {
    // Unknown create fields could carry capabilities this review does not know about.
    if (!TOP_LEVEL_ALLOWED.has(key) && !isEmpty(value)) return refuse(`create field ${show(key)} is not allowed`);
  }
  // Arbitrary images: sandboxes run the pinned agent-server only (spec id = image.tags[0]).
  if (body.Image !== ctx.image) return refuse(`image ${show(body.Image)} is not allowed (only ${ctx.image})`);
  const hostConfig = (body.HostConfig ?? {}) as Record<string, unknown>;
  if (typeof hostConfig !== "object" || Array.isArray(hostConfig)) return refuse("HostConfig must be an object");

  // Container escape: a privileged container owns the host kernel.
  if (hostConfig.Privileged) return refuse("privileged containers are not allowed");
  const mode = hostConfig.NetworkMode;
  // Isolation bypass: the host network (or another container's) reaches every user's app and IMDS.
  if (mode !== undefined && mode !== "" && mode !== "default" && mode !== "bridge") return refuse(`network mode ${show(mode)} is not allowed`);
  for (const field of ["PidMode", "IpcMode", "UTSMode", "UsernsMode", "CgroupnsMode"] as const) {
    const value = hostConfig[field];
    // Namespace escape: host (or another container's) PID/IPC/UTS/user/cgroup namespaces.
    if (!isEmpty(value) && !(value === "private" && (field === "IpcMode" || field === "CgroupnsMode"))) return refuse(`${field} ${show(value)} is not allowed`);
  }
  // Device access: raw host devices (disks, /dev/kvm, GPUs).
  if (!isEmpty(hostConfig.Devices) || !isEmpty(hostConfig.DeviceRequests) || !isEmpty(hostConfig.DeviceCgroupRules)) return refuse("devices are not allowed");
  // Host file access: bind mounts of host paths (another user's workspace, the Docker socket, /etc).
  if (!isEmpty(hostConfig.Binds) || !isEmpty(hostConfig.Mounts) || !isEmpty(hostConfig.VolumesFrom)) return refuse("bind mounts and volumes from other containers are not allowed");
  // Privilege escalation: added capabilities, security profiles, kernel parameters, another runtime or cgroup.
  for (const field of ["CapAdd", "SecurityOpt", "Sysctls", "Runtime", "CgroupParent", "Links"] as const) {
    if (!isEmpty(hostConfig[field]) && !(field === "Runtime" && hostConfig[field] === "runc")) return refuse(`${field} is not allowed`);
  }
  // Daemon-side reach: a log driver (syslog, gelf, fluentd, awslogs) makes dockerd itself connect out from the
  // host, with the host's network and instance role; the daemon's default driver applies instead.
  if (!isEmpty(hostConfig.LogConfig)) return refuse("LogConfig is not allowed");
  for (const [key, value] of Object.entries(hostConfig)) {
    // Anything else unknown (OOM score, CPU shares, ulimits, DNS...) could tilt the host against other users.
    if (!HOST_CONFIG_ALLOWED.has(key) && !isEmpty(value)) return refuse(`HostConfig.${key.slice(0, 100)} is not allowed`);
  }
  const endpoints = ((body.NetworkingConfig ?? {}) as { EndpointsConfig?: Record<string, unknown> }).EndpointsConfig ?? {};
  // Cross-user reach: joining another user's bridge.
  for (const network of Object.keys(endpoints)) if (network !== ctx.network) return refuse(`network ${show(network)} is not allowed`);

  const exposed = (body.ExposedPorts ?? {}) as Record<string, unknown>;
  const requested = (hostConfig.PortBindings ?? {}) as Record<string, unknown>;
  const portKeys = new Set([...Object.keys(exposed), ...Object.keys(requested)]);
  // Resource exhaustion: every published port is a listener (and a docker-proxy) on the host; OpenHands uses 4.
  if (portKeys.size > MAX_PUBLISHED_PORTS) return refuse(`at most ${MAX_PUBLISHED_PORTS} ports may be published`);
  const portBindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const key of portKeys) {
    if (!/^\d{1,5}\/(tcp|udp)$/.test(key)) return refuse(`port ${show(key)} is not allowed`);
    // Exposure: published ports bind to the user's gateway only, never 0.0.0.0; dockerd picks the host port.
    portBindings[key] = [{ HostIp: ctx.gateway, HostPort: "" }];
  }
  const labels = { ...((body.Labels ?? {}) as Record<string, string>), "org.openhands-team.owner": ctx.slug };
  const rewritten: Record<string, unknown> = {
    ...body,
    Labels: labels,
    HostConfig: {
      ...hostConfig,
      NetworkMode: ctx.network,
      PortBindings: portBindings,
      PublishAllPorts: false,
      Privileged: false,
      // Address spoofing: without raw sockets a sandbox cannot forge its app's fixed address (.2), which the host
      // firewall trusts for the metadata service and the sandboxes' published ports.
      CapDrop: [...new Set([...(Array.isArray(hostConfig.CapDrop) ? (hostConfig.CapDrop as unknown[]).map(String) : []), "NET_RAW"])],
      // Callbacks and the LLM gateway: host.docker.internal is the user's gateway, where the relay listens.
      ExtraHosts: [`host.docker.internal:${ctx.gateway}`],
      Binds: [`${ctx.workspaceHostPath}:/workspace:rw`],
      Memory: ctx.memoryBytes,
      NanoCpus: ctx.nanoCpus,
      PidsLimit: ctx.pidsLimit,
      RestartPolicy: { Name: "no" },
      AutoRemove: false,
    },
    NetworkingConfig: { EndpointsConfig: { [ctx.network]: {} } },
  };
  return { ok: true, body: rewritten };
}

/** Volumes a user's app may inspect and remove: those docker-py derives from the user's sandbox names. */
export function ownsVolume(slug: string, name: string): boolean {
  return name.startsWith(names.sandboxVolumePrefix(slug)) && name.length > names.sandboxVolumePrefix(slug).length;
}
