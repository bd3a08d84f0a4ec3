/**
 * `docker-lab run` leaves nothing behind, however it ends: its parent killed outright (as when pnpm is killed),
 * a command that ignores SIGTERM, a server the command started in its own session. Each case starts a lab of its
 * own beside the one these tests run in.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeWithEngine } from "../src";

const LAB = join(__dirname, "..", "bin", "docker-lab.mjs");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function namespaces(): string[] {
  return spawnSync("ip", ["netns", "list"], { encoding: "utf8" })
    .stdout.split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter(Boolean);
}

interface Started {
  readonly parent: ChildProcess;
  readonly netns: string;
  readonly labDir: string;
  readonly pids: number[];
}

/** A parent process that runs `docker-lab run -- <script>`; the script writes what it started into `dir`. */
async function startLab(dir: string, script: string, env: NodeJS.ProcessEnv = {}): Promise<Started> {
  const parent = spawn(
    process.execPath,
    [
      "-e",
      `require("child_process").spawn(process.execPath, [${JSON.stringify(LAB)}, "run", "--", "sh", "-c", ` +
        `${JSON.stringify(script)}], { stdio: "ignore" }); setInterval(() => {}, 1000);`,
    ],
    { stdio: "ignore", env: { ...process.env, ...env } },
  );
  const ready = join(dir, "ready");
  await until("the lab's command", () => existsSync(ready), 30_000);
  const [netns, labDir, ...pids] = readFileSync(ready, "utf8").trim().split("\n");
  return { parent, netns: netns ?? "", labDir: labDir ?? "", pids: pids.map(Number) };
}

describeWithEngine("docker-lab run, stopped from outside", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "lab-lifecycle-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test("GIVEN its parent is killed outright WHEN the lab notices THEN the command, a server it left in its own session, dockerd and the " +
    "namespace are gone", async () => {
    const script =
      `setsid sleep 300 & server=$!; sleep 300 & own=$!; printf '%s\\n%s\\n%s\\n%s\\n' "$OH_DOCKER_LAB_NETNS" "$OH_DOCKER_LAB_DIR" ` +
      `"$server" "$own" > ${dir}/ready.tmp; mv ${dir}/ready.tmp ${dir}/ready; wait`;
    const lab = await startLab(dir, script);
    expect(namespaces()).toContain(lab.netns);
    expect(lab.pids.every(alive)).toBe(true);
    lab.parent.kill("SIGKILL");
    await until("the lab's clean-up", () => !namespaces().includes(lab.netns) && !existsSync(lab.labDir), 60_000);
    expect(lab.pids.filter(alive)).toEqual([]);
  }, 90_000);

  test("GIVEN a process further up (as pnpm above a shell) is killed while the " +
    "lab's own parent lives THEN the lab stops all the same", async () => {
    writeFileSync(
      join(dir, "command.sh"),
      `printf '%s\\n%s\\n%s\\n' "$OH_DOCKER_LAB_NETNS" "$OH_DOCKER_LAB_DIR" "$$" > ${dir}/ready.tmp; mv ${dir}/ready.tmp ` +
        `${dir}/ready; sleep 300\n`,
    );
    // the lab's parent: a shell that outlives the grandparent
    writeFileSync(
      join(dir, "parent.sh"),
      `${process.execPath} ${LAB} run -- sh ${dir}/command.sh &\necho $$ > ${dir}/parent.pid\nsleep 600\n`,
    );
    const grandparent = spawn(
      process.execPath,
      [
        "-e",
        `require("child_process").spawn("sh", ` +
          `[${JSON.stringify(join(dir, "parent.sh"))}], { stdio: "ignore" }); setInterval(() => {}, 1000);`,
      ],
      { stdio: "ignore" },
    );
    await until("the lab's command", () => existsSync(join(dir, "ready")), 30_000);
    const [netns, labDir, ...pids] = readFileSync(join(dir, "ready"), "utf8").trim().split("\n");
    const parentPid = Number(readFileSync(join(dir, "parent.pid"), "utf8"));
    try {
      grandparent.kill("SIGKILL");
      await until("the lab's clean-up", () => !namespaces().includes(netns ?? "") && !existsSync(labDir ?? ""), 60_000);
      expect(alive(parentPid)).toBe(true);
      expect(pids.map(Number).filter(alive)).toEqual([]);
    } finally {
      spawnSync("pkill", ["-P", String(parentPid)]);
      if (alive(parentPid)) process.kill(parentPid, "SIGKILL");
    }
  }, 90_000);

  test("GIVEN a command that ignores SIGTERM WHEN the lab gets SIGTERM THEN after " +
    "the grace period the command is killed and the lab removed", async () => {
    const script =
      `trap '' TERM; printf '%s\\n%s\\n%s\\n' "$OH_DOCKER_LAB_NETNS" "$OH_DOCKER_LAB_DIR" "$$" > ${dir}/ready.tmp; mv ` +
      `${dir}/ready.tmp ${dir}/ready; while :; do sleep 1; done`;
    const lab = await startLab(dir, script, { OH_DOCKER_LAB_GRACE_MS: "1500" });
    const labPid = Number(
      spawnSync("pgrep", ["-f", `${LAB} run`], { encoding: "utf8" })
        .stdout.split("\n")
        .filter(Boolean)
        .map(Number)
        .find((pid) => {
          try {
            return readFileSync(`/proc/${pid}/stat`, "utf8").split(" ")[3] === String(lab.parent.pid);
          } catch {
            return false;
          }
        }),
    );
    expect(labPid).toBeGreaterThan(0);
    process.kill(labPid, "SIGTERM");
    await until("the lab's clean-up", () => !alive(labPid), 60_000);
    expect(namespaces()).not.toContain(lab.netns);
    expect(existsSync(lab.labDir)).toBe(false);
    expect(lab.pids.filter(alive)).toEqual([]);
    lab.parent.kill("SIGKILL");
  }, 90_000);
});
