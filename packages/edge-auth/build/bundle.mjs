// One esbuild bundle per edge function, each in its own folder (the Lambda asset), with a size budget.
import { build } from "esbuild";
import { rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const FUNCTIONS = ["viewer-request", "origin-response"];
const BUDGET_BYTES = 100 * 1024;

rmSync(join(root, "dist"), { recursive: true, force: true });
for (const fn of FUNCTIONS) {
  const outfile = join(root, "dist", fn, "index.js");
  await build({
    entryPoints: [join(root, "src", fn, "index.ts")],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    minify: true,
    legalComments: "none",
    external: ["@aws-sdk/*"],
  });
  const size = statSync(outfile).size;
  if (size > BUDGET_BYTES) {
    console.error(`${fn}: ${size} bytes exceeds the ${BUDGET_BYTES}-byte budget`);
    process.exit(1);
  }
  console.log(`${fn}: ${size} bytes (budget ${BUDGET_BYTES})`);
}
