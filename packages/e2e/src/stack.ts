/**
 * The whole service, from the real pieces, inside docker-lab's network namespace (the "host"):
 *
 *   Chromium ─► edge harness (the real viewer-request and origin-response bundles of edge-auth, TLS)
 *            ─► nginx with the runtime-proxy's rendered configuration
 *            ─► the real spawner (dist/spawner.js) ─► the lab's real Docker engine (dockerd)
 *            ─► real containers on the users' bridges (10.240.N.0/24): each user's OpenHands app (.2) from the
 *               app stand-in image, their sandboxes (.128/25) from the agent-server stand-in image, created by the
 *               app through its filtered Docker API; the LLM gateway stand-in on the host's network
 *   and the loopback OIDC provider (edge-auth/harness) standing in for Cognito; PostgreSQL standing in for Aurora.
 *
 * Host processes listen on 127.0.0.1 with a port chosen by the kernel (the relays on the users' gateways), live in
 * a temporary folder and are stopped by their PID in stop(); docker-lab removes every container and bridge when
 * the run ends.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { startEdgeHarness, startOidcProvider, type EdgeHarness } from "@openhands-team/edge-auth/harness";
import { llmUserKey, userSlug } from "@openhands-team/contracts";
import { docker, ensureImage, labEngine, labUnavailableReason, STAND_IN } from "@openhands-team/docker-lab";
import { startPostgres, type TestPostgres } from "@openhands-team/spawner/testing";
import {
  containerNames,
  inspectContainer,
  saveContainerLogs,
  startCountingSocket,
  type ContainerView,
  type CountingSocket,
} from "./engine";
import { readEnvironment } from "./environment";
import { freePort, startProcess, type StartedProcess } from "./processes";

export const APP_HOST = "openhands.e2e.test";
export const RUNTIME_DOMAIN = "runtime.e2e.test";
/**
 * The real images (docker.openhands.dev/openhands/openhands:1.7.0, ghcr.io/openhands/agent-server:1.19.1-python,
 * LiteLLM) cannot be pulled here: no registry is reachable. docker-lab builds stand-ins that run the contract fakes
 * of @openhands-team/openhands-fakes; the spawner is configured with their references as it would be with the real ones.
 */
export const APP_IMAGE = STAND_IN.app["1.7.0"];
export const AGENT_SERVER_IMAGE = STAND_IN.agentServer["1.19.1-python"];
export const LLM_GATEWAY_IMAGE = STAND_IN.llmGateway;
export const LLM_MODEL = "litellm_proxy/claude-sonnet-4-5";
/** The users' subnets `<prefix>.N.0/24`: the spawner's `network.subnetPrefix` and the proxy's `userSubnetPrefix`. */
export const SUBNET_PREFIX = "10.240";
const LLM_GATEWAY_PORT = 4000;
const LLM_GATEWAY_CONTAINER = "e2e-llm-gateway";
const DEBIAN_NGINX_MODULES = ["/usr/lib/nginx/modules/ndk_http_module.so", "/usr/lib/nginx/modules/ngx_http_lua_module.so"];

export interface StackOptions {
  /** Screenshots and logs go here. */
  readonly artifactsDir: string;
  /** The spawner stops an app idle this long. */
  readonly idleMinutes: number;
  /**
   * Another spawner than the default docker-mode one (test/ecs-mode.test.ts: `backend: "ecs"` against the ECS stand-in).
   * Default: the Docker backend on the lab engine with the 1.7.0 app and 1.19.1 agent-server stand-ins.
   */
  readonly spawner?: SpawnerVariant;
  /** Runtime-proxy settings added to the stack's own (`taskSubnets` in ECS mode, say). */
  readonly proxy?: Readonly<Record<string, unknown>>;
}

/** What a test changes in the spawner the stack starts: the images, top-level configuration sections, the environment. */
export interface SpawnerVariant {
  /** Image references to ensure in the lab engine and configure as `images` (default APP_IMAGE, AGENT_SERVER_IMAGE). */
  readonly images?: { readonly app: string; readonly agentServer: string };
  /** Top-level sections that replace the stack's own (`backend`, `ecs`, `paths`, `timing`, ...). */
  readonly config?: Readonly<Record<string, unknown>>;
  /** Added to the spawner process's environment (the AWS SDK's credentials for a stand-in, say). */
  readonly env?: Readonly<Record<string, string>>;
}

