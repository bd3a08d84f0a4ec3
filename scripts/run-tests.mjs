#!/usr/bin/env node
// Runs every package's tests through Turborepo, then prints one plain line: "N passed, N failed".
// Lint runs first and counts as one test. Each package's jest writes reports/jest-results.json; a package whose tests could not run counts
// as one failure.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const packages = ["apps", "packages"].flatMap((group) =>
  readdirSync(join(root, group))
    .map((name) => join(root, group, name))
    .filter((dir) => existsSync(join(dir, "package.json"))),
);
const filter = process.argv.slice(2);
for (const dir of packages) rmSync(join(dir, "reports"), { recursive: true, force: true });

// Lint first (Biome, luacheck, line width; cached by turbo): a finding fails the run like a failed test.
const lint = filter.length
  ? { status: 0 }
  : spawnSync("pnpm", ["exec", "turbo", "run", "lint", "lint:root", "--continue", "--output-logs=errors-only"], {
      cwd: root,
      stdio: "inherit",
    });
if (lint.status !== 0) console.log("lint: findings above (run `pnpm lint`; `pnpm format` rewrites what Biome can)");

// Builds first, in parallel (turbo's cache skips what is built already); then the tests one package at a time (they
// start engines, databases and nginx of their own), always run afresh.
// With a filter, turbo builds what the filtered packages need as part of the test run.
const build = filter.length
  ? { status: 0 }
  : spawnSync("pnpm", ["exec", "turbo", "run", "build", "--output-logs=errors-only"], { cwd: root, stdio: "inherit" });
const only = filter.length ? [] : ["--only"];
const turbo =
  build.status !== 0
    ? build
    : spawnSync(
        "pnpm",
        ["exec", "turbo", "run", "test", ...only, "--continue", "--concurrency=1", "--output-logs=full", "--force", ...filter],
        { cwd: root, stdio: "inherit" },
      );

let passed = 0;
let failed = 0;
const missing = [];
for (const dir of packages) {
  const name = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).name;
  if (filter.length && !filter.some((f) => f.includes(name))) continue;
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
if (turbo.status !== 0 && failed === 0) failed = 1;
const summary = `${passed} passed, ${failed} failed`;
mkdirSync(join(root, "reports"), { recursive: true });
writeFileSync(join(root, "reports", "test-summary.txt"), `${summary}\n`);
console.log(summary);
process.exit(failed === 0 && turbo.status === 0 ? 0 : 1);
