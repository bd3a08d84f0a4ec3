/**
 * The lab engine this process runs beside: set by `docker-lab run` (bin/docker-lab.mjs), which starts dockerd in
 * a network namespace of its own and runs the tests inside that namespace.
 */
import { spawn, spawnSync } from "node:child_process";

export interface LabEngine {
  /** dockerd's API socket. */
  readonly socketPath: string;
  /** The network namespace the engine, and this process, run in. */
  readonly netns: string;
}

/** The lab's engine, or undefined when this process was not started by `docker-lab run`. */
export function labEngine(): LabEngine | undefined {
  const socketPath = process.env.OH_DOCKER_LAB_SOCKET;
  const netns = process.env.OH_DOCKER_LAB_NETNS;
  if (!socketPath || !netns) return undefined;
  return { socketPath, netns };
}

/** Why there is no lab engine, in words for a skip message. */
export function labUnavailableReason(): string {
  return (
    process.env.OH_DOCKER_LAB_UNAVAILABLE ??
    "not started under `docker-lab run` (run the package's `pnpm test`, which starts a real Docker engine)"
  );
}

export interface CommandResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The docker CLI's environment for the lab engine; throws when there is none. */
function labDockerEnv(): NodeJS.ProcessEnv {
  const engine = labEngine();
  if (!engine) throw new Error(`docker-lab: no engine: ${labUnavailableReason()}`);
  return { ...process.env, DOCKER_HOST: `unix://${engine.socketPath}` };
}

function checked(args: readonly string[], outcome: CommandResult, allowFailure: boolean | undefined): CommandResult {
  if (outcome.status !== 0 && !allowFailure) {
    throw new Error(`docker ${args.join(" ")}: exit ${outcome.status}: ${outcome.stderr.trim()}`);
  }
  return outcome;
}

/** The docker CLI against the lab engine. Throws with dockerd's message when the command fails, unless `allowFailure`. */
export function docker(args: readonly string[], options: { input?: string | Buffer; allowFailure?: boolean } = {}): CommandResult {
  const result = spawnSync("docker", args, { encoding: "utf8", input: options.input, env: labDockerEnv(), maxBuffer: 64 * 1024 * 1024 });
  return checked(args, { status: result.status ?? 1, stdout: result.stdout ?? "", stderr: result.stderr ?? "" }, options.allowFailure);
}

/**
 * `docker` without blocking the event loop, for commands that take seconds (a `docker exec` of a program) while
 * servers in the same process must keep answering and closing their idle connections on time.
 */
export function dockerAsync(args: readonly string[], options: { allowFailure?: boolean } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("docker", args, { env: labDockerEnv(), stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", reject);
    child.on("close", (status) => {
      const outcome = { status: status ?? 1, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") };
      try {
        resolve(checked(args, outcome, options.allowFailure));
      } catch (error) {
        reject(error);
      }
    });
  });
}
