#!/usr/bin/env node
// Runs lint, the builds (Turborepo) and every package's tests, then prints one plain line: "N passed, N failed".
// Lint counts as one test. Each package's jest writes reports/jest-results.json; a package whose tests could not run counts
// as one failure.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const packages = ["apps", "packages"].flatMap((group) =>
  readdirSync(join(root, group))
    .map((name) => join(root, group, name))
    .filter((dir) => existsSync(join(dir, "package.json"))),
);
// Arguments: package names to test (`pnpm test @openhands-team/spawner`); `--filter=<name>` is read the same way.
const filter = process.argv.slice(2).flatMap((arg) => (arg === "--filter" ? [] : [arg.replace(/^--filter=/, "")]));
for (const dir of packages) rmSync(join(dir, "reports"), { recursive: true, force: true });

// Lint first (Biome, luacheck, line width; cached by turbo): a finding fails the run like a failed test.
const lint = filter.length
  ? { status: 0 }
  : spawnSync("pnpm", ["exec", "turbo", "run", "lint", "lint:root", "--continue", "--output-logs=errors-only"], {
      cwd: root,
      stdio: "inherit",
    });
if (lint.status !== 0) console.log("lint: findings above (run `pnpm lint`; `pnpm format` rewrites what Biome can)");

// Builds first, in parallel (turbo's cache skips what is built already; with a filter, what the filtered packages need).
const build = spawnSync(
  "pnpm",
  ["exec", "turbo", "run", "build", "--output-logs=errors-only", ...filter.map((name) => `--filter=${name}...`)],
  { cwd: root, stdio: "inherit" },
);

// Then the tests, one package at a time (they start engines, databases and nginx of their own), each under a watchdog:
// a package that hangs is interrupted (SIGINT to its process group, so docker-lab and the test servers stop theirs),
// killed if it does not end, and counted as failed, and the next package still runs.
const limitMs = Number(process.env.TEST_PACKAGE_TIMEOUT_MINUTES ?? 15) * 60_000;
const timings = [];
let testsFailed = false;

function runPackageTests(dir, name) {
  return new Promise((resolve) => {
    const started = Date.now();
    console.log(`\n==> ${name}: test`);
    const child = spawn("pnpm", ["run", "--silent", "test"], { cwd: dir, stdio: "inherit", detached: true });
    const group = (signal) => {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // the group has ended
      }
    };
    let timedOut = false;
    let kill;
    const watchdog = setTimeout(() => {
      timedOut = true;
      console.log(`\n==> ${name}: still running after ${limitMs / 60_000} min: interrupting it`);
      group("SIGINT");
      kill = setTimeout(() => group("SIGKILL"), 60_000);
    }, limitMs);
    // an interrupted run interrupts the package too, rather than leaving its servers behind
    const forward = (signal) => group(signal);
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    child.on("exit", (code, signal) => {
      clearTimeout(watchdog);
      clearTimeout(kill);
      process.off("SIGINT", forward);
      process.off("SIGTERM", forward);
      group("SIGKILL"); // anything the package left in its group
      const seconds = Math.round((Date.now() - started) / 1000);
      timings.push({ name, seconds, status: timedOut ? "timed out" : code === 0 ? "ok" : `failed (${code ?? signal})` });
      if (timedOut || code !== 0) testsFailed = true;
      resolve();
    });
  });
}

const selected = packages.filter((dir) => {
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  return manifest.scripts?.test && (!filter.length || filter.includes(manifest.name));
});
if (build.status === 0) {
  for (const dir of selected) await runPackageTests(dir, JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).name);
  console.log("\ntest time by package:");
  for (const { name, seconds, status } of timings) console.log(`  ${name.padEnd(36)} ${String(seconds).padStart(5)} s  ${status}`);
}

let passed = 0;
let failed = 0;
const missing = [];
for (const dir of packages) {
  const name = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).name;
  if (filter.length && !filter.includes(name)) continue;
  const report = join(dir, "reports", "jest-results.json");
  if (!existsSync(report)) {
    missing.push(name);
    failed += 1;
    continue;
  }
  const results = JSON.parse(readFileSync(report, "utf8"));
  passed += results.numPassedTests;
  failed += results.numFailedTests + (results.numRuntimeErrorTestSuites ?? 0);
}
if (lint.status !== 0) failed += 1;
if (missing.length) console.log(`no test report from: ${missing.join(", ")} (counted as failures)`);
if ((build.status !== 0 || testsFailed) && failed === 0) failed = 1;
const summary = `${passed} passed, ${failed} failed`;
mkdirSync(join(root, "reports"), { recursive: true });
writeFileSync(join(root, "reports", "test-summary.txt"), `${summary}\n`);
console.log(summary);
process.exit(failed === 0 ? 0 : 1);
