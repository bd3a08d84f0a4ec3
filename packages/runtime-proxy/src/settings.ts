/**
 * Settings of the runtime proxy: what the host's installer knows (host names, the spawner, the key
 * file) plus tuning with defaults. Parsed and validated here once; the renderer and the tests use
 * the result. Hand-written validation keeps dist/render.js free of dependencies: the host runs it
 * from the bundle with plain `node`, without node_modules.
 */

/** Validated settings, every default applied. */
export interface ProxySettings {
  /** Host of the OpenHands app, e.g. `openhands.example.com`. */
  readonly appHost: string;
  /** Runtime domain: sandboxes are served on `<port>-<slug>.<runtimeDomain>`. */
  readonly runtimeDomain: string;
  /** Where nginx listens. @default { address: "0.0.0.0", port: 8080 } */
  readonly listen: { readonly address: string; readonly port: number };
  /** Spawner control API. @default "http://127.0.0.1:8081" */
  readonly spawnerUrl: string;
  /** File holding the identity-signing key (base64url, 32 bytes), mode 0600; read once by the master. */
  readonly identityKeyFile: string;
  /** Folder of the Lua modules. @default the `lua` folder next to render.js */
  readonly luaDir: string;
  /** Existing directory for the pid file and nginx temp folders. @default "/usr/local/openresty/nginx" (the OpenResty image prefix) */
  readonly runDir: string;
  /** `load_module` paths, in order. Debian's nginx needs ndk first, then lua; OpenResty needs none. @default [] */
  readonly modules: readonly string[];
  /** `user` directive for the workers; omitted: nginx's default. @default undefined */
  readonly user?: string;
  /** @default "auto" */
  readonly workerProcesses: "auto" | number;
  /** @default 4096 */
  readonly workerConnections: number;
  /** @default "stderr" */
  readonly errorLog: string;
  /** @default "warn" */
  readonly logLevel: "debug" | "info" | "notice" | "warn" | "error";
  /** Access log path, or "off". @default "/dev/stdout" */
  readonly accessLog: string;
  /** DNS resolvers, only needed when spawnerUrl names a host. @default [] */
  readonly resolver: readonly string[];
  /** @default "100m" */
  readonly clientMaxBodySize: string;
  /** Shared dict size for cached routes. @default "10m" */
  readonly routeCacheSize: string;
  /** How long a resolved route or a running app's address is reused. @default 30 */
  readonly routeCacheSeconds: number;
  /** How long a "no such sandbox" answer is reused. @default 3 */
  readonly negativeCacheSeconds: number;
  /** Batch interval of activity reports to the spawner. @default 30 */
  readonly activityFlushSeconds: number;
  /** Per call to the spawner. @default 3000 */
  readonly spawnerTimeoutMs: number;
  /** Spawner probe of the health endpoint. @default 1000 */
  readonly healthTimeoutMs: number;
  /** Retry-After when the spawner is down. @default 5 */
  readonly spawnerRetryAfterSeconds: number;
  /** Connect timeout to an upstream (a killed container's address answers nothing). @default 1 */
  readonly upstreamConnectSeconds: number;
  /** Idle limit of proxied streams and WebSockets. @default 3600 */
  readonly streamSeconds: number;
  /**
   * Longest wait for an upstream's answer, and between two reads of it, on plain requests (not WebSockets or
   * the app's streamed conversation start): a paused container accepts connections and never answers. @default 60
   */
  readonly upstreamReadSeconds: number;
  /** Idle upstream connections kept per worker. @default 64 */
  readonly upstreamKeepalive: number;
  /** How long an idle upstream connection is kept: below the upstreams' own 5 s (uvicorn, Node). @default 4 */
  readonly upstreamKeepaliveSeconds: number;
  /** Clock skew tolerated on x-oh-exp. @default 5 */
  readonly identitySkewSeconds: number;
  /** How far ahead x-oh-exp may lie (the edge signs 60 s ahead). @default 300 */
  readonly identityMaxAheadSeconds: number;
  /** Extra nginx files included inside `http {}`. @default [] */
  readonly includes: readonly string[];
  /**
   * First two octets of the users' subnets (`<prefix>.N.0/24`), the same value as the spawner's
   * `network.subnetPrefix`. Upstreams must lie inside: the app at `<prefix>.N.2:<appPort>`, sandboxes
   * at `<prefix>.N.128-254`. Never loopback, link-local, `0.x` or multicast. @default "10.240"
   */
  readonly userSubnetPrefix: string;
  /** Port of OpenHands inside each app container (the spawner's `network.appPort`). @default 3000 */
  readonly appPort: number;
  /**
   * ECS mode (docs/ecs.md): the private subnets users' tasks run in, as CIDRs (`/16` to `/28`, private ranges only).
   * Given, upstreams must lie inside them instead of `userSubnetPrefix`'s plan: an app task at any usable address on
   * `appPort`, a sandbox task on 60000, 60001, 12000 or 12001. Tasks of different users share these subnets. @default []
   */
  readonly taskSubnets: readonly string[];
  /**
   * ECS mode: the internal domain of the sandbox URLs the users' apps are given (`http://<p>-<slug>.<sandboxDomain>`,
   * docs/ecs.md "Runtime URLs"). Given, the app's answers are rewritten from those names too, and `internalListen`
   * serves the agent-server names to the apps. Only with `internalListen` and `taskSubnets`. @default undefined
   */
  readonly sandboxDomain?: string;
  /**
   * ECS mode: where the apps reach their sandboxes' agent-servers (`"<IPv4>:<port>"`, the host's private address and
   * port 80). Serves only `<p>-<slug>.<sandboxDomain>`, with the sandbox's session key. Only with `sandboxDomain`.
   * @default undefined
   */
  readonly internalListen?: { readonly address: string; readonly port: number };
  /**
   * How many trusted proxies append to `X-Forwarded-For` in front of nginx (CloudFront, then the ALB: 2).
   * The per-client limits key on the entry that many places from the right; 0 keys on the TCP peer. @default 2
   */
  readonly clientAddressHops: 0 | 1 | 2;
  /** Requests a client may have in progress at once (limit_conn; WebSockets count while open). @default 200 */
  readonly connectionsPerClient: number;
  /** Spawner route lookups (cache misses) a client without a signed identity may cause per minute. @default 120 */
  readonly lookupsPerClientPerMinute: number;
  /** Time to send the whole request header. @default 10 */
  readonly clientHeaderSeconds: number;
  /** Longest pause between two reads of the request body (slower bodies are bounded by connectionsPerClient). @default 10 */
  readonly clientBodySeconds: number;
  /** Longest pause of the client between two writes of the answer. @default 60 */
  readonly sendSeconds: number;
}

