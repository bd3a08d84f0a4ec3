// One esbuild bundle per edge function, each in its own folder (the Lambda asset, handler `index.handler`), with a size budget.
// No AWS SDK: SSM is one SigV4-signed request (src/shared/ssm.ts). The signer's `Headers` and `crypto.subtle` are small
// node:crypto-backed stand-ins, so a cold start loads neither undici nor WebCrypto (src/shared/signer-globals.ts).
import { build } from "esbuild";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { deflateRawSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const contractsSource = join(dirname(createRequire(import.meta.url).resolve("@openhands-team/contracts/package.json")), "src", "index.ts");
const FUNCTIONS = ["viewer-request", "origin-response"];
// Lambda@Edge allows 1 MB (zipped) for viewer functions; we stay far below it so that a cold start loads little code.
const BUDGET_BYTES = 100 * 1024;
const BUDGET_COMPRESSED_BYTES = 40 * 1024;

rmSync(join(root, "dist"), { recursive: true, force: true });
const sizes = {};
let failed = false;
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
    inject: [join(root, "src", "shared", "signer-globals.ts")],
    // The contracts package from its TypeScript source (ES modules), so that only what the function uses is inlined.
    alias: { "@openhands-team/contracts": contractsSource },
  });
  const bytes = readFileSync(outfile);
  // Deflate is what a zip archive uses: this is the size that counts against the Lambda@Edge limit (plus a few header bytes).
  const compressed = deflateRawSync(bytes, { level: 9 }).length;
  sizes[fn] = { bytes: bytes.length, compressedBytes: compressed };
  const over = bytes.length > BUDGET_BYTES || compressed > BUDGET_COMPRESSED_BYTES;
  console.log(
    `${fn}: ${bytes.length} bytes, ${compressed} compressed (budget ${BUDGET_BYTES} / ` +
      `${BUDGET_COMPRESSED_BYTES})${over ? "  OVER BUDGET" : ""}`,
  );
  failed ||= over;
}
writeFileSync(
  join(root, "dist", "sizes.json"),
  `${JSON.stringify({ budgetBytes: BUDGET_BYTES, budgetCompressedBytes: BUDGET_COMPRESSED_BYTES, functions: sizes }, null, 2)}\n`,
);
if (failed) {
  console.error("edge-auth: a bundle exceeds its size budget");
  process.exit(1);
}
