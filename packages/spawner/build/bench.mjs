// Bundles the benches (with the test helpers) to a temporary folder and runs them:
// both under `docker-lab run` (a real Docker engine; the fake-engine harness binds its gateways in the lab namespace).
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = mkdtempSync(join(tmpdir(), "spawner-bench-"));
const only = process.argv[2];
const env = {
  ...process.env,
  SPAWNER_PACKAGE_DIR: root,
  // The bundled docker-lab cannot find the repository from its own file: its image cache stays where the tests keep it.
  OH_DOCKER_LAB_CACHE: process.env.OH_DOCKER_LAB_CACHE ?? join(root, "..", "..", "node_modules", ".cache", "docker-lab"),
};
try {
  let status = 0;
  for (const name of ["spawner", "real-engine", "load"]) {
    if (only && only !== name) continue;
    const outfile = join(dir, `${name}.js`);
    await build({
      entryPoints: [join(root, "bench", `${name}.bench.ts`)],
      outfile,
      bundle: true,
      platform: "node",
      target: "node20",
      format: "cjs",
      external: ["pg-native", "esbuild"],
      logLevel: "warning",
    });
    // Both under docker-lab: the real engine, and the lab namespace whose loopback carries the fake engine's gateways.
    const command = [join(root, "node_modules", ".bin", "docker-lab"), "run", "--", process.execPath, outfile];
    const run = spawnSync(command[0], command.slice(1), { stdio: "inherit", env });
    status ||= run.status ?? 1;
  }
  process.exitCode = status;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