export class SettingsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid runtime-proxy settings:\n  ${problems.join("\n  ")}`);
    this.name = "SettingsError";
  }
}

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** Paths end up inside nginx directives and a Lua long string: keep them to plain characters. */
const SAFE_PATH = /^\/[A-Za-z0-9._/-]*$/;
const SIZE = /^[1-9]\d{0,5}[km]?$/;
const LOG_LEVELS = ["debug", "info", "notice", "warn", "error"] as const;

const KNOWN = new Set([
  "appHost",
  "runtimeDomain",
  "listen",
  "spawnerUrl",
  "identityKeyFile",
  "luaDir",
  "runDir",
  "modules",
  "user",
  "workerProcesses",
  "workerConnections",
  "errorLog",
  "logLevel",
  "accessLog",
  "resolver",
  "clientMaxBodySize",
  "routeCacheSize",
  "routeCacheSeconds",
  "negativeCacheSeconds",
  "activityFlushSeconds",
  "spawnerTimeoutMs",
  "healthTimeoutMs",
  "spawnerRetryAfterSeconds",
  "upstreamConnectSeconds",
  "streamSeconds",
  "upstreamReadSeconds",
  "upstreamKeepalive",
  "upstreamKeepaliveSeconds",
  "identitySkewSeconds",
  "identityMaxAheadSeconds",
  "includes",
  "userSubnetPrefix",
  "appPort",
  "taskSubnets",
  "sandboxDomain",
  "internalListen",
  "clientAddressHops",
  "connectionsPerClient",
  "lookupsPerClientPerMinute",
  "clientHeaderSeconds",
  "clientBodySeconds",
  "sendSeconds",
]);

/**
 * Validates raw settings (parsed JSON) and applies defaults.
 * @param defaultLuaDir used when `luaDir` is not given
 * @throws SettingsError listing every bad field with its value and the fix
 */
export function parseSettings(raw: unknown, defaultLuaDir: string): ProxySettings {
  const problems: string[] = [];
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new SettingsError([`settings: ${show(raw)} is not a JSON object`]);
  }
  const input = raw as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (!KNOWN.has(key)) problems.push(`settings.${key}: unknown setting (expected one of ${[...KNOWN].join(", ")})`);
  }

  const dnsName = (field: string, example: string): string => {
    const value = input[field];
    if (typeof value !== "string" || !DNS_NAME.test(value)) {
      problems.push(`settings.${field}: ${show(value)} is not a lower-case DNS name (expected like ${example})`);
      return "";
    }
    return value;
  };
  const number = (field: string, fallback: number, min: number, max: number, integer = true): number => {
    const value = input[field];
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      problems.push(`settings.${field}: ${show(value)} is not ${integer ? "an integer" : "a number"} from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const path = (field: string, fallback: string | undefined): string => {
    const value = input[field] ?? fallback;
    if (typeof value !== "string" || !SAFE_PATH.test(value)) {
      problems.push(`settings.${field}: ${show(value)} is not an absolute path of letters, digits, '.', '_', '-' and '/'`);
      return "";
    }
    return value;
  };
  const pathList = (field: string): string[] => {
    const value = input[field] ?? [];
    if (!Array.isArray(value) || !value.every((p) => typeof p === "string" && SAFE_PATH.test(p))) {
      problems.push(`settings.${field}: ${show(value)} is not a list of absolute paths`);
      return [];
    }
    return value as string[];
  };
  const size = (field: string, fallback: string): string => {
    const value = input[field] ?? fallback;
    if (typeof value !== "string" || !SIZE.test(value)) {
      problems.push(`settings.${field}: ${show(value)} is not an nginx size (expected like "10m" or "512k")`);
      return fallback;
    }
    return value;
  };

  const appHost = dnsName("appHost", "openhands.example.com");
  const runtimeDomain = dnsName("runtimeDomain", "runtime.example.com");
  if (appHost && runtimeDomain && (appHost === runtimeDomain || appHost.endsWith(`.${runtimeDomain}`))) {
    problems.push(`settings.appHost: ${show(appHost)} lies inside the runtime domain ${show(runtimeDomain)}; use a host outside it`);
  }

  let listen = { address: "0.0.0.0", port: 8080 };
  if (input.listen !== undefined) {
    const l = input.listen as Record<string, unknown>;
    if (
      typeof l !== "object" ||
      l === null ||
      typeof l.address !== "string" ||
      !IPV4.test(l.address) ||
      typeof l.port !== "number" ||
      !Number.isInteger(l.port) ||
      l.port < 1 ||
      l.port > 65535
    ) {
      problems.push(`settings.listen: ${show(input.listen)} is not {"address": "<IPv4>", "port": 1-65535}`);
    } else {
      listen = { address: l.address, port: l.port };
    }
  }

  const spawnerUrl = input.spawnerUrl ?? "http://127.0.0.1:8081";
  if (typeof spawnerUrl !== "string" || !/^http:\/\/[a-z0-9.-]+:\d{1,5}$/.test(spawnerUrl)) {
    problems.push(`settings.spawnerUrl: ${show(spawnerUrl)} is not http://<host>:<port> (expected like http://127.0.0.1:8081)`);
  }

  const workerProcesses = input.workerProcesses ?? "auto";
  if (
    workerProcesses !== "auto" &&
    !(typeof workerProcesses === "number" && Number.isInteger(workerProcesses) && workerProcesses >= 1 && workerProcesses <= 256)
  ) {
    problems.push(`settings.workerProcesses: ${show(workerProcesses)} is not "auto" or an integer from 1 to 256`);
  }
  const logLevel = input.logLevel ?? "warn";
  if (!LOG_LEVELS.includes(logLevel as (typeof LOG_LEVELS)[number])) {
    problems.push(`settings.logLevel: ${show(logLevel)} is not one of ${LOG_LEVELS.join(", ")}`);
  }
  const user = input.user;
  if (user !== undefined && (typeof user !== "string" || !/^[a-z_][a-z0-9_-]*( [a-z_][a-z0-9_-]*)?$/.test(user))) {
    problems.push(`settings.user: ${show(user)} is not "<user>" or "<user> <group>"`);
  }
  const logTarget = (field: string, fallback: string): string => {
    const value = input[field] ?? fallback;
    if (value === "stderr" || value === "off" || (typeof value === "string" && SAFE_PATH.test(value))) return value as string;
    problems.push(`settings.${field}: ${show(value)} is not "stderr", "off" or an absolute path`);
    return fallback;
  };
  const resolver = input.resolver ?? [];
  if (!Array.isArray(resolver) || !resolver.every((r) => typeof r === "string" && IPV4.test(r))) {
    problems.push(`settings.resolver: ${show(resolver)} is not a list of IPv4 addresses`);
  }

  // Upstreams outside the users' subnets would let a confused spawner answer (or a stale route) steer
  // the proxy to loopback services, the metadata service or another host service (SSRF).
  const taskSubnets = input.taskSubnets ?? [];
  if (!Array.isArray(taskSubnets) || taskSubnets.length > 16 || !taskSubnets.every((cidr) => privateTaskSubnet(cidr))) {
    problems.push(
      `settings.taskSubnets: ${show(taskSubnets)} is not a list of at most 16 private IPv4 subnets as CIDRs from /16 to /28 ` +
        `(expected like ["10.0.1.0/24"]; within 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, on a network boundary)`,
    );
  }
  const internal = internalSettings(input, problems, { appHost, runtimeDomain, listen, taskSubnets });
  const userSubnetPrefix = input.userSubnetPrefix ?? "10.240";
  const prefixMatch = typeof userSubnetPrefix === "string" ? /^(\d{1,3})\.(\d{1,3})$/.exec(userSubnetPrefix) : null;
  const [first, second] = prefixMatch ? [Number(prefixMatch[1]), Number(prefixMatch[2])] : [NaN, NaN];
  if (
    !prefixMatch ||
    !IPV4.test(`${userSubnetPrefix}.0.0`) ||
    first === 0 ||
    first === 127 ||
    first >= 224 ||
    (first === 169 && second === 254)
  ) {
    problems.push(
      `settings.userSubnetPrefix: ${show(userSubnetPrefix)} is not the first two octets of a private /16 ` +
        `(expected like "10.240"; loopback, link-local, 0.x and multicast are refused)`,
    );
  }
  const clientAddressHops = input.clientAddressHops ?? 2;
  if (clientAddressHops !== 0 && clientAddressHops !== 1 && clientAddressHops !== 2) {
    problems.push(`settings.clientAddressHops: ${show(clientAddressHops)} is not 0, 1 or 2`);
  }

  const settings: ProxySettings = {
    appHost,
    runtimeDomain,
    listen,
    spawnerUrl: spawnerUrl as string,
    identityKeyFile: path("identityKeyFile", undefined),
    luaDir: path("luaDir", defaultLuaDir),
    runDir: path("runDir", "/usr/local/openresty/nginx"),
    modules: pathList("modules"),
    ...(typeof user === "string" ? { user } : {}),
    workerProcesses: workerProcesses as "auto" | number,
    workerConnections: number("workerConnections", 4096, 64, 1_000_000),
    errorLog: logTarget("errorLog", "stderr"),
    logLevel: logLevel as ProxySettings["logLevel"],
    accessLog: logTarget("accessLog", "/dev/stdout"),
    resolver: resolver as string[],
    clientMaxBodySize: size("clientMaxBodySize", "100m"),
    routeCacheSize: size("routeCacheSize", "10m"),
    routeCacheSeconds: number("routeCacheSeconds", 30, 1, 3600),
    negativeCacheSeconds: number("negativeCacheSeconds", 3, 1, 3600),
    activityFlushSeconds: number("activityFlushSeconds", 30, 0.1, 3600, false),
    spawnerTimeoutMs: number("spawnerTimeoutMs", 3000, 100, 60_000),
    healthTimeoutMs: number("healthTimeoutMs", 1000, 100, 60_000),
    spawnerRetryAfterSeconds: number("spawnerRetryAfterSeconds", 5, 1, 600),
    // Upstreams sit on a local bridge: a live one accepts in well under a millisecond (the kernel answers the
    // SYN even for a busy server), a killed container's address only times out (no ARP answer). 1 s, before
    // the first SYN retransmission, turns that into a quick answer, after which the spawner is asked again.
    upstreamConnectSeconds: number("upstreamConnectSeconds", 1, 1, 120),
    streamSeconds: number("streamSeconds", 3600, 10, 86_400),
    // Long polls (the App tab's, socket.io's 25 s) fit; a paused container's request ends after this.
    upstreamReadSeconds: number("upstreamReadSeconds", 60, 1, 3600),
    upstreamKeepalive: number("upstreamKeepalive", 64, 1, 10_000),
    // An idle connection the upstream closes as nginx reuses it gives a 502: OpenHands' uvicorn and the
    // agent-server close after 5 s (timeout_keep_alive), Node servers too (keepAliveTimeout), so at most 4.
    upstreamKeepaliveSeconds: number("upstreamKeepaliveSeconds", 4, 1, 4),
    identitySkewSeconds: number("identitySkewSeconds", 5, 0, 300),
    identityMaxAheadSeconds: number("identityMaxAheadSeconds", 300, 60, 3600),
    includes: pathList("includes"),
    userSubnetPrefix: userSubnetPrefix as string,
    appPort: number("appPort", 3000, 1, 65535),
    taskSubnets: taskSubnets as string[],
    ...internal,
    clientAddressHops: clientAddressHops as 0 | 1 | 2,
    connectionsPerClient: number("connectionsPerClient", 200, 1, 100_000),
    lookupsPerClientPerMinute: number("lookupsPerClientPerMinute", 120, 1, 100_000),
    clientHeaderSeconds: number("clientHeaderSeconds", 10, 1, 300),
    clientBodySeconds: number("clientBodySeconds", 10, 1, 600),
    sendSeconds: number("sendSeconds", 60, 1, 3600),
  };
  if (problems.length > 0) throw new SettingsError(problems);
  return settings;
}

