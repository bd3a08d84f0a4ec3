/**
 * What a user's OpenHands may ask of Docker: exactly the calls of OpenHands 1.7.0 through docker-py 7.1.0
 * (the spawner README, "Filtered Docker API"), scoped to the user's own sandboxes, and how a create is rebuilt.
 * Pure functions; the socket server in api-endpoint.ts applies them.
 *
 * Nothing the caller sends goes to dockerd as sent: every path, query and body is built again from the
 * values this review accepted, with the exact field names dockerd expects. dockerd's Go decoder matches
 * JSON keys case-insensitively and keeps the last duplicate, so a copied body could carry a second
 * "hostconfig" that replaces the reviewed one.
 */
import { isOwnSandboxName, MAX_CONTAINER_NAME_LENGTH, names } from "../slug";
import { goFoldKey, parseStrictJson, StrictJsonError } from "./strict-json";

export type DockerCall =
  | { op: "version" }
  | { op: "list"; all: boolean; limit: number | undefined }
  | { op: "inspect"; ref: string }
  | { op: "create"; name: string }
  | { op: "action"; ref: string; action: "start" | "stop" | "pause" | "unpause"; query: string }
  | { op: "remove"; ref: string; query: string }
  | { op: "image-inspect"; ref: string }
  | { op: "image-pull"; ref: string }
  | { op: "volume"; name: string; method: "GET" | "DELETE" };

export type Classified = { ok: true; call: DockerCall; versionPrefix: string } | { ok: false; status: number; message: string };

const VERSION_PREFIX = /^\/v1\.\d{1,3}(?=\/)/;
const CONTAINER_REF = `([A-Za-z0-9][A-Za-z0-9_.-]{0,${MAX_CONTAINER_NAME_LENGTH - 1}})`;
const IMAGE_REF = /^[a-z0-9][a-z0-9._\-/:@]{0,254}$/;
const FULL_ID = /^[0-9a-f]{64}$/;
const PREFIX = "openhands-team docker filter:";
/** The oldest Engine API version accepted (dockerd 19.03); docker-py negotiates the daemon's (1.41 for 20.10). */
const MIN_API_MINOR = 40;

/** Go's httputils.BoolValue: anything but "", "0", "no", "false" and "none" (any case) is true. */
function goBool(value: string | null): boolean {
  return value !== null && !["", "0", "no", "false", "none"].includes(value.toLowerCase());
}

/** The query's parameters, or a refusal when one is repeated or not on the list (Go's Form.Get reads the first). */
function queryParams(search: string, allowed: readonly string[]): Map<string, string> | string {
  const out = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(search)) {
    if (out.has(key)) return `query parameter ${show(key)} is given twice`;
    if (!allowed.includes(key)) return `query parameter ${show(key)} is not allowed here`;
    out.set(key, value);
  }
  return out;
}

