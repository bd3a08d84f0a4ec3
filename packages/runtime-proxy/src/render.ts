/**
 * Renders the OpenResty configuration from the settings. As a program (dist/render.js):
 *
 *   node render.js --settings <settings.json> --out <dir>
 *
 * writes <dir>/nginx.conf. Exit 0 on success, 2 on invalid settings (every problem listed on
 * stderr), 1 on any other failure.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseSettings, type ProxySettings, SettingsError } from "./settings";

/** Module order Debian's nginx needs: the Lua module fails to load without ndk first. */
export const DEBIAN_MODULES: readonly string[] = [
  "/usr/lib/nginx/modules/ndk_http_module.so",
  "/usr/lib/nginx/modules/ngx_http_lua_module.so",
];

/** The folder holding `name` next to this file (dist/) or one level up (the package, from src/). */
function assetDir(name: string): string {
  const beside = join(__dirname, name);
  return existsSync(beside) ? beside : resolve(__dirname, "..", name);
}

export const DEFAULT_LUA_DIR = assetDir("lua");
const TEMPLATE = join(assetDir("conf"), "nginx.conf.template");
/** ECS mode's internal listener (`internalListen`), a server of its own put in at `{{internalServer}}`. */
const INTERNAL_TEMPLATE = join(assetDir("conf"), "internal-server.conf.template");

/** What the Lua side reads at init_by_lua (everything it needs, nothing else). */
function luaSettings(s: ProxySettings): string {
  const text = JSON.stringify({
    appHost: s.appHost,
    runtimeDomain: s.runtimeDomain,
    spawnerUrl: s.spawnerUrl,
    identityKeyFile: s.identityKeyFile,
    routeCacheSeconds: s.routeCacheSeconds,
    negativeCacheSeconds: s.negativeCacheSeconds,
    activityFlushSeconds: s.activityFlushSeconds,
    spawnerTimeoutMs: s.spawnerTimeoutMs,
    healthTimeoutMs: s.healthTimeoutMs,
    spawnerRetryAfterSeconds: s.spawnerRetryAfterSeconds,
    streamSeconds: s.streamSeconds,
    upstreamReadSeconds: s.upstreamReadSeconds,
    identitySkewSeconds: s.identitySkewSeconds,
    identityMaxAheadSeconds: s.identityMaxAheadSeconds,
    userSubnetPrefix: s.userSubnetPrefix,
    appPort: s.appPort,
    taskSubnets: s.taskSubnets,
    sandboxDomain: s.sandboxDomain,
    lookupsPerClientPerMinute: s.lookupsPerClientPerMinute,
  });
  // Validated fields hold no ']' at all; this guards the Lua long string against any later change.
  if (text.includes("]==]")) throw new Error("settings would break out of the Lua long string");
  return text;
}

/**
 * `$oh_client`, the key of the per-client limits: the address the outermost trusted proxy saw. Each
 * trusted proxy appends the address it was connected from to X-Forwarded-For, so the entry `hops` places
 * from the right is the viewer; entries further left are the viewer's own claims (limit evasion).
 */
function clientAddressMap(hops: 0 | 1 | 2): string {
  const pattern = hops === 2 ? "~(?:^|,)\\s*(?<oh_c>[^,\\s]+)\\s*,\\s*[^,\\s]+\\s*$" : "~(?:^|,)\\s*(?<oh_c>[^,\\s]+)\\s*$";
  if (hops === 0) return "map $remote_addr $oh_client {\n    default $binary_remote_addr;\n  }";
  return `map $http_x_forwarded_for $oh_client {\n    "${pattern}" $oh_c;\n    default $binary_remote_addr;\n  }`;
}

function fill(template: string, name: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`${name}: unknown placeholder {{${key}}}`);
    return value;
  });
}

