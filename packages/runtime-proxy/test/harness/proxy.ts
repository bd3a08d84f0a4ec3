/**
 * Starts the real proxy: Debian's nginx with the Lua module (NGINX_BIN, default /usr/sbin/nginx),
 * the rendered configuration, in a temporary prefix on a free loopback port; stopped by its PID.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEBIAN_MODULES, DEFAULT_LUA_DIR, parseSettings, renderNginxConf } from "../../src";
import { freePort, send, sleep } from "./net";

export const APP_HOST = "openhands.example.test";
export const RUNTIME_DOMAIN = "runtime.example.test";
export const NGINX_BIN = process.env.NGINX_BIN ?? "/usr/sbin/nginx";

export interface RunningProxy {
  port: number;
  prefix: string;
  key: Buffer;
  conf: string;
  errorLog(): string;
  stop(): Promise<void>;
}

export interface ProxyOptions {
  spawnerPort: number;
  key: Buffer;
  /** Raw key file text instead of the key's base64url. */
  keyFileText?: string;
  settings?: Record<string, unknown>;
  /** Extra text appended inside http {} through an include file. */
  extraHttpConf?: (prefix: string) => string;
}

/** Renders and writes the configuration; returns the prefix and the conf path. */
export async function prepareProxy(options: ProxyOptions) {
  const prefix = mkdtempSync(join(tmpdir(), "oh-proxy-"));
  chmodSync(prefix, 0o755); // nginx workers run as nobody when the tests run as root
  const keyFile = join(prefix, "identity-signing-key");
  writeFileSync(keyFile, options.keyFileText ?? `${options.key.toString("base64url")}\n`, { mode: 0o600 });
  const port = await freePort();
  const includes: string[] = [];
  if (options.extraHttpConf) {
    writeFileSync(join(prefix, "extra.conf"), options.extraHttpConf(prefix));
    includes.push(join(prefix, "extra.conf"));
  }
  const settings = parseSettings(
    {
      appHost: APP_HOST,
      runtimeDomain: RUNTIME_DOMAIN,
      listen: { address: "127.0.0.1", port },
      spawnerUrl: `http://127.0.0.1:${options.spawnerPort}`,
      identityKeyFile: keyFile,
      runDir: prefix,
      modules: DEBIAN_MODULES,
      errorLog: join(prefix, "error.log"),
      accessLog: join(prefix, "access.log"),
      logLevel: "info",
      workerProcesses: 2,
      activityFlushSeconds: 0.3,
      spawnerTimeoutMs: 1000,
      // No CloudFront or ALB in front: the per-client limits key on the TCP peer.
      clientAddressHops: 0,
      includes,
      ...options.settings,
    },
    DEFAULT_LUA_DIR,
  );
  const conf = join(prefix, "nginx.conf");
  writeFileSync(conf, renderNginxConf(settings));
  return { prefix, port, conf };
}

export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  if (process.env.OH_PROXY_TEST_NETNS !== "1") {
    throw new Error(
      "the proxy accepts upstreams only in the users' subnets (10.240.0.0/16), which exist on loopback only inside " +
        "the tests' network namespace: run through `pnpm test` or `sh test/in-netns.sh npx jest <file>`",
    );
  }
  const { prefix, port, conf } = await prepareProxy(options);
  const errorLogPath = join(prefix, "error.log");
  const errorLog = () => (existsSync(errorLogPath) ? readFileSync(errorLogPath, "utf8") : "");
  const child: ChildProcess = spawn(NGINX_BIN, ["-p", prefix, "-c", conf, "-e", errorLogPath, "-g", "daemon off;"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.on("exit", () => {
      exited = true;
      resolve();
    }),
  );

  const stop = async () => {
    if (!exited && child.pid) {
      process.kill(child.pid, "SIGTERM");
      const timer = setTimeout(() => child.pid && !exited && process.kill(child.pid, "SIGKILL"), 5000);
      await exit;
      clearTimeout(timer);
    }
    rmSync(prefix, { recursive: true, force: true });
  };

  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (exited) break;
    try {
      const reply = await send(port, "127.0.0.1", "/_oh/health");
      if (reply.status === 200) return { port, prefix, key: options.key, conf, errorLog, stop };
    } catch {
      await sleep(50);
    }
  }
  const log = errorLog();
  await stop();
  throw new Error(`nginx did not start: ${stderr}\n${log}`);
}

/** Runs nginx once on the prepared config and returns its exit code and stderr (for start-up failures). */
export async function startFailure(options: ProxyOptions): Promise<{ code: number | null; output: string }> {
  const { prefix, conf } = await prepareProxy(options);
  const errorLogPath = join(prefix, "error.log");
  const child = spawn(NGINX_BIN, ["-p", prefix, "-c", conf, "-e", errorLogPath, "-g", "daemon off;"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let output = "";
  child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.pid && process.kill(child.pid, "SIGTERM"), 5000);
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  clearTimeout(timer);
  if (existsSync(errorLogPath)) output += readFileSync(errorLogPath, "utf8");
  rmSync(prefix, { recursive: true, force: true });
  return { code, output };
}
