/**
 * The lab engine this process runs beside: set by `docker-lab run` (bin/docker-lab.mjs), which starts dockerd in
 * a network namespace of its own and runs the tests inside that namespace.
 */
import { spawnSync } from "node:child_process";

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

/** The docker CLI against the lab engine. Throws with dockerd's message when the command fails, unless `allowFailure`. */
export function docker(args: readonly string[], options: { input?: string | Buffer; allowFailure?: boolean } = {}): CommandResult {
  const engine = labEngine();
  if (!engine) throw new Error(`docker-lab: no engine: ${labUnavailableReason()}`);
  const result = spawnSync("docker", args, {
    encoding: "utf8",
    input: options.input,
    env: { ...process.env, DOCKER_HOST: `unix://${engine.socketPath}` },
    maxBuffer: 64 * 1024 * 1024,
  });
  const outcome = { status: result.status ?? 1, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
  if (outcome.status !== 0 && !options.allowFailure) {
    throw new Error(`docker ${args.join(" ")}: exit ${outcome.status}: ${outcome.stderr.trim()}`);
  }
  return outcome;
}
