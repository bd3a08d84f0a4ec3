/**
 * The app's configuration, read once from the environment the way OpenHands reads it
 * (`openhands/app_server/config.py`, the SDK's `env_parser.py`: `OH_<FIELD>_<SUB>`, lists as `_0`, `_1`, ...).
 * Nothing else in the app fake reads `process.env`.
 */
import { randomBytes } from "node:crypto";
import { AGENT_SERVER_OF, type AppVersion } from "../versions";

export interface ExposedPort {
  readonly name: string;
  readonly containerPort: number;
}

export interface VolumeMount {
  readonly hostPath: string;
  readonly containerPath: string;
  readonly mode: string;
}

export interface AppConfig {
  readonly version: AppVersion;
  /** `OH_SANDBOX_KIND`; the fake refuses to start sandboxes without it (see sandboxes.ts). */
  readonly sandboxKind: string | undefined;
  readonly dockerHost: string;
  readonly containerNamePrefix: string;
  readonly containerUrlPattern: string;
  readonly hostPort: number;
  readonly maxNumSandboxes: number;
  readonly startupGraceSeconds: number;
  readonly extraHosts: Readonly<Record<string, string>>;
  readonly mounts: readonly VolumeMount[];
  readonly exposedPorts: readonly ExposedPort[];
  readonly useHostNetwork: boolean;
  readonly kvmEnabled: boolean;
  /** The agent-server image, `<repository>:<tag>` (the sandbox spec id). */
  readonly agentServerImage: string;
  /** Environment every sandbox gets from the spec (spec initial_env + LLM_/LMNR_ forwarding + OH_AGENT_SERVER_ENV). */
  readonly sandboxSpecEnv: Readonly<Record<string, string>>;
  readonly webUrl: string | undefined;
  readonly permittedCorsOrigins: readonly string[];
  readonly jwtSecret: string;
  readonly sandboxStartupTimeoutSeconds: number;
  readonly sandboxStartupPollSeconds: number;
  /** RemoteSandboxServiceInjector's fields (`OH_SANDBOX_API_URL`, ...); set only when that injector is the KIND. */
  readonly remote?: RemoteSandboxSettings;
}

export interface RemoteSandboxSettings {
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly resourceFactor: number;
  readonly runtimeClass: string;
}

/** remote_sandbox_spec_service.py: the default spec's initial_env (the agent-server on 60000, VS Code on 60001). */
export const REMOTE_SPEC_INITIAL_ENV: Readonly<Record<string, string>> = {
  OPENVSCODE_SERVER_ROOT: "/openhands/.openvscode-server",
  OH_VSCODE_PORT: "60001",
  OH_ENABLE_VNC: "0",
  LOG_JSON: "true",
  OH_CONVERSATIONS_PATH: "/workspace/conversations",
  OH_BASH_EVENTS_DIR: "/workspace/bash_events",
};

/** `OH_SANDBOX_KIND` names RemoteSandboxServiceInjector (its class name or dotted path, as env_parser accepts). */
export const isRemoteKind = (kind: string | undefined): boolean => !!kind && /RemoteSandboxServiceInjector$/.test(kind);

type Env = Readonly<Record<string, string | undefined>>;

const DEFAULT_REPOSITORY = "ghcr.io/openhands/agent-server";

/** DockerSandboxServiceInjector.exposed_ports default (DSS 1.7.0 L583-614). */
export const DEFAULT_EXPOSED_PORTS: readonly ExposedPort[] = [
  { name: "AGENT_SERVER", containerPort: 8000 },
  { name: "VSCODE", containerPort: 8001 },
  { name: "WORKER_1", containerPort: 8011 },
  { name: "WORKER_2", containerPort: 8012 },
];

function integer(env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (!/^-?\d+$/.test(raw.trim()) || Number(raw) < min) throw new Error(`${name}: "${raw}" is not an integer >= ${min}`);
  return Number(raw);
}

function bool(env: Env, name: string): boolean {
  return /^(1|true|yes|on)$/i.test(env[name] ?? "");
}