/** The lab's Docker engine as the test sees it. */
export interface StackEngine {
  /** dockerd's own socket (the lab's). */
  readonly socketPath: string;
  /** The counting socket in front of it, which the spawner uses. */
  readonly counter: CountingSocket;
  container(name: string): Promise<ContainerView | undefined>;
  names(prefix: string): Promise<string[]>;
}

export interface BackendStack {
  readonly root: string;
  readonly logDir: string;
  readonly identityKey: Buffer;
  readonly proxyPort: number;
  readonly spawnerUrl: string;
  readonly subnetPrefix: string;
  readonly engine: StackEngine;
  readonly database: TestPostgres;
  /** The LLM gateway's master key (sk-...): the spawner derives each person's key from it; no user container may hold it. */
  readonly llmGatewayKey: string;
  /** The key the spawner seeds into that person's settings (docs/CONTRACTS.md, "LLM gateway keys"). */
  llmUserKey(slug: string): string;
  /** Marks a person disabled in the user pool, as the gateway hook learns it from Cognito (the stand-in reads a file). */
  disableLlmUser(slug: string, disabled: boolean): void;
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
    if (!existsSync(join(packageDir(name), file)))
      missing.push(`${name}/${file} is not built: run \`pnpm exec turbo run build --filter=@openhands-team/e2e...\``);
  }
  if (!existsSync(nginxBin))
    missing.push(`nginx not found at ${nginxBin}: install nginx and libnginx-mod-http-lua (scripts/install-test-deps.sh) or set NGINX_BIN`);
  for (const module of DEBIAN_NGINX_MODULES)
    if (!existsSync(module)) missing.push(`nginx module ${module} not found: install libnginx-mod-http-lua`);
  if (!labEngine())
    missing.push(`no Docker engine: run under docker-lab (\`pnpm --filter @openhands-team/e2e test\` does): ${labUnavailableReason()}`);
  if (missing.length) throw new Error(`the e2e stack cannot start:\n  ${missing.join("\n  ")}`);
}

