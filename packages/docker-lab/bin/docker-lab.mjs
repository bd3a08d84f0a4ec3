#!/usr/bin/env node
// docker-lab run -- <command...>
//
// Runs <command> inside a network namespace of its own in which Debian's dockerd runs, so that the bridges,
// veths and iptables rules that dockerd, the spawner and the host firewall create never touch the machine's
// own network. The command is the "host": it reaches every container address, binds the users' gateway
// addresses and applies iptables rules that affect the lab namespace only. Afterwards every container is
// removed, dockerd is stopped by PID, its mounts are released and the namespace is deleted.
//
// When the lab cannot start (not root, no dockerd, no nsenter), it says so loudly and runs <command> as it is,
// without DOCKER_HOST: tests that need the engine then skip, saying why.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";

const LAB_PREFIX = "ohlab-";
const START_TIMEOUT_MS = 40_000;
const STOP_TIMEOUT_MS = 20_000;
/** How long the command has to stop after a signal before its process tree is killed (OH_DOCKER_LAB_GRACE_MS). */
const COMMAND_GRACE_MS = Number(process.env.OH_DOCKER_LAB_GRACE_MS) > 0 ? Number(process.env.OH_DOCKER_LAB_GRACE_MS) : 10_000;

// A parent that went away takes the terminal or pipe with it: writing there must not stop the clean-up.
process.stderr.on("error", () => {});
process.stdout.on("error", () => {});

function log(message) {
  process.stderr.write(`docker-lab: ${message}\n`);
}

function run(command, args, options = {}) {
  return spawnSync(command, args, { encoding: "utf8", ...options });
}

function which(command) {
  return run("sh", ["-c", `command -v ${command}`]).status === 0;
}