/** The internal listener's server (ECS mode), or nothing when `internalListen` is not set. */
function internalServer(s: ProxySettings, template: string): string {
  if (!s.internalListen || !s.sandboxDomain) return "";
  return fill(template, "internal-server.conf.template", {
    internalListen: `${s.internalListen.address}:${s.internalListen.port}`,
    sandboxDomain: s.sandboxDomain,
    connectionsPerClient: String(s.connectionsPerClient),
    errorLog: s.errorLog === "off" ? "/dev/null" : s.errorLog,
  });
}

/** Renders nginx.conf text from validated settings. */
export function renderNginxConf(
  s: ProxySettings,
  template = readFileSync(TEMPLATE, "utf8"),
  internalTemplate = s.internalListen ? readFileSync(INTERNAL_TEMPLATE, "utf8") : "",
): string {
  const values: Record<string, string> = {
    loadModules: s.modules.map((m) => `load_module ${m};`).join("\n"),
    userDirective: s.user ? `user ${s.user};` : "",
    workerProcesses: String(s.workerProcesses),
    workerConnections: String(s.workerConnections),
    runDir: s.runDir,
    errorLog: s.errorLog === "off" ? "/dev/null" : s.errorLog,
    logLevel: s.logLevel,
    accessLogDirective: s.accessLog === "off" ? "access_log off;" : `access_log ${s.accessLog} oh_access;`,
    clientMaxBodySize: s.clientMaxBodySize,
    resolverDirective: s.resolver.length ? `resolver ${s.resolver.join(" ")} ipv6=off;` : "",
    luaDir: s.luaDir,
    routeCacheSize: s.routeCacheSize,
    luaSettings: luaSettings(s),
    upstreamKeepalive: String(s.upstreamKeepalive),
    upstreamConnectSeconds: String(s.upstreamConnectSeconds),
    streamSeconds: String(s.streamSeconds),
    upstreamReadSeconds: String(s.upstreamReadSeconds),
    upstreamKeepaliveSeconds: String(s.upstreamKeepaliveSeconds),
    listen: `${s.listen.address}:${s.listen.port}`,
    appHost: s.appHost,
    runtimeDomain: s.runtimeDomain,
    includes: s.includes.map((file) => `  include ${file};`).join("\n"),
    clientAddressMap: clientAddressMap(s.clientAddressHops),
    connectionsPerClient: String(s.connectionsPerClient),
    clientHeaderSeconds: String(s.clientHeaderSeconds),
    clientBodySeconds: String(s.clientBodySeconds),
    sendSeconds: String(s.sendSeconds),
    internalServer: internalServer(s, internalTemplate),
  };
  return fill(template, "nginx.conf.template", values);
}

/** Reads and validates a settings file, renders it, writes <outDir>/nginx.conf; returns its path. */
export function renderToDir(settingsFile: string, outDir: string): string {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(settingsFile, "utf8"));
  } catch (error) {
    throw new SettingsError([`${settingsFile}: cannot read it as JSON (${(error as Error).message})`]);
  }
  const conf = renderNginxConf(parseSettings(raw, DEFAULT_LUA_DIR));
  mkdirSync(outDir, { recursive: true });
  const out = join(outDir, "nginx.conf");
  writeFileSync(out, conf, { mode: 0o644 });
  return out;
}

const USAGE = "usage: node render.js --settings <settings.json> --out <dir>";

/** The command line; returns the exit code. */
export function main(argv: readonly string[], log = console): number {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if ((flag !== "--settings" && flag !== "--out") || value === undefined) {
      log.error(USAGE);
      return 2;
    }
    args.set(flag, value);
  }
  const settingsFile = args.get("--settings");
  const outDir = args.get("--out");
  if (!settingsFile || !outDir) {
    log.error(USAGE);
    return 2;
  }
  try {
    log.log(`wrote ${renderToDir(settingsFile, outDir)}`);
    return 0;
  } catch (error) {
    log.error((error as Error).message);
    return error instanceof SettingsError ? 2 : 1;
  }
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
