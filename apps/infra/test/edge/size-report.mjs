#!/usr/bin/env node
// Sizes of the Lambda@Edge packages next to Lambda@Edge's limits, and the time to synthesize the deployment,
// measured side by side in one run. Needs `pnpm exec turbo run build --filter=@openhands-team/infra...` first.
// Usage (from apps/infra): node test/edge/size-report.mjs
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const infra = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const LIMITS = { "viewer-request": 1024 * 1024 };
const out = join(mkdtempSync(join(tmpdir(), "oh-edge-size-")), "cdktf.out");
try {
  const started = process.hrtime.bigint();
  const synth = spawnSync("node", ["dist/src/main.js", "--out", out], { cwd: infra, encoding: "utf8" });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (synth.status !== 0) throw new Error(`synth failed:\n${synth.stdout}\n${synth.stderr}`);
  const edge = JSON.parse(readFileSync(join(out, "stacks", "edge", "cdk.tf.json"), "utf8"));
  console.log(`synth of all stacks: ${seconds.toFixed(2)} s`);
  console.log("function          unzipped   zipped   limit (zipped)   share of limit");
  for (const fn of Object.values(edge.resource.aws_lambda_function)) {
    const kind = fn.function_name.replace(/^.*-edge-/, "");
    const zip = statSync(join(out, "stacks", "edge", fn.filename)).size;
    const bundleDir = join(infra, "..", "..", "packages", "edge-auth", "dist", kind);
    const unzipped = readdirSync(bundleDir).reduce((n, f) => n + statSync(join(bundleDir, f)).size, 0);
    const limit = LIMITS[kind];
    console.log(
      `${kind.padEnd(16)}  ${String(unzipped).padStart(8)}  ${String(zip).padStart(7)}  ${String(limit).padStart(14)}   ` +
        `${((zip / limit) * 100).toFixed(2)}% (1/${Math.floor(limit / zip)})`,
    );
  }
} finally {
  rmSync(dirname(out), { recursive: true, force: true });
}