function jsonObject(env: Env, name: string): Record<string, string> | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error(`${name}: not JSON (expected an object of strings, e.g. {"host.docker.internal":"host-gateway"})`);
  }
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    Array.isArray(parsed) ||
    Object.values(parsed).some((value) => typeof value !== "string")
  ) {
    throw new Error(`${name}: expected a JSON object of strings`);
  }
  return parsed as Record<string, string>;
}

/** `OH_<NAME>_0`, `OH_<NAME>_1`, ... until the first gap (env_parser list semantics). */
function indexed(env: Env, prefix: string): string[] {
  const values: string[] = [];
  for (let index = 0; env[`${prefix}_${index}`] !== undefined; index += 1) values.push(env[`${prefix}_${index}`]!);
  return values;
}

/**
 * 1.7.0 `sandbox_spec_service.get_agent_server_image` (L64-69): both variables or the pinned default.
 * 1.11.0 (from 1.9.1, `sandbox_spec_service.py` L119-138): with the default repository the tag is replaced by
 * the bundled agent-server version.
 */
function agentServerImage(env: Env, version: AppVersion): string {
  const pinned = `${AGENT_SERVER_OF[version]}-python`;
  const repository = env.AGENT_SERVER_IMAGE_REPOSITORY;
  const tag = env.AGENT_SERVER_IMAGE_TAG;
  if (!repository || !tag) return `${DEFAULT_REPOSITORY}:${pinned}`;
  if (version === "1.11.0" && repository === DEFAULT_REPOSITORY) return `${DEFAULT_REPOSITORY}:${pinned}`;
  return `${repository}:${tag}`;
}

/**
 * `docker_sandbox_spec_service.get_default_sandbox_specs` initial_env (L40-49) and `get_agent_server_env` (L72-100);
 * with `OH_SANDBOX_SPEC_KIND=RemoteSandboxSpecServiceInjector`, remote_sandbox_spec_service.py's initial_env instead.
 */
function sandboxSpecEnv(env: Env): Record<string, string> {
  const forwarded = Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => /^(LLM_|LMNR_)/.test(entry[0]) && entry[1] !== undefined),
  );
  if (/RemoteSandboxSpecServiceInjector$/.test(env.OH_SANDBOX_SPEC_KIND ?? "")) {
    return { ...REMOTE_SPEC_INITIAL_ENV, ...forwarded, ...(jsonObject(env, "OH_AGENT_SERVER_ENV") ?? {}) };
  }
  return {
    OPENVSCODE_SERVER_ROOT: "/openhands/.openvscode-server",
    OH_ENABLE_VNC: "0",
    LOG_JSON: "true",
    OH_CONVERSATIONS_PATH: "/workspace/conversations",
    OH_BASH_EVENTS_DIR: "/workspace/bash_events",
    PYTHONUNBUFFERED: "1",
    ENV_LOG_LEVEL: "20",
    ...forwarded,
    ...(jsonObject(env, "OH_AGENT_SERVER_ENV") ?? {}),
  };
}

