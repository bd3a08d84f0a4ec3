// Bundles each fake's standalone entry point into one file (dist/<name>.js) for the stand-in images: platform
// node, node20, CommonJS, every dependency (ws) inlined, so the image needs no node_modules.
import { build } from "esbuild";
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
mkdirSync(`${root}/dist`, { recursive: true });
const entries = {
  "openhands-app": "src/bin/openhands-app.ts",
  "agent-server": "src/bin/agent-server.ts",
  "llm-gateway": "src/bin/llm-gateway.ts",
};
for (const [name, entry] of Object.entries(entries)) {
  await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile: `dist/${name}.js`,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    // ws tries these optional native helpers and falls back to JavaScript without them.
    external: ["bufferutil", "utf-8-validate"],
    legalComments: "none",
    logLevel: "warning",
  });
}