/** Classifies one request against the allow-list; anything else is refused. */
export function classifyDockerCall(method: string, rawUrl: string): Classified {
  const refuse = (message: string, status = 403): Classified => ({ ok: false, status, message: `${PREFIX} ${message}` });
  // Smuggling: a path that needs decoding or normalising could mean one thing here and another to dockerd.
  if (!rawUrl.startsWith("/") || rawUrl.includes("..") || rawUrl.includes("//") || rawUrl.includes("\\") || rawUrl.includes("#")) {
    return refuse(`${method} ${show(rawUrl)} is not allowed`);
  }
  const queryAt = rawUrl.indexOf("?");
  const rawPath = queryAt >= 0 ? rawUrl.slice(0, queryAt) : rawUrl;
  const search = queryAt >= 0 ? rawUrl.slice(queryAt + 1) : "";
  const versionPrefix = VERSION_PREFIX.exec(rawPath)?.[0] ?? "";
  const path = rawPath.slice(versionPrefix.length);
  // Legacy decoding: below API 1.40 dockerd reads create and start bodies by older rules (HostConfig on start,
  // deprecated top-level fields) that the rebuild does not speak; docker-py negotiates the daemon's own version.
  if (versionPrefix && Number(versionPrefix.slice("/v1.".length)) < MIN_API_MINOR)
    return refuse(`API version ${versionPrefix.slice(2)} is too old for this filter (1.${MIN_API_MINOR} or later)`, 400);
  if (/%/.test(path) && !/^\/images\//.test(path)) return refuse(`${method} ${show(path)} is not allowed`);
  const pass = (call: DockerCall): Classified => ({ ok: true, call, versionPrefix });
  let m: RegExpExecArray | null;

  if (method === "GET" && path === "/version") return pass({ op: "version" });
  if (method === "GET" && path === "/containers/json") {
    // Existence oracle: filters, since and before answer differently for another user's container that exists
    // (dockerd: 500 "no such container" or 200); OpenHands lists without them (containers.list(all=True)).
    const params = queryParams(search, ["all", "limit", "size", "trunc_cmd"]);
    if (typeof params === "string") return refuse("only all, limit, size and trunc_cmd may be given when listing containers", 400);
    const limit = Number(params.get("limit") ?? "-1");
    return pass({ op: "list", all: goBool(params.get("all") ?? null), limit: Number.isInteger(limit) && limit > 0 ? limit : undefined });
  }
  if (method === "POST" && path === "/containers/create") {
    const params = queryParams(search, ["name"]);
    if (typeof params === "string") return refuse(params, 400);
    const name = params.get("name");
    if (!name) return refuse("a sandbox create needs a name");
    return pass({ op: "create", name });
  }
  m = method === "GET" ? new RegExp(`^/containers/${CONTAINER_REF}/json$`).exec(path) : null;
  if (m) return pass({ op: "inspect", ref: m[1]! });
  m = method === "POST" ? new RegExp(`^/containers/${CONTAINER_REF}/(start|stop|pause|unpause)$`).exec(path) : null;
  if (m) {
    const action = m[2] as "start" | "stop" | "pause" | "unpause";
    let query = "";
    if (action === "stop") {
      const params = queryParams(search, ["t", "signal"]);
      if (typeof params === "string") return refuse(params, 400);
      const t = params.get("t");
      if (t !== undefined) {
        if (!/^\d{1,3}$/.test(t) || Number(t) > 600) return refuse("stop timeout t must be 0 to 600 seconds", 400);
        query = `?t=${Number(t)}`;
      }
    }
    return pass({ op: "action", ref: m[1]!, action, query });
  }
  m = method === "DELETE" ? new RegExp(`^/containers/${CONTAINER_REF}$`).exec(path) : null;
  if (m) {
    const params = queryParams(search, ["v", "force", "link"]);
    if (typeof params === "string") return refuse(params, 400);
    return pass({
      op: "remove",
      ref: m[1]!,
      query: `?v=${goBool(params.get("v") ?? null) ? 1 : 0}&force=${goBool(params.get("force") ?? null) ? 1 : 0}`,
    });
  }
  m = method === "GET" ? /^\/images\/(.+)\/json$/.exec(path) : null;
  if (m) {
    const ref = decodeURIComponentSafe(m[1]!);
    if (!ref || !IMAGE_REF.test(ref)) return refuse(`image reference ${show(m[1])} is not allowed`);
    return pass({ op: "image-inspect", ref });
  }
  if (method === "POST" && path === "/images/create") {
    const params = queryParams(search, ["fromImage", "tag"]);
    if (typeof params === "string") return refuse(params, 400);
    const from = params.get("fromImage") ?? "";
    const tag = params.get("tag");
    return pass({ op: "image-pull", ref: tag ? `${from}:${tag}` : from });
  }
  if (method === "GET" || method === "DELETE") {
    m = /^\/volumes\/([A-Za-z0-9][A-Za-z0-9_.-]{0,254})$/.exec(path);
    if (m) return pass({ op: "volume", name: m[1]!, method });
  }
  return refuse(`${method} ${show(path)} is not allowed`);
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

/** Whether a container name the daemon reports is one of the user's sandboxes (slug.ts's one name parser). */
export function ownsContainerName(slug: string, daemonName: unknown): boolean {
  return isOwnSandboxName(slug, daemonName);
}

/**
 * Whether a caller's container reference may be looked up at all: the user's own sandbox names, or a full
 * 64-hex Id (what docker-py uses after a list or create). Short Id prefixes are not: "multiple IDs found
 * with provided prefix" would tell that another user's container shares the prefix.
 */
export function mayLookUpContainer(slug: string, ref: string): boolean {
  return FULL_ID.test(ref) || isOwnSandboxName(slug, ref);
}

/** Keeps only the user's own sandboxes in a `GET /containers/json` answer (then the caller's limit). */
export function filterContainerList(slug: string, list: unknown, limit?: number): unknown[] {
  if (!Array.isArray(list)) return [];
  const own = list.filter(
    (item) => item !== null && typeof item === "object" && ownsContainerName(slug, primaryName((item as { Names?: unknown }).Names)),
  );
  return limit ? own.slice(0, limit) : own;
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

export type CreateReview = { ok: true; body: Record<string, unknown> } | { ok: false; status: 400 | 403; message: string };

const MAX_PUBLISHED_PORTS = 16;
const SECOND_NS = 1_000_000_000;
/**
 * Healthcheck bounds (nanoseconds; 0 means the image's own setting). Every probe is an exec, and every exec
 * three engine events the spawner reads: a 1 ms interval is about 29 events a second per sandbox.
 */
export const HEALTHCHECK_BOUNDS = {
  Interval: { min: 5 * SECOND_NS, max: 3600 * SECOND_NS },
  Timeout: { min: 1 * SECOND_NS, max: 300 * SECOND_NS },
  StartPeriod: { min: 1 * SECOND_NS, max: 3600 * SECOND_NS },
  Retries: { min: 0, max: 10 },
} as const;

/** Fields of the create body (container.Config plus the wrapper's HostConfig and NetworkingConfig), exact case. */
const TOP_LEVEL_FIELDS = [
  "Image",
  "Cmd",
  "Entrypoint",
  "WorkingDir",
  "Labels",
  "Env",
  "ExposedPorts",
  "Volumes",
  "AttachStdin",
  "AttachStdout",
  "AttachStderr",
  "Tty",
  "OpenStdin",
  "StdinOnce",
  "NetworkDisabled",
  "HostConfig",
  "NetworkingConfig",
  "Hostname",
  "Domainname",
  "User",
  "StopSignal",
  "StopTimeout",
  "Healthcheck",
  "MacAddress",
] as const;
/**
 * HostConfig fields docker-py 7.1.0 and 5.0.3 may send for OpenHands, those the rebuild sets, and the refused ones named for a clear
 * message.
 */
const HOST_CONFIG_FIELDS = [
  "NetworkMode",
  "PortBindings",
  "Binds",
  "ExtraHosts",
  "Init",
  "Privileged",
  "RestartPolicy",
  "AutoRemove",
  "Memory",
  "NanoCpus",
  "PidsLimit",
  "ShmSize",
  "CapDrop",
  "ReadonlyRootfs",
  "PublishAllPorts",
  "Devices",
  "Mounts",
  "VolumesFrom",
  "CapAdd",
  "SecurityOpt",
  "Sysctls",
  "PidMode",
  "IpcMode",
  "UTSMode",
  "UsernsMode",
  "CgroupnsMode",
  "DeviceRequests",
  "DeviceCgroupRules",
  "Runtime",
  "CgroupParent",
  "Links",
  "Tmpfs",
  "LogConfig",
] as const;
const HEALTHCHECK_FIELDS = ["Test", "Interval", "Timeout", "StartPeriod", "Retries"] as const;
const RESTART_POLICY_FIELDS = ["Name", "MaximumRetryCount"] as const;
const NETWORKING_CONFIG_FIELDS = ["EndpointsConfig"] as const;
const PORT_BINDING_FIELDS = ["HostIp", "HostPort"] as const;
const OWNER_LABEL = "org.openhands-team.owner";

/** A caller-supplied value, quoted and cut short for messages and logs. */
const show = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
};

class Refusal extends Error {
  constructor(
    readonly status: 400 | 403,
    message: string,
  ) {
    super(message);
  }
}
const malformed = (message: string): never => {
  throw new Refusal(400, message);
};
const forbidden = (message: string): never => {
  throw new Refusal(403, message);
};

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => value !== null && typeof value === "object" && !Array.isArray(value);
const isEmpty = (value: unknown) =>
  value === undefined ||
  value === null ||
  value === false ||
  value === "" ||
  (Array.isArray(value) && value.length === 0) ||
  (isObject(value) && Object.keys(value).length === 0);

/**
 * Case folding and duplicates: every key of a struct must be one of its fields, spelled exactly. A key that
 * dockerd would fold onto a field ("hostconfig", "ſysctls", "HostConfig " is not one) is refused whatever its
 * value, even null, "" or {}: a null "hostconfig" after the reviewed "HostConfig" would erase it.
 */
function struct(value: unknown, fields: readonly string[], where: string): Json | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) return malformed(`${where} must be a JSON object`);
  for (const key of Object.keys(value)) {
    if (fields.includes(key)) continue;
    const folded = fields.find((field) => goFoldKey(field) === goFoldKey(key));
    malformed(
      `create field ${show(`${where === "the create body" ? "" : `${where}.`}${key}`)} is not ` +
        `allowed${folded ? ` (dockerd would read it as ${folded}; field names must be spelled exactly)` : ""}`,
    );
  }
  return value;
}

