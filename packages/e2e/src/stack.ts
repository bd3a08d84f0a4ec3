/**
 * The whole service on loopback, from the real pieces:
 *
 *   Chromium ─► edge harness (the real viewer-request and origin-response bundles of edge-auth, TLS)
 *            ─► nginx with the runtime-proxy's rendered configuration
 *            ─► the real spawner (dist/spawner.js) ─► fake Docker Engine API (spawner/testing)
 *            ─► containers run as local processes: the OpenHands app and agent-server contract fakes
 *   and the loopback OIDC provider (edge-auth/harness) standing in for Cognito; PostgreSQL standing in for Aurora.
 *
 * Every server listens on 127.0.0.1 (or a 127.x.y.z address of the user networks) with a port chosen by the
 * kernel, lives in a temporary folder, and is stopped by its PID in stop().
 */
import { execFileSync } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { startEdgeHarness, startOidcProvider, type EdgeHarness } from "@openhands-team/edge-auth/harness";
import { userSlug } from "@openhands-team/edge-auth/src/slug";
import { startFakeDockerEngine, startPostgres, type FakeDockerEngine, type TestPostgres } from "@openhands-team/spawner/testing";
import { ContainerRunner } from "./containers";
import { readEnvironment } from "./environment";
import { freePort, startProcess, type StartedProcess } from "./processes";

export const APP_HOST = "openhands.e2e.test";
export const RUNTIME_DOMAIN = "runtime.e2e.test";
export const APP_IMAGE = "docker.openhands.dev/openhands/openhands:1.7.0";
export const AGENT_SERVER_IMAGE = "ghcr.io/openhands/agent-server:1.19.1-python";
export const LLM_MODEL = "litellm_proxy/claude-sonnet-4-5";
const DEBIAN_NGINX_MODULES = ["/usr/lib/nginx/modules/ndk_http_module.so", "/usr/lib/nginx/modules/ngx_http_lua_module.so"];

export interface StackOptions {
  /** Screenshots and logs go here. */
  readonly artifactsDir: string;
  /** The spawner stops an app idle this long. */
  readonly idleMinutes: number;
  /** How long a fake app takes to listen after its container starts. */
  readonly appBootDelayMs: number;
}

export interface BackendStack {
  readonly root: string;
  readonly logDir: string;
  readonly identityKey: Buffer;
  readonly proxyPort: number;
  readonly spawnerUrl: string;
  readonly subnetPrefix: string;
  readonly engine: FakeDockerEngine;
  readonly runner: ContainerRunner;
  readonly database: TestPostgres;
  /** Stops the spawner by its PID and starts it again on the same port, with another idle limit (it keeps no state). */
  restartSpawner(idleMinutes: number): Promise<void>;
  stop(): Promise<void>;
}

function packageDir(name: string): string {
  return dirname(require.resolve(`${name}/package.json`));
}

