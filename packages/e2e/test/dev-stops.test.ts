/**
 * `pnpm dev` stops cleanly when it is signalled from outside: SIGTERM sent to pnpm's process alone (as an IDE or a
 * process manager does), and SIGINT sent to its process group (as a terminal's Ctrl-C does). PostgreSQL, nginx, the
 * spawner, the OIDC provider and the edge, the containers and the lab's namespace all go. The stack is started as
 * the package's dev script starts it, through pnpm, without the build step in front (the test run built it).
 *
 * Not covered because it cannot be: pnpm 12 ignores a SIGINT addressed to its own process alone (it waits for the
 * terminal to deliver the signal to the whole group) and passes nothing on, so no process of the stack sees it.
 * Were pnpm to die of anything, docker-lab notices (it watches every process above it) and stops the stack.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const PACKAGE_DIR = join(__dirname, "..");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function namespaces(): string[] {
  return spawnSync("ip", ["netns", "list"], { encoding: "utf8" })
    .stdout.split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter(Boolean);
}

/** Processes whose network namespace is `netns`, with their command lines. */
function processesIn(netns: string): Map<number, string> {
  const target = statSync(`/run/netns/${netns}`).ino;
  const out = new Map<number, string>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (statSync(`/proc/${entry}/ns/net`).ino !== target) continue;
      out.set(Number(entry), spawnSync("cat", [`/proc/${entry}/cmdline`], { encoding: "utf8" }).stdout.replace(/\0/g, " "));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** `pnpm exec tsx src/dev.ts` from the package, outside any lab (the variables of the lab these tests run in are dropped). */
async function startDev(): Promise<{ pnpm: ChildProcess; netns: string; output: () => string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("OH_DOCKER_LAB_") && key !== "DOCKER_HOST"));
  // a process group of its own, as a terminal would give it
  const pnpm = spawn("pnpm", ["exec", "tsx", "src/dev.ts", "--idle-minutes", "5"], {
    cwd: PACKAGE_DIR,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  pnpm.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  pnpm.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  await until("pnpm dev's ready message", () => output.includes("Ctrl-C stops everything") || pnpm.exitCode !== null, 240_000);
  if (pnpm.exitCode !== null) throw new Error(`pnpm dev ended early (${pnpm.exitCode}):\n${output}`);
  const netns = /real containers in the Docker lab (ohlab-\d+)/.exec(output)?.[1];
  if (!netns) throw new Error(`pnpm dev named no lab:\n${output}`);
  return { pnpm, netns, output: () => output };
}

describe("pnpm dev, signalled from outside", () => {
  const started: ChildProcess[] = [];
  // a failed case must not leave its stack running (nor keep jest from exiting)
  afterEach(() => {
    for (const pnpm of started.splice(0)) {
      try {
        if (pnpm.pid) process.kill(-pnpm.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });
  const cases = [
    { signal: "SIGTERM", to: "pnpm's process alone", group: false },
    { signal: "SIGINT", to: "its process group (Ctrl-C)", group: true },
  ] as const;
  for (const { signal, to, group } of cases) {
    test(`GIVEN a running pnpm dev WHEN ${to} gets ${signal} THEN every server, container and the lab's namespace are gone`, async () => {
      const dev = await startDev();
      started.push(dev.pnpm);
      const running = processesIn(dev.netns);
      const commands = [...running.values()].join("\n");
      // the stack is really there: PostgreSQL, nginx, the spawner and node servers (OIDC provider, edge)
      expect(commands).toMatch(/postgres/);
      expect(commands).toMatch(/nginx/);
      expect(commands).toMatch(/spawner/);
      expect(commands).toMatch(/dockerd/);
      if (group) process.kill(-(dev.pnpm.pid ?? 0), signal);
      else dev.pnpm.kill(signal);
      await until("the lab's removal", () => !namespaces().includes(dev.netns), 90_000);
      await until("every process of the stack ending", () => [...running.keys()].every((pid) => !alive(pid)), 30_000);
      await until("pnpm ending", () => dev.pnpm.exitCode !== null || dev.pnpm.signalCode !== null, 30_000);
      expect([...running.keys()].filter(alive)).toEqual([]);
    }, 400_000);
  }
});
