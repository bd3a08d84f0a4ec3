/**
 * Child processes of the stack (fakes, the spawner, nginx): started with a readiness line to wait for, their
 * output kept in a log file for the test artifacts, and stopped by their own PID, never by name.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

export interface StartedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface StartOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Output that says the process is ready (matched on stdout and stderr), or a probe polled until true. */
  readonly ready: RegExp | (() => Promise<boolean>);
  /** Folder for `<name>.log`. */
  readonly logDir: string;
  readonly timeoutMs?: number;
  /** Run as this user (root only). */
  readonly uid?: number;
  readonly gid?: number;
}

const running = new Set<StartedProcess>();

export function startProcess(options: StartOptions): Promise<StartedProcess> {
  const log: WriteStream = createWriteStream(join(options.logDir, `${options.name}.log`), { flags: "a" });
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid } : {}),
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const started: StartedProcess = {
    name: options.name,
    child,
    pid: child.pid ?? -1,
    exited,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      running.delete(started);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(timer);
      }
      log.end();
    },
  };
  running.add(started);
  return new Promise((resolve, reject) => {
    let seen = "";
    let ready = false;
    const timer = setTimeout(() => {
      void started.stop("SIGKILL");
      reject(new Error(`${options.name} was not ready within ${options.timeoutMs ?? 15000} ms; output:\n${seen.slice(-2000)}`));
    }, options.timeoutMs ?? 15000);
    const probe = options.ready;
    const watch = (chunk: Buffer): void => {
      log.write(chunk);
      if (ready) return;
      seen += chunk.toString("utf8");
      if (probe instanceof RegExp && probe.test(seen)) {
        ready = true;
        clearTimeout(timer);
        resolve(started);
      }
    };
    if (!(probe instanceof RegExp)) {
      const poll = (): void => {
        if (ready || child.exitCode !== null) return;
        probe()
          .catch(() => false)
          .then((ok) => {
            if (ok && !ready) {
              ready = true;
              clearTimeout(timer);
              resolve(started);
            } else setTimeout(poll, 50);
          });
      };
      poll();
    }
    child.stdout?.on("data", watch);
    child.stderr?.on("data", watch);
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`${options.name} exited with ${code} before it was ready; output:\n${seen.slice(-2000)}`));
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** Runs a TypeScript file of this package as its own Node process. */
export function startTsProcess(
  options: Omit<StartOptions, "command" | "args"> & { readonly file: string; readonly args?: readonly string[] },
): Promise<StartedProcess> {
  return startProcess({
    ...options,
    command: process.execPath,
    args: ["--import", require.resolve("tsx"), options.file, ...(options.args ?? [])],
  });
}

/** Stops every process still running (afterAll safety net). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((started) => started.stop()));
}

/** A free TCP port on an address, chosen by the kernel. */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}