function map(value: unknown, where: string, maxEntries: number): Json | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) return malformed(`${where} must be a JSON object`);
  if (Object.keys(value).length > maxEntries) malformed(`${where} has more than ${maxEntries} entries`);
  return value;
}

function string(value: unknown, where: string, pattern?: RegExp): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") return malformed(`${where} must be a string`);
  if (pattern && !pattern.test(value)) malformed(`${where} ${show(value)} is not allowed`);
  return value;
}

function boolean(value: unknown, where: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") return malformed(`${where} must be true or false`);
  return value;
}

function integer(value: unknown, where: string, min: number, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value)) return malformed(`${where} must be an integer`);
  if (value < min || value > max) malformed(`${where} must be between ${min} and ${max}`);
  return value;
}

function strings(value: unknown, where: string, maxItems: number, maxLength: number, allowString = false): string[] | string | undefined {
  if (value === undefined || value === null) return undefined;
  if (allowString && typeof value === "string") {
    if (value.length > maxLength) malformed(`${where} is too long`);
    return value;
  }
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) return malformed(`${where} must be a list of strings`);
  if (value.length > maxItems) malformed(`${where} has more than ${maxItems} entries`);
  if ((value as string[]).some((item) => item.length > maxLength || item.includes("\0")))
    malformed(`${where} has an entry that is too long or holds a NUL`);
  return value as string[];
}

