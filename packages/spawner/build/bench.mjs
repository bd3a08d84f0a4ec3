// Bundles bench/spawner.bench.ts (with the test fakes) to a temporary file and runs it.
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = mkdtempSync(join(tmpdir(), "spawner-bench-"));
try {
  const outfile = join(dir, "bench.js");
  await build({ entryPoints: [join(root, "bench", "spawner.bench.ts")], outfile, bundle: true, platform: "node", target: "node20", format: "cjs", external: ["pg-native"], logLevel: "warning" });
  const run = spawnSync(process.execPath, [outfile], { stdio: "inherit", env: { ...process.env, SPAWNER_PACKAGE_DIR: root } });
  process.exitCode = run.status ?? 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