/**
 * ECS mode's `sandboxDomain` and `internalListen`: both or neither, and only with task subnets (the internal names
 * resolve to task addresses only). Problems are pushed onto `problems`.
 */
function internalSettings(
  input: Record<string, unknown>,
  problems: string[],
  known: { appHost: string; runtimeDomain: string; listen: { address: string; port: number }; taskSubnets: unknown },
): Pick<ProxySettings, "sandboxDomain" | "internalListen"> {
  const { sandboxDomain, internalListen } = input;
  if (sandboxDomain === undefined && internalListen === undefined) return {};
  const result: { sandboxDomain?: string; internalListen?: { address: string; port: number } } = {};
  if (sandboxDomain === undefined || internalListen === undefined) {
    const missing = sandboxDomain === undefined ? "sandboxDomain" : "internalListen";
    const given = sandboxDomain === undefined ? "internalListen" : "sandboxDomain";
    problems.push(
      `settings.${missing}: required with settings.${given} (ECS mode sets both: the apps' sandbox names and where they are served)`,
    );
  }
  if (!Array.isArray(known.taskSubnets) || known.taskSubnets.length === 0) {
    problems.push(
      `settings.${sandboxDomain === undefined ? "internalListen" : "sandboxDomain"}: only valid in ECS mode, with a non-empty ` +
        `settings.taskSubnets (the internal sandbox names lead to task addresses only)`,
    );
  }
  if (sandboxDomain !== undefined) {
    if (typeof sandboxDomain !== "string" || !DNS_NAME.test(sandboxDomain)) {
      problems.push(
        `settings.sandboxDomain: ${show(sandboxDomain)} is not a lower-case DNS name (expected like sandboxes.openhands-prod.internal)`,
      );
    } else if ([known.appHost, known.runtimeDomain].some((d) => d && overlaps(sandboxDomain, d))) {
      // An internal name that is also a public one (or under it) would blur which listener and which checks apply.
      problems.push(`settings.sandboxDomain: ${show(sandboxDomain)} overlaps appHost or runtimeDomain; use a separate internal domain`);
    } else {
      result.sandboxDomain = sandboxDomain;
    }
  }
  if (internalListen !== undefined) {
    const match = typeof internalListen === "string" ? /^([0-9.]+):([1-9]\d{0,4})$/.exec(internalListen) : null;
    const address = match?.[1] ?? "";
    const port = Number(match?.[2]);
    if (!match || !IPV4.test(address) || port > 65535) {
      problems.push(`settings.internalListen: ${show(internalListen)} is not "<IPv4>:<port>" (expected like "10.0.1.10:80")`);
    } else if (address === "0.0.0.0" || Number(address.split(".")[0]) >= 224) {
      // The wildcard would serve the internal names on every interface of the host, not only where the apps reach it.
      problems.push(`settings.internalListen: ${show(internalListen)} is not one address of the host (expected its private IPv4)`);
    } else if (port === known.listen.port && (known.listen.address === "0.0.0.0" || known.listen.address === address)) {
      // Same socket as the public listener: the ALB's traffic would meet the internal server, or the reverse.
      problems.push(
        `settings.internalListen: ${show(internalListen)} shares its port with settings.listen ` +
          `(${known.listen.address}:${known.listen.port}); use another port (80)`,
      );
    } else {
      result.internalListen = { address, port };
    }
  }
  return result;
}

/** Whether one DNS name equals the other or lies under it. */
function overlaps(a: string, b: string): boolean {
  return a === b || a.endsWith(`.${b}`) || b.endsWith(`.${a}`);
}

/**
 * A task subnet the proxy may route into: a private IPv4 network (an ECS task is never in public, loopback, link-local
 * or multicast space), /16 to /28 as VPC subnets are, written on its network boundary.
 */
function privateTaskSubnet(cidr: unknown): boolean {
  const match = typeof cidr === "string" ? /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr) : null;
  if (!match || !IPV4.test((cidr as string).split("/")[0]!)) return false;
  const [a, b, c, d, bits] = match.slice(1).map(Number) as [number, number, number, number, number];
  if (bits < 16 || bits > 28) return false;
  const address = ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
  if (address % 2 ** (32 - bits) !== 0) return false;
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? "undefined" : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
