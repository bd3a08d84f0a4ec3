#!/usr/bin/env node
// The package's `test` script, run inside `docker-lab run` (which makes the lab's network namespace this host):
// jest in two phases, one report (reports/jest-results.json, what scripts/run-tests.mjs reads).
//   1. every test file except those that play the host, on two workers;
//   2. the files that play the host, one after the other: each binds the host's ports (8080, 8081, 4000, the
//      gateways' 3000) in the lab's namespace, creates user networks in the one engine, and the firewall test
//      loads the host firewall there; two of them at once would answer, or block, each other's connections.
// Arguments (a test path, -t ...) run jest once with them, as usual.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const HOST_TESTS = ["test/firewall-docker.test.ts", "test/compose-up.test.ts"].filter((file) => existsSync(join(root, file)));
const REPORT = join(root, "reports", "jest-results.json");

function jest(args) {
  const result = spawnSync("jest", args, { cwd: root, stdio: "inherit" });
  if (result.error) console.error(`jest-phases: cannot run jest: ${result.error.message}`);
  return result.status ?? 1;
}

const extra = process.argv.slice(2);
if (extra.length) process.exit(jest(["--json", `--outputFile=${REPORT}`, ...extra]));

mkdirSync(dirname(REPORT), { recursive: true });
const phases = [
  {
    report: join(root, "reports", "jest-phase-1.json"),
    // two workers: the dry runs spend their time starting stub processes, and share nothing
    args: ["--maxWorkers=2", ...HOST_TESTS.flatMap((file) => ["--testPathIgnorePatterns", file.replace(/\./g, "\\.")])],
  },
  ...(HOST_TESTS.length
    ? [{ report: join(root, "reports", "jest-phase-2.json"), args: ["--runInBand", "--runTestsByPath", ...HOST_TESTS] }]
    : []),
];

let status = 0;
const reports = [];
for (const phase of phases) {
  rmSync(phase.report, { force: true });
  const code = jest(["--json", `--outputFile=${phase.report}`, ...phase.args]);
  if (code !== 0) status = code;
  if (existsSync(phase.report)) {
    reports.push(JSON.parse(readFileSync(phase.report, "utf8")));
    rmSync(phase.report);
  } else {
    // jest itself failed: count it as a suite that could not run
    reports.push({ success: false, numRuntimeErrorTestSuites: 1, numTotalTestSuites: 1, testResults: [] });
  }
}

const sum = (key) => reports.reduce((total, report) => total + (report[key] ?? 0), 0);
const merged = {
  ...reports[0],
  success: reports.every((report) => report.success),
  testResults: reports.flatMap((report) => report.testResults ?? []),
};
for (const key of [
  "numTotalTests",
  "numPassedTests",
  "numFailedTests",
  "numPendingTests",
  "numTodoTests",
  "numTotalTestSuites",
  "numPassedTestSuites",
  "numFailedTestSuites",
  "numPendingTestSuites",
  "numRuntimeErrorTestSuites",
])
  merged[key] = sum(key);
writeFileSync(REPORT, JSON.stringify(merged));
console.log(
  `jest-phases: ${merged.numPassedTests} passed, ${merged.numFailedTests} failed, ${merged.numPendingTests} skipped in ` +
    `${merged.numTotalTestSuites} files (${phases.length} phases)`,
);
process.exit(status);