const PORT_KEY = /^([1-9]\d{0,4})\/(tcp|udp)$/;
function portKey(key: string, where: string): string {
  const match = PORT_KEY.exec(key);
  if (!match || Number(match[1]) > 65535) malformed(`${where} port ${show(key)} is not allowed`);
  return key;
}

function healthcheck(value: unknown): Json | undefined {
  const hc = struct(value, HEALTHCHECK_FIELDS, "Healthcheck");
  if (!hc) return undefined;
  const out: Json = {};
  const test = strings(hc.Test, "Healthcheck.Test", 64, 4096);
  if (test !== undefined && test.length > 0) {
    if (!["NONE", "CMD", "CMD-SHELL"].includes(test[0]!)) malformed(`Healthcheck.Test must start with NONE, CMD or CMD-SHELL`);
    out.Test = test;
  }
  for (const field of ["Interval", "Timeout", "StartPeriod"] as const) {
    const bounds = HEALTHCHECK_BOUNDS[field];
    const ns = integer(hc[field], `Healthcheck.${field}`, 0, bounds.max);
    // Event flood: a probe every millisecond is an exec (three engine events, one inspect each) every millisecond.
    if (ns !== undefined && ns !== 0 && ns < bounds.min)
      forbidden(`Healthcheck.${field} must be 0 (the image's setting) or at least ${bounds.min / SECOND_NS} s`);
    if (ns) out[field] = ns;
  }
  const retries = integer(hc.Retries, "Healthcheck.Retries", HEALTHCHECK_BOUNDS.Retries.min, HEALTHCHECK_BOUNDS.Retries.max);
  if (retries) out.Retries = retries;
  return Object.keys(out).length ? out : undefined;
}

/** Checks a sandbox create (the raw body as received) and rebuilds it; see reviewCreate. */
export function reviewCreateText(name: string, raw: Buffer | string, ctx: CreateContext): CreateReview {
  let parsed: unknown;
  try {
    parsed = parseStrictJson(raw);
  } catch (error) {
    if (error instanceof StrictJsonError)
      return { ok: false, status: 400, message: `${PREFIX} the create body is not acceptable JSON: ${error.message}` };
    throw error;
  }
  return reviewCreate(name, parsed, ctx);
}