/** Why the lab cannot start here, or undefined when it can. */
function unavailableReason() {
  if (process.platform !== "linux") return `not Linux (${process.platform})`;
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "not root (dockerd and network namespaces need root)";
  for (const tool of ["dockerd", "docker", "nsenter", "ip", "iptables"]) {
    if (!which(tool)) return `${tool} is not installed (scripts/install-test-deps.sh installs docker.io, iproute2, iptables)`;
  }
  return undefined;
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Mount points under `dir`, deepest first. */
function mountsUnder(dir) {
  const lines = readFileSync("/proc/self/mountinfo", "utf8").split("\n");
  const points = [];
  for (const line of lines) {
    const point = line.split(" ")[4];
    if (point && (point === dir || point.startsWith(`${dir}/`))) points.push(point.replace(/\\040/g, " "));
  }
  return points.sort((a, b) => b.length - a.length);
}

function releaseMounts(dir) {
  for (const point of mountsUnder(dir)) run("umount", ["-l", point]);
}

async function waitForExit(pid, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return !pidAlive(pid);
}

async function stopPid(pid, label) {
  if (!pid || !pidAlive(pid)) return;
  process.kill(pid, "SIGTERM");
  if (await waitForExit(pid, STOP_TIMEOUT_MS)) return;
  log(`${label} (pid ${pid}) did not stop in ${STOP_TIMEOUT_MS / 1000} s; killing it`);
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
  await waitForExit(pid, 5_000);
}

function readPid(file) {
  try {
    const pid = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Labs left behind by a run that was killed: their owner is gone, so their dockerd, mounts and namespace go too. */
async function sweepAbandonedLabs() {
  for (const entry of readdirSync("/tmp")) {
    const match = /^ohlab-(\d+)-/.exec(entry);
    if (!match || pidAlive(Number(match[1]))) continue;
    const dir = join("/tmp", entry);
    log(`removing an abandoned lab: ${dir}`);
    await stopPid(readPid(join(dir, "dockerd.pid")), "abandoned dockerd");
    releaseMounts(dir);
    rmSync(dir, { recursive: true, force: true });
  }
  const namespaces = run("ip", ["netns", "list"]).stdout ?? "";
  for (const line of namespaces.split("\n")) {
    const name = line.split(" ")[0];
    const match = name && new RegExp(`^${LAB_PREFIX}(\\d+)$`).exec(name);
    if (match && !pidAlive(Number(match[1]))) run("ip", ["netns", "delete", name]);
  }
}

function ping(socketPath) {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/_ping", timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** Daemon settings as the host's /etc/docker/daemon.json has them (bootstrap-scripts 40-files.sh), minus the
 * CloudWatch log driver and live-restore (which would leave containers running after the lab stops). */
function dockerdArgs(dir, storageDriver) {
  return [
    "--data-root",
    join(dir, "data"),
    "--exec-root",
    join(dir, "exec"),
    "--pidfile",
    join(dir, "dockerd.pid"),
    "--host",
    `unix://${join(dir, "docker.sock")}`,
    "--storage-driver",
    storageDriver,
    "--userland-proxy=true",
    "--iptables=true",
    "--ip-forward=true",
    "--icc=false",
    "--log-driver",
    "json-file",
  ];
}

async function startDockerd(netns, dir, storageDriver) {
  const socketPath = join(dir, "docker.sock");
  const logFile = join(dir, `dockerd-${storageDriver}.log`);
  const { openSync } = await import("node:fs");
  const out = openSync(logFile, "a");
  // nsenter --net enters only the network namespace: dockerd keeps the machine's sysfs and cgroup mounts, so
  // memory and pids limits work (`ip netns exec` would hand it an empty /sys/fs/cgroup).
  const child = spawn("nsenter", [`--net=/run/netns/${netns}`, "--", "dockerd", ...dockerdArgs(dir, storageDriver)], {
    stdio: ["ignore", out, out],
    detached: true,
  });
  child.unref();
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (existsSync(socketPath) && (await ping(socketPath))) return { pid: child.pid, socketPath, logFile };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stopPid(child.pid, "dockerd");
  releaseMounts(dir);
  const tail = readFileSync(logFile, "utf8").split("\n").slice(-8).join("\n");
  throw new Error(`dockerd (${storageDriver}) did not answer within ${START_TIMEOUT_MS / 1000} s:\n${tail}`);
}

function dockerCli(socketPath, args) {
  return run("docker", args, { env: { ...process.env, DOCKER_HOST: `unix://${socketPath}` } });
}

/** Every process whose network namespace is the lab's (servers a test started and left behind, host-network containers). */
function processesInNetns(netns) {
  let target;
  try {
    target = statSync(`/run/netns/${netns}`).ino;
  } catch {
    return [];
  }
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (statSync(`/proc/${entry}/ns/net`).ino === target) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** A process's start time (field 22 of /proc/<pid>/stat), or undefined when it is gone: tells a reused PID apart. */
function startTimeOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** The processes above `pid`, up to but without init. */
function ancestorsOf(pid) {
  const chain = [];
  let current = pid;
  for (let depth = 0; depth < 64; depth += 1) {
    let ppid;
    try {
      const stat = readFileSync(`/proc/${current}/stat`, "utf8");
      ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    } catch {
      break;
    }
    if (!ppid || ppid === 1) break;
    const startTime = startTimeOf(ppid);
    if (startTime === undefined) break;
    chain.push({ pid: ppid, startTime });
    current = ppid;
  }
  return chain;
}

/** `root` and every process below it. */
function processTree(root) {
  const children = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  const tree = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift();
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

async function killAll(pids, label) {
  const alive = pids.filter(pidAlive);
  if (alive.length === 0) return;
  log(`stopping ${alive.length} process(es) ${label}`);
  for (const pid of alive) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // gone
    }
  }
  const deadline = Date.now() + 5_000;
  while (alive.some(pidAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const pid of alive.filter(pidAlive)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

async function stopLab(lab) {
  if (lab.socketPath) {
    const ids = (dockerCli(lab.socketPath, ["ps", "-aq"]).stdout ?? "").split("\n").filter(Boolean);
    if (ids.length) dockerCli(lab.socketPath, ["rm", "-f", "-v", ...ids]);
  }
  await stopPid(lab.pid, "dockerd");
  // Nothing the command started outlives the lab: whatever still runs in its namespace is stopped.
  await killAll(processesInNetns(lab.netns), "left running in the lab's network namespace");
  releaseMounts(lab.dir);
  run("ip", ["netns", "delete", lab.netns]);
  rmSync(lab.dir, { recursive: true, force: true });
}

async function startLab() {
  await sweepAbandonedLabs();
  const netns = `${LAB_PREFIX}${process.pid}`;
  // Short path: a unix socket path must stay under 108 bytes.
  const dir = mkdtempSync(`/tmp/${LAB_PREFIX}${process.pid}-`);
  const added = run("ip", ["netns", "add", netns]);
  if (added.status !== 0) throw new Error(`ip netns add ${netns}: ${added.stderr.trim()}`);
  run("ip", ["-n", netns, "link", "set", "lo", "up"]);
  const lab = { netns, dir, pid: undefined, socketPath: undefined };
  const started = Date.now();
  try {
    let daemon;
    try {
      daemon = await startDockerd(netns, dir, "overlay2");
    } catch (error) {
      log(`overlay2 storage did not start (${error.message.split("\n")[0]}); trying vfs`);
      daemon = await startDockerd(netns, dir, "vfs");
    }
    lab.pid = daemon.pid;
    lab.socketPath = daemon.socketPath;
    writeFileSync(join(dir, "lab.json"), JSON.stringify({ netns, socketPath: daemon.socketPath, pid: daemon.pid }));
    log(`dockerd ${daemon.pid} ready in ${Date.now() - started} ms in network namespace ${netns} (${daemon.socketPath})`);
    return lab;
  } catch (error) {
    await stopLab(lab);
    throw error;
  }
}

function usage() {
  process.stderr.write("usage: docker-lab run -- <command> [args...]\n");
  process.exit(64);
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv[0] !== "run") usage();
  const separator = argv.indexOf("--");
  const command = separator >= 0 ? argv.slice(separator + 1) : argv.slice(1);
  if (command.length === 0) usage();

  const reason = unavailableReason();
  if (reason) {
    log("*".repeat(72));
    log(`DOCKER LAB UNAVAILABLE: ${reason}. Tests that need a real Docker engine will SKIP.`);
    log("*".repeat(72));
    const direct = spawnSync(command[0], command.slice(1), {
      stdio: "inherit",
      env: { ...process.env, OH_DOCKER_LAB_UNAVAILABLE: reason },
    });
    process.exit(direct.status ?? 1);
  }

  let lab;
  try {
    lab = await startLab();
  } catch (error) {
    log(`could not start the lab: ${error.message}`);
    process.exit(70);
  }

  const env = {
    ...process.env,
    DOCKER_HOST: `unix://${lab.socketPath}`,
    OH_DOCKER_LAB_SOCKET: lab.socketPath,
    OH_DOCKER_LAB_NETNS: lab.netns,
    OH_DOCKER_LAB_DIR: lab.dir,
  };
  const child = spawn("nsenter", [`--net=/run/netns/${lab.netns}`, "--", ...command], { stdio: "inherit", env });
  const exited = new Promise((resolve) => child.on("exit", (status, signal) => resolve(status ?? (signal ? 128 + 1 : 1))));
  let graceTimer;
  let forced;
  const killed = new Promise((resolve) => {
    forced = resolve;
  });
  const requestStop = (signal, why) => {
    if (graceTimer) return;
    log(`${why}: stopping the command, then the lab`);
    child.kill(signal);
    graceTimer = setTimeout(async () => {
      await killAll(processTree(child.pid), "of the command that did not stop in time");
      forced(128 + 15);
    }, COMMAND_GRACE_MS);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => requestStop(signal, `got ${signal}`));
  // Any process that started this one (pnpm, turbo, a shell, a test runner) dying without signalling, however far
  // up, stops the lab: otherwise the stack would run on, orphaned.
  const ancestors = ancestorsOf(process.pid);
  const watch = setInterval(() => {
    const gone = ancestors.find((ancestor) => startTimeOf(ancestor.pid) !== ancestor.startTime);
    if (gone) requestStop("SIGTERM", `process ${gone.pid} that started this lab is gone`);
  }, 500);
  const code = await Promise.race([exited, killed]);
  clearTimeout(graceTimer);
  clearInterval(watch);
  const stopping = Date.now();
  await stopLab(lab);
  log(`lab stopped and removed in ${Date.now() - stopping} ms`);
  process.exit(code);
}

main().catch((error) => {
  log(`failed: ${error.stack ?? error}`);
  process.exit(70);
});