/** GET on loopback; resolves with the status (0 when nothing answers). */
export function probe(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { headers, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", () => resolve(0));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/** Everything the stack runs must be there before anything starts; each miss names its fix. */
function checkPrerequisites(): void {
  const { nginxBin } = readEnvironment();
  const missing: string[] = [];
  const built = [
    ["@openhands-team/edge-auth", join("dist", "viewer-request", "index.js")],
    ["@openhands-team/edge-auth", join("dist", "origin-response", "index.js")],
    ["@openhands-team/runtime-proxy", join("dist", "render.js")],
    ["@openhands-team/spawner", join("dist", "spawner.js")],
  ] as const;
  for (const [name, file] of built) {
    if (!existsSync(join(packageDir(name), file))) missing.push(`${name}/${file} is not built: run \`pnpm exec turbo run build --filter=@openhands-team/e2e...\``);
  }
  if (!existsSync(nginxBin)) missing.push(`nginx not found at ${nginxBin}: install nginx and libnginx-mod-http-lua (scripts/install-test-deps.sh) or set NGINX_BIN`);
  for (const module of DEBIAN_NGINX_MODULES) if (!existsSync(module)) missing.push(`nginx module ${module} not found: install libnginx-mod-http-lua`);
  if (missing.length) throw new Error(`the e2e stack cannot start:\n  ${missing.join("\n  ")}`);
}

/** PostgreSQL, the fake Docker engine with its process runner, the spawner and nginx. */
export async function startBackend(options: StackOptions): Promise<BackendStack> {
  checkPrerequisites();
  const root = mkdtempSync(join(tmpdir(), "e2e-stack-"));
  chmodSync(root, 0o755); // nginx workers run as nobody when the tests run as root
  const logDir = join(options.artifactsDir, "logs");
  mkdirSync(logDir, { recursive: true });
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  };
  try {
    const database = await startPostgres();
    stops.push(() => database.stop());

    const runner = new ContainerRunner({ logDir, appPort: 3000, appBootDelayMs: options.appBootDelayMs });
    const engine = await startFakeDockerEngine({
      socketPath: join(root, "docker.sock"),
      images: [APP_IMAGE, AGENT_SERVER_IMAGE],
      onStart: runner.onStart,
      onStop: runner.onStop,
      allocateHostPort: (hostIp) => freePort(hostIp === "0.0.0.0" ? "127.0.0.1" : hostIp),
    });
    stops.push(() => engine.close());
    stops.push(() => runner.stopAll());

    // A random 127.x prefix for the user networks, so that concurrent runs on one machine do not collide.
    const subnetPrefix = `127.${randomInt(100, 200)}`;
    const spawnerPort = await freePort();
    const secret = () => randomBytes(32).toString("base64url");
    const spawnerConfig = {
      version: 1,
      logLevel: "info",
      api: { host: "127.0.0.1", port: spawnerPort },
      appHost: APP_HOST,
      runtimeDomain: RUNTIME_DOMAIN,
      region: "eu-central-1",
      eventsBucket: "e2e-events",
      docker: { socketPath: engine.socketPath },
      images: { app: APP_IMAGE, agentServer: AGENT_SERVER_IMAGE },
      network: { subnetPrefix, appPort: 3000, relayPort: 3000, llmGatewayPort: 4000 },
      paths: { efsRoot: join(root, "efs"), dockerApiDir: join(root, "docker-api") },
      database: { host: database.host, port: database.port, adminUser: database.user, adminPassword: database.password },
      secrets: { dbPasswordKey: secret(), openhandsJwtSecret: secret(), llmGatewayKey: secret() },
      llm: { model: LLM_MODEL },
      users: { idleMinutes: options.idleMinutes, maxRunningApps: 10, maxRunningSandboxes: 10, sandboxesPerUser: 3 },
      timing: { healthTimeoutMs: 30_000, healthIntervalMs: 200, ensureWaitMs: 300, cullIntervalMs: 1000 },
    };
    const spawnerConfigFile = join(root, "spawner.json");
    let spawner: StartedProcess | undefined;
    const startSpawner = async (idleMinutes: number) => {
      writeFileSync(spawnerConfigFile, JSON.stringify({ ...spawnerConfig, users: { ...spawnerConfig.users, idleMinutes } }, null, 2), { mode: 0o600 });
      spawner = await startProcess({
        name: "spawner",
        command: process.execPath,
        args: [join(packageDir("@openhands-team/spawner"), "dist", "spawner.js"), "--config", spawnerConfigFile],
        logDir,
        ready: async () => (await probe(`http://127.0.0.1:${spawnerPort}/healthz`)) === 200,
        timeoutMs: 20_000,
      });
    };
    await startSpawner(options.idleMinutes);
    stops.push(async () => spawner?.stop());
    const restartSpawner = async (idleMinutes: number) => {
      await spawner?.stop();
      await startSpawner(idleMinutes);
    };

    const identityKey = randomBytes(32);
    const proxyDir = join(root, "proxy");
    mkdirSync(proxyDir, { mode: 0o755 });
    const keyFile = join(proxyDir, "identity-signing-key");
    writeFileSync(keyFile, `${identityKey.toString("base64url")}\n`, { mode: 0o600 });
    const proxyPort = await freePort();
    const settingsFile = join(root, "proxy-settings.json");
    writeFileSync(
      settingsFile,
      JSON.stringify({
        appHost: APP_HOST,
        runtimeDomain: RUNTIME_DOMAIN,
        listen: { address: "127.0.0.1", port: proxyPort },
        spawnerUrl: `http://127.0.0.1:${spawnerPort}`,
        identityKeyFile: keyFile,
        runDir: proxyDir,
        modules: DEBIAN_NGINX_MODULES,
        errorLog: join(logDir, "nginx-error.log"),
        accessLog: join(logDir, "nginx-access.log"),
        logLevel: "info",
        workerProcesses: 1,
        activityFlushSeconds: 1,
      }),
    );
    try {
      execFileSync(process.execPath, [join(packageDir("@openhands-team/runtime-proxy"), "dist", "render.js"), "--settings", settingsFile, "--out", proxyDir], { stdio: "pipe" });
    } catch (error) {
      throw new Error(`rendering the proxy configuration failed: ${String((error as { stderr?: Buffer }).stderr ?? error)}`);
    }
    const nginx = await startProcess({
      name: "nginx",
      command: readEnvironment().nginxBin,
      args: ["-p", proxyDir, "-c", join(proxyDir, "nginx.conf"), "-e", join(logDir, "nginx-error.log"), "-g", "daemon off;"],
      logDir,
      ready: async () => (await probe(`http://127.0.0.1:${proxyPort}/_oh/health`)) === 200,
      timeoutMs: 15_000,
    });
    stops.push(() => nginx.stop("SIGQUIT"));

    return {
      root,
      logDir,
      identityKey,
      proxyPort,
      spawnerUrl: `http://127.0.0.1:${spawnerPort}`,
      subnetPrefix,
      engine,
      runner,
      database,
      restartSpawner,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface TestUser {
  /** Login name typed into the OIDC provider's form; it becomes the account id, which the ID token carries as `sub`. */
  readonly login: string;
  readonly sub: string;
  readonly slug: string;
}

export interface Stack extends BackendStack {
  readonly appOrigin: string;
  readonly oidcIssuer: string;
  readonly edge: EdgeHarness;
  /** `--host-resolver-rules` for Chromium: the app host and every runtime host to the edge harness. */
  readonly hostResolverRules: string;
  user(login: string): TestUser;
}

/**
 * The harness does not stop a provider that missed its start-up deadline: stop our own child processes running
 * it, by PID (they are children of this process, so nobody else's).
 */
function stopSlowProviders(): void {
  const listing = execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(process.pid)], { encoding: "utf8" });
  for (const line of listing.split("\n")) {
    const match = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (match && match[2]!.includes("harness/oidc-provider.mjs")) {
      try {
        process.kill(Number(match[1]), "SIGTERM");
      } catch {
        // already gone
      }
    }
  }
}

/** The backend plus the edge: the loopback OIDC provider and the harness running the real edge bundles over TLS. */
export async function startStack(options: StackOptions): Promise<Stack> {
  const backend = await startBackend(options);
  const stops: Array<() => Promise<void>> = [() => backend.stop()];
  const stop = async () => {
    for (const step of stops.reverse()) await step().catch(() => undefined);
  };
  try {
    const appOrigin = `https://${APP_HOST}`;
    const oidcOptions = { clientId: "e2e-app-client", redirectUris: [`${appOrigin}/_auth/callback`], postLogoutRedirectUris: [`${appOrigin}/`] };
    // The harness gives the provider 15 s to print its issuer; on a cold, busy machine its first start can take
    // longer (seen once on a fresh clone), so it gets one more try before the stack gives up.
    const oidc = await startOidcProvider(oidcOptions).catch((error: Error) => {
      appendFileSync(join(backend.logDir, "oidc-provider.log"), `first start failed, retrying: ${error.message}\n`);
      stopSlowProviders();
      return startOidcProvider(oidcOptions);
    });
    stops.push(() => oidc.close());
    const b64 = (bytes: Buffer) => bytes.toString("base64url");
    const edge = await startEdgeHarness({
      config: {
        version: 1,
        appHost: APP_HOST,
        runtimeDomain: RUNTIME_DOMAIN,
        scopes: ["openid", "email", "profile"],
        sessionMaxAgeSeconds: 3600,
        ...oidc.edgeConfig,
      },
      secrets: { identitySigningKey: b64(backend.identityKey), ticketKey: b64(randomBytes(32)), nonceKey: b64(randomBytes(32)) },
      originUrl: `http://127.0.0.1:${backend.proxyPort}`,
    });
    stops.push(() => edge.close());
    return {
      ...backend,
      appOrigin,
      oidcIssuer: oidc.issuer,
      edge,
      hostResolverRules: edge.hostResolverRules,
      user: (login) => ({ login, sub: login, slug: userSlug(login) }),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
