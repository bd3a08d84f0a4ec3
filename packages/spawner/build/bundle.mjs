// Bundles the spawner into ONE file, dist/spawner.js (node20, CommonJS), that the host runs with plain node.
import { build } from "esbuild";
import { rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
rmSync(join(root, "dist"), { recursive: true, force: true });
await build({
  entryPoints: [join(root, "src", "main.ts")],
  outfile: join(root, "dist", "spawner.js"),
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  minify: false,
  legalComments: "none",
  // pg loads its optional native binding lazily and only on request; it is never used.
  external: ["pg-native"],
  banner: { js: "#!/usr/bin/env node" },
  logLevel: "warning",
});
const size = statSync(join(root, "dist", "spawner.js")).size;
console.log(`dist/spawner.js ${(size / 1024).toFixed(0)} KiB`);