/** PostgreSQL, the lab's Docker engine behind a counting socket, the LLM gateway stand-in, the spawner and nginx. */
export async function startBackend(options: StackOptions): Promise<BackendStack> {
  checkPrerequisites();
  const lab = labEngine()!;
  const root = mkdtempSync(join(tmpdir(), "e2e-stack-"));
  chmodSync(root, 0o755); // nginx workers run as nobody when the tests run as root
  const logDir = join(options.artifactsDir, "logs");
  mkdirSync(logDir, { recursive: true });
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    await saveContainerLogs(lab.socketPath, logDir).catch(() => undefined);
    for (const step of stops.reverse()) await step().catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  };
  try {
    // Built once per content hash (cached on disk), imported into this lab's engine.
    const [appImage, agentServerImage, gatewayImage] = [
      await ensureImage(options.spawner?.images?.app ?? APP_IMAGE),
      await ensureImage(options.spawner?.images?.agentServer ?? AGENT_SERVER_IMAGE),
      await ensureImage(LLM_GATEWAY_IMAGE),
    ];
    const database = await startPostgres();
    stops.push(() => database.stop());

    const counter = await startCountingSocket(lab.socketPath);
    stops.push(() => counter.close());
    const engine: StackEngine = {
      socketPath: lab.socketPath,
      counter,
      container: (name) => inspectContainer(lab.socketPath, name),
      names: (prefix) => containerNames(lab.socketPath, prefix),
    };

    const secret = () => randomBytes(32).toString("base64url");
    // The host writes the master key as "sk-" + the llm-gateway-key secret (steps/50-secrets.sh).
    const llmGatewayKey = `sk-${secret()}`;
    const disabledLlmUsers = new Set<string>();
    const disabledFolder = join(root, "llm-gateway-disabled");
    mkdirSync(disabledFolder, { recursive: true });
    const writeDisabled = () => writeFileSync(join(disabledFolder, "slugs"), [...disabledLlmUsers].map((slug) => `${slug}\n`).join(""));
    writeDisabled();
    // LiteLLM stand-in on the host's network (the lab namespace), so that it answers on every user's gateway at
    // llmGatewayPort, where the seeded settings (http://host.docker.internal:4000) send the sandboxes. It checks each
    // person's key as the gateway's custom-auth hook does; the file of disabled slugs stands in for the user pool.
    docker([
      "run",
      "--detach",
      "--name",
      LLM_GATEWAY_CONTAINER,
      "--network",
      "host",
      "--env",
      `LITELLM_MASTER_KEY=${llmGatewayKey}`,
      "--env",
      `FAKE_MODELS=${LLM_MODEL.replace(/^litellm_proxy\//, "")}`,
      "--env",
      "FAKE_DISABLED_SLUGS_FILE=/run/llm-gateway-disabled/slugs",
      "--volume",
      `${disabledFolder}:/run/llm-gateway-disabled:ro`,
      gatewayImage,
    ]);
    stops.push(async () => void docker(["rm", "--force", LLM_GATEWAY_CONTAINER], { allowFailure: true }));
    const gatewayDeadline = Date.now() + 20_000;
    while ((await probe(`http://127.0.0.1:${LLM_GATEWAY_PORT}/health/liveliness`)) !== 200) {
      if (Date.now() > gatewayDeadline)
        throw new Error(
          `the LLM gateway stand-in did not answer within 20 s: ${docker(["logs", LLM_GATEWAY_CONTAINER], { allowFailure: true }).stderr}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const subnetPrefix = SUBNET_PREFIX;
    const spawnerPort = await freePort();
    const spawnerConfig = {
      version: 1,
      logLevel: "info",
      api: { host: "127.0.0.1", port: spawnerPort },
      appHost: APP_HOST,
      runtimeDomain: RUNTIME_DOMAIN,
      region: "eu-central-1",
      eventsBucket: "e2e-events",
      docker: { socketPath: counter.socketPath },
      images: { app: appImage, agentServer: agentServerImage },
      network: { subnetPrefix, appPort: 3000, relayPort: 3000, llmGatewayPort: LLM_GATEWAY_PORT },
      paths: { efsRoot: join(root, "efs"), dockerApiDir: join(root, "docker-api") },
      database: { host: database.host, port: database.port, adminUser: database.user, adminPassword: database.password },
      secrets: { dbPasswordKey: secret(), openhandsJwtSecret: secret(), llmGatewayKey },
      llm: { model: LLM_MODEL },
      users: { idleMinutes: options.idleMinutes, maxRunningApps: 10, maxRunningSandboxes: 10, sandboxesPerUser: 3 },
      // Small limits: the stand-ins are one Node.js process each, and the machine is shared.
      limits: { appMemoryMiB: 256, appCpus: 1, sandboxMemoryMiB: 256, sandboxCpus: 1, pidsLimit: 256 },
      timing: { healthTimeoutMs: 60_000, healthIntervalMs: 200, ensureWaitMs: 300, cullIntervalMs: 1000 },
      ...options.spawner?.config,
    };
    const spawnerConfigFile = join(root, "spawner.json");
    let spawner: StartedProcess | undefined;
    const startSpawner = async (idleMinutes: number) => {
      writeFileSync(spawnerConfigFile, JSON.stringify({ ...spawnerConfig, users: { ...spawnerConfig.users, idleMinutes } }, null, 2), {
        mode: 0o600,
      });
      spawner = await startProcess({
        name: "spawner",
        command: process.execPath,
        args: [join(packageDir("@openhands-team/spawner"), "dist", "spawner.js"), "--config", spawnerConfigFile],
        ...(options.spawner?.env ? { env: { ...process.env, ...options.spawner.env } } : {}),
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
        userSubnetPrefix: subnetPrefix,
        errorLog: join(logDir, "nginx-error.log"),
        accessLog: join(logDir, "nginx-access.log"),
        logLevel: "info",
        workerProcesses: 1,
        activityFlushSeconds: 1,
        ...options.proxy,
      }),
    );
    try {
      execFileSync(
        process.execPath,
        [join(packageDir("@openhands-team/runtime-proxy"), "dist", "render.js"), "--settings", settingsFile, "--out", proxyDir],
        { stdio: "pipe" },
      );
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
      database,
      llmGatewayKey,
      llmUserKey: (slug) => llmUserKey(llmGatewayKey, slug),
      disableLlmUser: (slug, disabled) => {
        if (disabled) disabledLlmUsers.add(slug);
        else disabledLlmUsers.delete(slug);
        writeDisabled();
      },
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
    const oidcOptions = {
      clientId: "e2e-app-client",
      redirectUris: [`${appOrigin}/_auth/callback`],
      postLogoutRedirectUris: [`${appOrigin}/`],
    };
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
