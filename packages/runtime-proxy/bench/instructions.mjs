// Bench, the figure that load on the machine does not move: user-space instructions per request that the
// proxy's nginx (one process, under valgrind's callgrind) spends on a dynamic route and on a static
// proxy_pass given the same request.
//   pnpm --filter @openhands-team/runtime-proxy bench:instructions   (BENCH_REQUESTS=2000 per route)
// Requests per second (bench/run.mjs) also pay for the kernel's share (sockets, both hops), wrk and the
// backend, and on a shared machine they move with everyone else's work; instruction counts do not, so a
// change to the Lua code or the template shows here even when the machine is busy. The backend is a
// plain nginx of its own (not counted). Needs valgrind; runs in the network namespace of test/in-netns.sh.
import { spawn, spawnSync } from "node:child_process";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import { createRequire } from "node:module";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const { DEBIAN_MODULES, DEFAULT_LUA_DIR, parseSettings, renderNginxConf } = require("../dist/index.js");

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 2000);
const NGINX = process.env.NGINX_BIN ?? "/usr/sbin/nginx";
const APP_HOST = "openhands.bench.test";
const RUNTIME_DOMAIN = "runtime.bench.test";
const SLUG = "abcdefghijklmnop";
const SESSION_KEY = "bench-session-key";
const SANDBOX_IP = "10.240.1.130";
const APP_IP = "10.240.1.2";
if (process.env.OH_PROXY_TEST_NETNS !== "1") {
  console.error(
    "run it through `pnpm bench:instructions` (sh test/in-netns.sh node bench/instructions.mjs): it needs 10.240.0.0/16 on loopback",
  );
  process.exit(1);
}
for (const [bin, args] of [
  ["valgrind", ["--version"]],
  ["callgrind_control", ["--version"]],
  [NGINX, ["-v"]],
]) {
  if (spawnSync(bin, args).error) {
    console.error(`bench:instructions needs ${bin} (Debian: apt-get install valgrind)`);
    process.exit(1);
  }
}

const freePort = () =>
  new Promise((resolve) => {
    const s = createNetServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const [spawnerPort, backendPort, pairedPort, proxyPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);

const spawner = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    const send = (status, value) => {
      const text = value === undefined ? "" : JSON.stringify(value);
      res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.url.startsWith("/v1/routes/resolve")) {
      return send(200, {
        owner: SLUG,
        upstream: `http://${SANDBOX_IP}:${backendPort}`,
        kind: "agent-server",
        sessionKeySha256: createHash("sha256").update(SESSION_KEY).digest("hex"),
      });
    }
    if (req.url.includes("/ensure")) return send(200, { state: "running", upstream: `http://${APP_IP}:3000` });
    send(204);
  });
});
await new Promise((r) => spawner.listen(spawnerPort, "127.0.0.1", r));

const backendDir = mkdtempSync(join(tmpdir(), "oh-proxy-insn-backend-"));
const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `${t}_temp_path ${backendDir};`).join(" ");
writeFileSync(
  join(backendDir, "nginx.conf"),
  `worker_processes 1; pid ${backendDir}/nginx.pid; error_log ${backendDir}/error.log; events {}
http { access_log off; ${temp}
  server { listen ${SANDBOX_IP}:${backendPort}; listen ${APP_IP}:3000; location / { return 200 "ok\\n"; } } }`,
);
const backend = spawn(
  NGINX,
  ["-p", backendDir, "-c", join(backendDir, "nginx.conf"), "-e", join(backendDir, "error.log"), "-g", "daemon off;"],
  {
    stdio: "inherit",
  },
);