/**
 * Checks a sandbox create against the user's scope and builds, from scratch, the body dockerd gets: only
 * fields named here, each from a value checked here, with the user's network, gateway, workspace and limits.
 * `input` must come from parseStrictJson (duplicates already refused). 400: not a body this filter reads;
 * 403: a readable body asking for something a sandbox may not have.
 */
export function reviewCreate(name: string, input: unknown, ctx: CreateContext): CreateReview {
  try {
    return { ok: true, body: rebuildCreate(name, input, ctx) };
  } catch (error) {
    if (error instanceof Refusal) return { ok: false, status: error.status, message: `${PREFIX} ${error.message}` };
    throw error;
  }
}

function rebuildCreate(name: string, input: unknown, ctx: CreateContext): Json {
  // Name squatting: a container outside the user's prefix would be listed, routed and owned as someone else's.
  if (!isOwnSandboxName(ctx.slug, name))
    forbidden(`container name ${show(name)} is outside ${names.sandboxPrefix(ctx.slug)}* (ids of 1 to 128 characters [A-Za-z0-9_.-])`);
  if (!isObject(input)) return malformed("the create body must be a JSON object");
  const body = struct(input, TOP_LEVEL_FIELDS, "the create body")!;
  const out: Json = {};

  // Arbitrary images: sandboxes run the pinned agent-server only (spec id = image.tags[0]).
  if (body.Image !== ctx.image) forbidden(`image ${show(body.Image)} is not allowed (only ${ctx.image})`);
  out.Image = ctx.image;
  const cmd = strings(body.Cmd, "Cmd", 256, 65536, true);
  if (cmd !== undefined) out.Cmd = cmd;
  const entrypoint = strings(body.Entrypoint, "Entrypoint", 256, 65536, true);
  if (entrypoint !== undefined) out.Entrypoint = entrypoint;
  const env = strings(body.Env, "Env", 1024, 65536);
  if (env !== undefined) out.Env = env;
  const workingDir = string(body.WorkingDir, "WorkingDir", /^(\/[^\0]{0,4095})?$/);
  if (workingDir) out.WorkingDir = workingDir;
  for (const field of ["AttachStdin", "AttachStdout", "AttachStderr", "Tty", "OpenStdin", "StdinOnce"] as const) {
    const value = boolean(body[field], field);
    if (value !== undefined) out[field] = value;
  }
  const hostname = string(body.Hostname, "Hostname", /^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)?$/);
  if (hostname) out.Hostname = hostname;
  const domainname = string(body.Domainname, "Domainname", /^([A-Za-z0-9.-]{1,253})?$/);
  if (domainname) out.Domainname = domainname;
  const user = string(body.User, "User", /^([A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?)?$/);
  if (user) out.User = user;
  const stopSignal = string(body.StopSignal, "StopSignal", /^((SIG)?[A-Z0-9+]{1,12}|\d{1,2})?$/);
  if (stopSignal) out.StopSignal = stopSignal;
  const stopTimeout = integer(body.StopTimeout, "StopTimeout", 0, 600);
  if (stopTimeout !== undefined) out.StopTimeout = stopTimeout;
  const health = healthcheck(body.Healthcheck);
  if (health) out.Healthcheck = health;
  // Off the user's network: a sandbox without networking is not one the proxy or the firewall expects.
  if (boolean(body.NetworkDisabled, "NetworkDisabled")) forbidden("NetworkDisabled is not allowed");
  // Address spoofing: a chosen MAC (say the app's) would take over its traffic on the bridge.
  if (string(body.MacAddress, "MacAddress")) forbidden("MacAddress is not allowed");
  // Host file access: anonymous volumes are only asked for with OpenHands' host mounts, which sandboxes do not get.
  if (!isEmpty(map(body.Volumes, "Volumes", 64))) forbidden("volumes are not allowed");

  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(map(body.Labels, "Labels", 64) ?? {})) {
    if (typeof value !== "string" || key.length > 256 || value.length > 4096)
      malformed(`label ${show(key)} must be a string of at most 4096 characters`);
    // Label forgery: the spawner's own labels say who owns what; only the owner label, set to this user, is kept.
    if (key.startsWith("org.openhands-team.") && !(key === OWNER_LABEL && value === ctx.slug)) forbidden(`label ${show(key)} is reserved`);
    labels[key] = value as string;
  }
  labels[OWNER_LABEL] = ctx.slug;
  out.Labels = labels;

  const hostConfig = struct(body.HostConfig, HOST_CONFIG_FIELDS, "HostConfig") ?? {};
  // Container escape: a privileged container owns the host kernel.
  if (boolean(hostConfig.Privileged, "HostConfig.Privileged")) forbidden("privileged containers are not allowed");
  const mode = string(hostConfig.NetworkMode, "HostConfig.NetworkMode");
  // Isolation bypass: the host network (or another container's, or docker0) reaches every user's app and IMDS.
  if (mode !== undefined && !["", "default", "bridge", ctx.network].includes(mode)) forbidden(`network mode ${show(mode)} is not allowed`);
  for (const field of ["PidMode", "IpcMode", "UTSMode", "UsernsMode", "CgroupnsMode"] as const) {
    const value = string(hostConfig[field], `HostConfig.${field}`);
    // Namespace escape: host (or another container's) PID/IPC/UTS/user/cgroup namespaces.
    if (value && !(value === "private" && (field === "IpcMode" || field === "CgroupnsMode")))
      forbidden(`${field} ${show(value)} is not allowed`);
  }
  // Device access: raw host devices (disks, /dev/kvm, GPUs).
  if (!isEmpty(hostConfig.Devices) || !isEmpty(hostConfig.DeviceRequests) || !isEmpty(hostConfig.DeviceCgroupRules))
    forbidden("devices are not allowed");
  const binds = strings(hostConfig.Binds, "HostConfig.Binds", 16, 4096);
  const ownBind = `${ctx.workspaceHostPath}:/workspace:rw`;
  // Host file access: bind mounts of host paths (another user's workspace, the Docker socket, /etc); a replayed
  // record carries the spawner's own workspace bind, which is set again below anyway.
  if (
    (binds !== undefined && (binds as string[]).some((bind) => bind !== ownBind)) ||
    !isEmpty(hostConfig.Mounts) ||
    !isEmpty(hostConfig.VolumesFrom)
  ) {
    forbidden("bind mounts and volumes from other containers are not allowed");
  }
  // Privilege escalation: added capabilities, security profiles, kernel parameters, another runtime or cgroup.
  for (const field of ["CapAdd", "SecurityOpt", "Sysctls", "Runtime", "CgroupParent", "Links", "Tmpfs"] as const) {
    if (!isEmpty(hostConfig[field]) && !(field === "Runtime" && hostConfig[field] === "runc")) forbidden(`${field} is not allowed`);
  }
  // Daemon-side reach: a log driver (syslog, gelf, fluentd, awslogs) makes dockerd itself connect out from the
  // host, with the host's network and instance role; the daemon's default driver applies instead.
  if (!isEmpty(hostConfig.LogConfig)) forbidden("LogConfig is not allowed");
  // Exposure and clean-up: ports on every address, or a container that removes itself (and its record's purpose).
  if (boolean(hostConfig.PublishAllPorts, "HostConfig.PublishAllPorts")) forbidden("PublishAllPorts is not allowed");
  if (boolean(hostConfig.AutoRemove, "HostConfig.AutoRemove")) forbidden("AutoRemove is not allowed");
  const restart = struct(hostConfig.RestartPolicy, RESTART_POLICY_FIELDS, "HostConfig.RestartPolicy");
  // Cull evasion: a sandbox that restarts itself outlives its user's cull.
  if (
    restart &&
    (!["", "no", undefined, null].includes(restart.Name as string) || ![undefined, null, 0].includes(restart.MaximumRetryCount as number))
  )
    forbidden("a restart policy is not allowed");
  // Limits are the spawner's: whatever is asked is replaced (but must still be a number).
  for (const field of ["Memory", "NanoCpus", "PidsLimit"] as const)
    integer(hostConfig[field], `HostConfig.${field}`, -1, Number.MAX_SAFE_INTEGER);
  strings(hostConfig.ExtraHosts, "HostConfig.ExtraHosts", 16, 300);
  const capDrop = strings(hostConfig.CapDrop, "HostConfig.CapDrop", 64, 32) as string[] | undefined;
  for (const cap of capDrop ?? [])
    if (!/^(ALL|(CAP_)?[A-Z_]{2,32})$/.test(cap)) malformed(`HostConfig.CapDrop entry ${show(cap)} is not a capability`);
  const init = boolean(hostConfig.Init, "HostConfig.Init");
  const readonlyRootfs = boolean(hostConfig.ReadonlyRootfs, "HostConfig.ReadonlyRootfs");
  const shmSize = integer(hostConfig.ShmSize, "HostConfig.ShmSize", 0, ctx.memoryBytes);

  const networking = struct(body.NetworkingConfig, NETWORKING_CONFIG_FIELDS, "NetworkingConfig");
  for (const [network, endpoint] of Object.entries(map(networking?.EndpointsConfig, "NetworkingConfig.EndpointsConfig", 4) ?? {})) {
    // Cross-user reach: joining another user's bridge (or docker0, where no rule of the host firewall applies).
    if (network !== ctx.network) forbidden(`network ${show(network)} is not allowed`);
    // Address spoofing: a fixed address (the app's .2) or aliases on the user's bridge.
    if (!isEmpty(endpoint)) forbidden("endpoint settings (addresses, aliases) are not allowed");
  }

  const exposed = map(body.ExposedPorts, "ExposedPorts", 1024) ?? {};
  for (const [key, value] of Object.entries(exposed)) {
    portKey(key, "ExposedPorts");
    if (!(value === null || (isObject(value) && Object.keys(value).length === 0))) malformed(`ExposedPorts ${show(key)} must map to {}`);
  }
  const requested = map(hostConfig.PortBindings, "HostConfig.PortBindings", 1024) ?? {};
  for (const [key, bindings] of Object.entries(requested)) {
    portKey(key, "HostConfig.PortBindings");
    if (bindings === null) continue;
    if (!Array.isArray(bindings) || bindings.length > 4)
      malformed(`HostConfig.PortBindings ${show(key)} must be a list of at most 4 bindings`);
    for (const binding of bindings as unknown[]) {
      const b = struct(binding, PORT_BINDING_FIELDS, "HostConfig.PortBindings[]") ?? {};
      string(b.HostIp, "HostConfig.PortBindings[].HostIp", /^((\d{1,3}\.){3}\d{1,3})?$/);
      string(b.HostPort, "HostConfig.PortBindings[].HostPort", /^\d{0,5}$/);
    }
  }
  const portKeys = [...new Set([...Object.keys(exposed), ...Object.keys(requested)])];
  // Resource exhaustion: every published port is a listener (and a docker-proxy) on the host; OpenHands uses 4.
  if (portKeys.length > MAX_PUBLISHED_PORTS) forbidden(`at most ${MAX_PUBLISHED_PORTS} ports may be published`);
  // Exposure: published ports bind to the user's gateway only, never 0.0.0.0; dockerd picks the host port.
  out.ExposedPorts = Object.fromEntries(portKeys.map((key) => [key, {}]));
  const portBindings = Object.fromEntries(portKeys.map((key) => [key, [{ HostIp: ctx.gateway, HostPort: "" }]]));

  out.HostConfig = {
    NetworkMode: ctx.network,
    PortBindings: portBindings,
    Privileged: false,
    PublishAllPorts: false,
    // Address spoofing: without raw sockets a sandbox cannot forge its app's fixed address (.2), which the host
    // firewall trusts for the metadata service and the sandboxes' published ports.
    CapDrop: [...new Set([...(capDrop ?? []), "NET_RAW"])],
    // Callbacks and the LLM gateway: host.docker.internal is the user's gateway, where the relay listens.
    ExtraHosts: [`host.docker.internal:${ctx.gateway}`],
    Binds: [ownBind],
    Memory: ctx.memoryBytes,
    NanoCpus: ctx.nanoCpus,
    PidsLimit: ctx.pidsLimit,
    RestartPolicy: { Name: "no" },
    AutoRemove: false,
    ...(init !== undefined ? { Init: init } : {}),
    ...(readonlyRootfs !== undefined ? { ReadonlyRootfs: readonlyRootfs } : {}),
    ...(shmSize ? { ShmSize: shmSize } : {}),
  };
  out.NetworkingConfig = { EndpointsConfig: { [ctx.network]: {} } };
  return out;
}

/** Volumes a user's app may inspect and remove: those docker-py derives from the user's sandbox names. */
export function ownsVolume(slug: string, name: string): boolean {
  return name.startsWith("openhands-workspace-") && isOwnSandboxName(slug, name.slice("openhands-workspace-".length));
}
