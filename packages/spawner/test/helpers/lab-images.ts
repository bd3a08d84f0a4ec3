/**
 * Images for the spawner's real-engine tests, built on docker-lab's Node.js stand-in (`STAND_IN.node`):
 * - the app: the contract fake of OpenHands (testing/fake-openhands-app.ts) on port 3000, plus a port 3999
 *   that reports what it received (its requests and stored settings), so a test can look inside;
 * - the agent-server: a small HTTP server on the port given by `--port` (what OpenHands passes as Cmd), answering
 *   /health and /alive as the 1.19.1 agent-server does.
 * The real OpenHands and agent-server images cannot be pulled here (no registry); these stand in for them.
 * Both are tagged under `localhost:1/` so that a pull fails at once.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildSync } from "esbuild";
import { docker, ensureImage, STAND_IN } from "@openhands-team/docker-lab";

export const LAB_APP_IMAGE = "localhost:1/oh-spawner-test/openhands:1.7.0";
export const LAB_AGENT_IMAGE = "localhost:1/oh-spawner-test/agent-server:1.19.1-python";
/** The app stand-in's report port (requests and settings as JSON). */
export const APP_REPORT_PORT = 3999;

/** The package folder (the bench runs this file bundled elsewhere and says where the package is). */
const PACKAGE_DIR = process.env.SPAWNER_PACKAGE_DIR ?? join(__dirname, "..", "..");

const APP_ENTRY = `
const { startFakeOpenHandsApp } = require(${JSON.stringify(join(PACKAGE_DIR, "testing", "fake-openhands-app.ts"))});
const http = require("node:http");
startFakeOpenHandsApp({ host: "0.0.0.0", port: 3000 }).then((app) => {
  http.createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ requests: app.requests, settings: app.settings }));
  }).listen(${APP_REPORT_PORT}, "0.0.0.0");
});
process.on("SIGTERM", () => process.exit(0));
`;

const AGENT_ENTRY = `
const http = require("node:http");
const at = process.argv.indexOf("--port");
const port = at >= 0 ? Number(process.argv[at + 1]) : 8000;
for (const p of new Set([port, 8001, 8011, 8012])) {
  http.createServer((req, res) => {
    if (req.url === "/health") return res.end("OK");
    if (req.url === "/alive") { res.setHeader("content-type", "application/json"); return res.end('{"status":"ok"}'); }
    res.statusCode = 404;
    res.end("not found");
  }).listen(p, "0.0.0.0");
}
process.on("SIGTERM", () => process.exit(0));
`;

function build(reference: string, base: string, entry: string, ports: number[], workdir?: string) {
  const dir = mkdtempSync(join(tmpdir(), "spawner-image-"));
  try {
    const out = buildSync({ stdin: { contents: entry, resolveDir: PACKAGE_DIR, loader: "js" }, bundle: true, platform: "node", target: "node20", format: "cjs", write: false, logLevel: "error" });
    writeFileSync(join(dir, "main.js"), out.outputFiles[0]!.contents);
    writeFileSync(
      join(dir, "Dockerfile"),
      [`FROM ${base}`, "COPY main.js /opt/stand-in/main.js", ...(workdir ? [`WORKDIR ${workdir}`] : []), `EXPOSE ${ports.join(" ")}`, 'ENTRYPOINT ["/usr/bin/node", "/opt/stand-in/main.js"]', ""].join("\n"),
    );
    // The classic builder caches the COPY layer by content: a second build of the same bundle is a no-op.
    docker(["build", "--quiet", "--tag", reference, dir]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Makes sure both images exist in the lab engine; returns their references. */
export async function ensureLabImages(): Promise<{ app: string; agentServer: string; node: string }> {
  const node = await ensureImage(STAND_IN.node);
  build(LAB_APP_IMAGE, node, APP_ENTRY, [3000, APP_REPORT_PORT]);
  build(LAB_AGENT_IMAGE, node, AGENT_ENTRY, [8000, 8001, 8011, 8012], "/workspace");
  return { app: LAB_APP_IMAGE, agentServer: LAB_AGENT_IMAGE, node };
}