const prefix = mkdtempSync(join(tmpdir(), "oh-proxy-insn-"));
chmodSync(prefix, 0o755);
const key = randomBytes(32);
writeFileSync(join(prefix, "key"), key.toString("base64url"), { mode: 0o600 });
// The paired static proxy_pass inherits the proxy's own http-level proxy settings, as in bench/run.mjs.
writeFileSync(
  join(prefix, "bench.conf"),
  `
  upstream bench_static { server ${SANDBOX_IP}:${backendPort}; keepalive 64; }
  server { listen 127.0.0.1:${pairedPort}; set $oh_upgrade ""; set $oh_connection ""; location / { proxy_pass http://bench_static; } }
`,
);
const settings = parseSettings(
  {
    appHost: APP_HOST,
    runtimeDomain: RUNTIME_DOMAIN,
    listen: { address: "127.0.0.1", port: proxyPort },
    spawnerUrl: `http://127.0.0.1:${spawnerPort}`,
    identityKeyFile: join(prefix, "key"),
    runDir: prefix,
    modules: DEBIAN_MODULES,
    errorLog: join(prefix, "error.log"),
    accessLog: "off",
    workerProcesses: 1,
    includes: [join(prefix, "bench.conf")],
  },
  DEFAULT_LUA_DIR,
);
writeFileSync(join(prefix, "nginx.conf"), renderNginxConf(settings));
// One process (no master), so callgrind follows the process that serves the requests.
const proxy = spawn(
  "valgrind",
  [
    "--tool=callgrind",
    `--callgrind-out-file=${prefix}/callgrind.%p`,
    NGINX,
    "-p",
    prefix,
    "-c",
    join(prefix, "nginx.conf"),
    "-e",
    join(prefix, "error.log"),
    "-g",
    "daemon off; master_process off;",
  ],
  { stdio: ["ignore", "ignore", "ignore"] },
);
const stop = async () => {
  proxy.kill("SIGTERM");
  backend.kill("SIGTERM");
  spawner.close();
  await sleep(1000);
  rmSync(prefix, { recursive: true, force: true });
  rmSync(backendDir, { recursive: true, force: true });
};

const agent = new Agent({ keepAlive: true, maxSockets: 4 });
const get = (port, headers) =>
  new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/", headers, agent }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode < 300 ? resolve() : reject(new Error(`status ${res.statusCode} from port ${port}`))));
    });
    req.on("error", reject);
    req.end();
  });
async function load(port, headers, count) {
  let sent = 0;
  await Promise.all(
    [0, 1, 2, 3].map(async () => {
      while (sent++ < count) await get(port, headers);
    }),
  );
}
for (let attempt = 0; ; attempt += 1) {
  try {
    await get(pairedPort, { Host: "x" });
    break;
  } catch (error) {
    if (attempt > 100) throw error;
    await sleep(300);
  }
}

function identity(host) {
  const exp = Math.floor(Date.now() / 1000) + 250;
  const sig = createHmac("sha256", key).update(`v1\n${host}\nbench-sub\n${SLUG}\nbench@example.com\n${exp}`).digest("base64url");
  return { "x-oh-user": "bench-sub", "x-oh-user-slug": SLUG, "x-oh-email": "bench@example.com", "x-oh-exp": String(exp), "x-oh-sig": sig };
}
// Counts since the previous dump: callgrind_control -d writes callgrind.<pid>.<n> with the total in its summary line.
let dumps = 0;
async function instructionsSinceLastDump() {
  spawnSync("callgrind_control", ["-d", String(proxy.pid)]);
  dumps += 1;
  const file = join(prefix, `callgrind.${proxy.pid}.${dumps}`);
  for (let attempt = 0; attempt < 50 && !readdirSync(prefix).includes(`callgrind.${proxy.pid}.${dumps}`); attempt += 1) await sleep(100);
  const text = readFileSync(file, "utf8");
  return Number(/^(?:summary|totals): (\d+)/m.exec(text)?.[1]);
}

const runtimeHost = `${backendPort}-${SLUG}.${RUNTIME_DOMAIN}`;
const routes = [
  ["runtime host, session key header", { Host: runtimeHost, "X-Session-API-Key": SESSION_KEY }],
  ["runtime host, signed identity", { Host: runtimeHost, ...identity(runtimeHost) }],
  ["app host, signed identity", { Host: APP_HOST, ...identity(APP_HOST) }],
];
const rows = [];
for (const [name, headers] of routes) {
  const perRequest = {};
  for (const [side, port] of [
    ["static", pairedPort],
    ["dynamic", proxyPort],
  ]) {
    await load(port, headers, 2000); // warm-up: route cache, LuaJIT traces
    await instructionsSinceLastDump();
    await load(port, headers, REQUESTS);
    perRequest[side] = (await instructionsSinceLastDump()) / REQUESTS;
  }
  rows.push([name, perRequest.static, perRequest.dynamic]);
}
agent.destroy();
await stop();

console.log(
  `\nruntime-proxy bench:instructions: user-space instructions per request in ` +
    `the proxy's nginx (callgrind), ${REQUESTS} requests per route\n`,
);
console.log(`${"route".padEnd(36)}${"static".padStart(10)}${"dynamic".padStart(10)}${"added".padStart(10)}`);
for (const [name, s, d] of rows) {
  console.log(name.padEnd(36) + s.toFixed(0).padStart(10) + d.toFixed(0).padStart(10) + (d - s).toFixed(0).padStart(10));
}