export function readAppConfig(version: AppVersion, env: Env): AppConfig {
  const kind = env.OH_SANDBOX_KIND?.trim() || undefined;
  // env_parser ignores every OH_SANDBOX_* sub-variable unless the KIND is set (OpenHands' SDK utils/env_parser.py: a dotted KIND selects
  // the injector whose fields the sub-variables fill).
  const sandboxEnv: Env = kind ? env : {};
  const mounts: VolumeMount[] = [];
  for (let index = 0; sandboxEnv[`OH_SANDBOX_MOUNTS_${index}_HOST_PATH`] !== undefined; index += 1) {
    const containerPath = sandboxEnv[`OH_SANDBOX_MOUNTS_${index}_CONTAINER_PATH`];
    if (!containerPath)
      throw new Error(`OH_SANDBOX_MOUNTS_${index}_CONTAINER_PATH: missing (each mount needs HOST_PATH and CONTAINER_PATH)`);
    mounts.push({
      hostPath: sandboxEnv[`OH_SANDBOX_MOUNTS_${index}_HOST_PATH`]!,
      containerPath,
      mode: sandboxEnv[`OH_SANDBOX_MOUNTS_${index}_MODE`] ?? "rw",
    });
  }
  const exposedPorts: ExposedPort[] = [];
  for (let index = 0; sandboxEnv[`OH_SANDBOX_EXPOSED_PORTS_${index}_NAME`] !== undefined; index += 1) {
    exposedPorts.push({
      name: sandboxEnv[`OH_SANDBOX_EXPOSED_PORTS_${index}_NAME`]!,
      containerPort: integer(sandboxEnv, `OH_SANDBOX_EXPOSED_PORTS_${index}_CONTAINER_PORT`, 8000, 1),
    });
  }
  const pattern = sandboxEnv.OH_SANDBOX_CONTAINER_URL_PATTERN ?? "http://localhost:{port}";
  if (!pattern.includes("{port}")) throw new Error(`OH_SANDBOX_CONTAINER_URL_PATTERN: "${pattern}" has no {port} placeholder`);
  const webUrl = env.OH_WEB_URL || (env.WEB_HOST ? `https://${env.WEB_HOST}` : undefined);
  const cors = indexed(env, "OH_PERMITTED_CORS_ORIGINS");
  return {
    version,
    sandboxKind: kind,
    dockerHost: env.DOCKER_HOST || "unix:///var/run/docker.sock",
    containerNamePrefix: sandboxEnv.OH_SANDBOX_CONTAINER_NAME_PREFIX ?? "oh-agent-server-",
    containerUrlPattern: pattern,
    hostPort: integer(sandboxEnv, "OH_SANDBOX_HOST_PORT", 3000, 1),
    // The Docker injector's default is 5, the remote one's 10.
    maxNumSandboxes: integer(sandboxEnv, "OH_SANDBOX_MAX_NUM_SANDBOXES", isRemoteKind(kind) ? 10 : 5),
    startupGraceSeconds: integer(sandboxEnv, "OH_SANDBOX_STARTUP_GRACE_SECONDS", 15),
    extraHosts: jsonObject(sandboxEnv, "OH_SANDBOX_EXTRA_HOSTS") ?? { "host.docker.internal": "host-gateway" },
    mounts,
    exposedPorts: exposedPorts.length > 0 ? exposedPorts : DEFAULT_EXPOSED_PORTS,
    useHostNetwork: bool(env, "AGENT_SERVER_USE_HOST_NETWORK"),
    kvmEnabled: bool(env, "SANDBOX_KVM_ENABLED"),
    agentServerImage: agentServerImage(env, version),
    sandboxSpecEnv: sandboxSpecEnv(env),
    webUrl,
    permittedCorsOrigins:
      cors.length > 0
        ? cors
        : (env.PERMITTED_CORS_ORIGINS ?? "")
            .split(",")
            .map((origin) => origin.trim())
            .filter(Boolean),
    jwtSecret: env.JWT_SECRET || randomBytes(32).toString("base64url"),
    sandboxStartupTimeoutSeconds: integer(env, "OH_APP_CONVERSATION_SANDBOX_STARTUP_TIMEOUT", 120, 1),
    sandboxStartupPollSeconds: integer(env, "OH_APP_CONVERSATION_SANDBOX_STARTUP_POLL_FREQUENCY", 2, 0),
    ...(isRemoteKind(kind) ? { remote: remoteSettings(sandboxEnv) } : {}),
  };
}

/** RemoteSandboxServiceInjector: `api_url` and `api_key` are required (pydantic refuses the injector without them). */
function remoteSettings(env: Env): RemoteSandboxSettings {
  const apiUrl = env.OH_SANDBOX_API_URL?.trim();
  const apiKey = env.OH_SANDBOX_API_KEY?.trim();
  if (!apiUrl || !/^https?:\/\//.test(apiUrl))
    throw new Error(`OH_SANDBOX_API_URL: "${apiUrl ?? ""}" is required and must be an http(s) URL`);
  if (!apiKey) throw new Error("OH_SANDBOX_API_KEY: required by RemoteSandboxServiceInjector");
  const factor = Number(env.OH_SANDBOX_RESOURCE_FACTOR ?? "1");
  if (!(factor > 0)) throw new Error(`OH_SANDBOX_RESOURCE_FACTOR: "${env.OH_SANDBOX_RESOURCE_FACTOR}" is not a positive number`);
  return { apiUrl, apiKey, resourceFactor: factor, runtimeClass: env.OH_SANDBOX_RUNTIME_CLASS?.trim() || "gvisor" };
}
