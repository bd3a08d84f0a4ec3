#!/usr/bin/env node
// Side-by-side timings of the infra package, measured in one run on this machine:
// synth from the built JavaScript vs through tsx, the policy suite over the synthesized output,
// and the test suite split into unit tests and the Terraform (validate + offline plan) tests.
// Usage: pnpm --filter @openhands-team/infra bench   (BENCH_RUNS=<n> to change the synth repetitions)
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 5));
// Tools come from the package's own node_modules or, for the shared ones (jest), from the workspace root's.
const bin = (name) =>
  [join(root, "node_modules", ".bin", name), join(root, "..", "..", "node_modules", ".bin", name)].find((p) => existsSync(p)) ?? name;

function time(label, command, args, { repeat = 1, allowFail = false } = {}) {
  const samples = [];
  let failed = 0;
  for (let i = 0; i < repeat; i++) {
    const started = process.hrtime.bigint();
    const result = spawnSync(command, args, {
      cwd: root,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 256 * 1024 * 1024,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.status !== 0) failed++;
    if (result.status !== 0 && !allowFail) {
      console.error(
        `${label} failed (exit ${result.status}, signal ${result.signal}, ` +
          `${result.error ?? "no spawn error"}):\n${result.stdout}\n${result.stderr}`,
      );
      process.exit(1);
    }
    samples.push(seconds);
  }
  samples.sort((a, b) => a - b);
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return { label, mean, min: samples[0], max: samples[samples.length - 1], n: samples.length, failed };
}

const out = mkdtempSync(join(tmpdir(), "oh-bench-"));
const outdir = join(out, "cdktf.out");
try {
  console.log(`infra bench: ${runs} synth runs each, node ${process.version}, ${new Date().toISOString()}`);
  const built = time("synth, built JS (node dist/src/main.js)", "node", ["dist/src/main.js", "--out", outdir], { repeat: runs });
  const viaTsx = time("synth, TypeScript via tsx (tsx src/main.ts)", bin("tsx"), ["src/main.ts", "--out", outdir], { repeat: runs });
  const policy = time("policy suite over cdktf.out (node dist/src/policy/cli.js)", "node", ["dist/src/policy/cli.js", outdir], {
    repeat: runs,
  });
  // A failing test run is still timed (and flagged): on a shared machine a sibling package's rebuild can break a run.
  const unit = time("infra tests without Terraform (jest)", bin("jest"), ["--silent", "--testPathIgnorePatterns", "terraform"], {
    allowFail: true,
  });
  const terraform = time(
    "infra Terraform tests (validate + offline plan, jest)",
    bin("jest"),
    ["--silent", "test/deployment/terraform.test.ts"],
    { allowFail: true },
  );
  const rows = [built, viaTsx, policy, unit, terraform];
  const width = Math.max(...rows.map((r) => r.label.length));
  console.log(`${"what".padEnd(width)}  mean s   min s   max s   runs`);
  for (const r of rows) {
    const flag = r.failed ? `  (${r.failed} run${r.failed > 1 ? "s" : ""} failed)` : "";
    console.log(
      `${r.label.padEnd(width)}  ${r.mean.toFixed(2).padStart(6)}  ${r.min.toFixed(2).padStart(6)}  ` +
        `${r.max.toFixed(2).padStart(6)}  ${String(r.n).padStart(4)}${flag}`,
    );
  }
  console.log(`ratio tsx / built synth:             ${(viaTsx.mean / built.mean).toFixed(2)}x`);
  console.log(`ratio policy suite / built synth:    ${(policy.mean / built.mean).toFixed(2)}x`);
  console.log(
    `Terraform share of the test time:    ${((100 * terraform.mean) / (terraform.mean + unit.mean)).toFixed(0)} % of ` +
      `${(terraform.mean + unit.mean).toFixed(1)} s`,
  );
} finally {
  rmSync(out, { recursive: true, force: true });
}
