// Bench: requests per second and latency through the proxy's dynamic routes against a static
// proxy_pass to the same backend, measured side by side in one run with wrk; and how often the
// spawner is asked (resolve/ensure calls per 10,000 requests).
//   pnpm --filter @openhands-team/runtime-proxy bench   (BENCH_SECONDS=2 per run, BENCH_ROUNDS=5, BENCH_CONNECTIONS=32)
// The proxy accepts upstreams only in the users' subnets, so the backend listens at a sandbox address
// (10.240.1.130) and at an app address (10.240.1.2:3000): the bench runs in the private network
// namespace of test/in-netns.sh, where 10.240.0.0/16 is on loopback.
import { spawn, spawnSync } from "node:child_process";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(import.meta.url);
const { DEBIAN_MODULES, DEFAULT_LUA_DIR, parseSettings, renderNginxConf } = require("../dist/index.js");

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
// Cases are interleaved over several rounds and the median is reported: other work on the machine
// then weighs on every case alike.
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
// Linux's USER_HZ, the unit of utime and stime in /proc/<pid>/stat (getconf CLK_TCK).
const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const NGINX = process.env.NGINX_BIN ?? "/usr/sbin/nginx";
const APP_HOST = "openhands.bench.test";
const RUNTIME_DOMAIN = "runtime.bench.test";
const SLUG = "abcdefghijklmnop";
const SESSION_KEY = "bench-session-key";
const SANDBOX_IP = "10.240.1.130";
const APP_IP = "10.240.1.2";
if (process.env.OH_PROXY_TEST_NETNS !== "1") {
  console.error("run the bench through `pnpm bench` (sh test/in-netns.sh node bench/run.mjs): it needs 10.240.0.0/16 on loopback");
  process.exit(1);
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

function requireTool(bin, args) {
  const probe = spawnSync(bin, args, { encoding: "utf8" });
  if (probe.error) {
    console.error(`bench needs ${bin} (scripts/install-test-deps.sh installs it): ${probe.error.message}`);
    process.exit(1);
  }
}
requireTool("wrk", ["--version"]);
requireTool(NGINX, ["-v"]);

// Fake spawner: counts calls.
const counts = { ensure: 0, resolve: 0, activity: 0 };
const [spawnerPort, backendPort, staticPort, pairedPort, proxyPort] = await Promise.all([
  freePort(),
  freePort(),
  freePort(),
  freePort(),
  freePort(),
]);
const spawner = createServer((req, res) => {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    const send = (status, value) => {
      const text = value === undefined ? "" : JSON.stringify(value);
      res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.url.startsWith("/v1/routes/resolve")) {
      counts.resolve += 1;
      return send(200, {
        owner: SLUG,
        upstream: `http://${SANDBOX_IP}:${backendPort}`,
        kind: "agent-server",
        sessionKeySha256: createHash("sha256").update(SESSION_KEY).digest("hex"),
      });
    }
    if (req.url.includes("/ensure")) {
      counts.ensure += 1;
      return send(200, { state: "running", upstream: `http://${APP_IP}:3000` });
    }
    if (req.url === "/v1/activity") {
      counts.activity += 1;
      return send(204);
    }
    send(200, {});
  });
});
await new Promise((r) => spawner.listen(spawnerPort, "127.0.0.1", r));

const prefix = mkdtempSync(join(tmpdir(), "oh-proxy-bench-"));
chmodSync(prefix, 0o755);
const key = randomBytes(32);
writeFileSync(join(prefix, "key"), key.toString("base64url"), { mode: 0o600 });
// The backend (a fixed 200) and the static proxy_pass baselines live in the same nginx. The bare one
// sets only Host and Connection; the paired one inherits the proxy's own http-level proxy settings
// (the headers it sets and clears towards every upstream), as any static location of this nginx would.
writeFileSync(
  join(prefix, "bench.conf"),
  `
  upstream bench_static { server ${SANDBOX_IP}:${backendPort}; keepalive 64; }
  server { listen ${SANDBOX_IP}:${backendPort}; listen ${APP_IP}:3000; access_log off; location / { return 200 "ok\\n"; } }
  server {
    listen 127.0.0.1:${staticPort};
    location / { proxy_pass http://bench_static; proxy_set_header Host $http_host; proxy_set_header Connection ""; }
  }
  server {
    listen 127.0.0.1:${pairedPort};
    set $oh_upgrade "";
    set $oh_connection "";
    location / { proxy_pass http://bench_static; }
  }
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
    workerProcesses: 2,
    includes: [join(prefix, "bench.conf")],
  },
  DEFAULT_LUA_DIR,
);
writeFileSync(join(prefix, "nginx.conf"), renderNginxConf(settings));
const nginx = spawn(NGINX, ["-p", prefix, "-c", join(prefix, "nginx.conf"), "-e", join(prefix, "error.log"), "-g", "daemon off;"], {
  stdio: "inherit",
});
const stop = async () => {
  if (nginx.exitCode === null) {
    nginx.kill("SIGTERM");
    await new Promise((r) => nginx.on("exit", r));
  }
  spawner.close();
  rmSync(prefix, { recursive: true, force: true });
};
process.on("SIGINT", () => void stop().then(() => process.exit(130)));
await sleep(500);

function identity(host) {
  const exp = Math.floor(Date.now() / 1000) + 250;
  const sig = createHmac("sha256", key).update(`v1\n${host}\nbench-sub\n${SLUG}\nbench@example.com\n${exp}`).digest("base64url");
  return { "x-oh-user": "bench-sub", "x-oh-user-slug": SLUG, "x-oh-email": "bench@example.com", "x-oh-exp": String(exp), "x-oh-sig": sig };
}

// CPU time (ms) the nginx workers (proxy and backend alike) have used so far, from /proc: per request it
// is a figure that other work on the machine disturbs less than requests per second.
function workersCpuMs() {
  const children = readFileSync(`/proc/${nginx.pid}/task/${nginx.pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean);
  let ticks = 0;
  for (const pid of children) {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
  }
  return ticks * (1000 / CLOCK_TICKS);
}

// wrk runs asynchronously: the fake spawner lives in this process and must keep answering.
async function wrk(port, headers) {
  const cpuBefore = workersCpuMs();
  const args = ["-t2", `-c${CONNECTIONS}`, `-d${SECONDS}s`, "--latency"];
  for (const [name, value] of Object.entries(headers)) args.push("-H", `${name}: ${value}`);
  args.push(`http://127.0.0.1:${port}/`);
  const child = spawn("wrk", args, { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  await new Promise((r) => child.on("exit", r));
  const number = (re) => {
    const m = re.exec(out);
    return m ? m[1] : "?";
  };
  const ms = (text) => {
    const m = /^([\d.]+)(us|ms|s|m)$/.exec(text);
    return m ? Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60000 }[m[2]] : NaN;
  };
  const non2xx = Number(number(/Non-2xx or 3xx responses: (\d+)/)) || 0;
  if (process.env.BENCH_DEBUG) console.log(out);
  const requests = Number(number(/(\d+) requests in/));
  return {
    rps: Number(number(/Requests\/sec:\s+([\d.]+)/)),
    requests,
    cpuUs: ((workersCpuMs() - cpuBefore) * 1000) / requests,
    p50: ms(number(/^\s+50%\s+(\S+)/m)),
    p99: ms(number(/^\s+99%\s+(\S+)/m)),
    non2xx,
  };
}

const runtimeHost = `${backendPort}-${SLUG}.${RUNTIME_DOMAIN}`;
// Each dynamic route is paired with a static proxy_pass that gets exactly the same request (same
// headers, same size) and applies the proxy's own header settings, run right before and right after it
// in every round: "vs static" is the median over the rounds of dynamic / the mean of those two runs, so
// what it measures is the dynamic routing and the checks, and a change of load during a round weighs on
// both sides. "cpu vs static" is the same ratio for the nginx workers' CPU time per request (static /
// dynamic). "vs bare" compares with the bare static proxy_pass (Host and Connection only) of a bare
// request (Host only), run first in every round.
const dynamic = [
  ["runtime host, session key header", { Host: runtimeHost, "X-Session-API-Key": SESSION_KEY }],
  ["runtime host, signed identity", { Host: runtimeHost, ...identity(runtimeHost) }],
  ["app host, signed identity", { Host: APP_HOST, ...identity(APP_HOST) }],
];
const cases = [
  ["static proxy_pass, bare request", staticPort, { Host: runtimeHost }, null],
  ...dynamic.flatMap(([name, headers], i) => [
    ["  static, same request as next", pairedPort, headers, null],
    [name, proxyPort, headers, [3 * i + 1, 3 * i + 3]],
    ["  static, same request again", pairedPort, headers, null],
  ]),
];
await wrk(proxyPort, { Host: runtimeHost, "X-Session-API-Key": SESSION_KEY }); // warm up
const runs = cases.map(() => []);
let dynamicRequests = 0;
const before = { ...counts };
for (let round = 0; round < ROUNDS; round += 1) {
  for (const [i, [, port, headers]] of cases.entries()) {
    const r = await wrk(port, headers);
    runs[i].push(r);
    if (port === proxyPort) dynamicRequests += r.requests;
  }
}
const median = (values) => {
  const known = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return known.length ? known[Math.floor(known.length / 2)] : NaN;
};
const pairOf = (pair, round, field) => (runs[pair[0]][round][field] + runs[pair[1]][round][field]) / 2;
const results = cases.map(([name, , , pair], i) => [
  name,
  {
    pair: pair === null ? NaN : median(runs[i].map((r, round) => r.rps / pairOf(pair, round, "rps"))),
    cpu: pair === null ? NaN : median(runs[i].map((r, round) => pairOf(pair, round, "cpuUs") / r.cpuUs)),
    cpuUs: median(runs[i].map((r) => r.cpuUs)),
    bare: median(runs[i].map((r, round) => r.rps / runs[0][round].rps)),
    rps: median(runs[i].map((r) => r.rps)),
    p50: median(runs[i].map((r) => r.p50)),
    p99: median(runs[i].map((r) => r.p99)),
    non2xx: runs[i].reduce((sum, r) => sum + r.non2xx, 0),
  },
]);
await stop();

console.log(
  `\nruntime-proxy bench: wrk -t2 -c${CONNECTIONS} -d${SECONDS}s per run, median of ${ROUNDS} interleaved rounds;` +
    " nginx 2 workers; backend = nginx return 200 (same instance)\n",
);
console.log(
  "route".padEnd(36) +
    "req/s".padStart(10) +
    "p50 ms".padStart(9) +
    "p99 ms".padStart(9) +
    "vs static".padStart(11) +
    "cpu us/req".padStart(12) +
    "cpu vs static".padStart(15) +
    "vs bare".padStart(9) +
    "  non-2xx",
);
const ratio = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : "");
for (const [name, r] of results) {
  console.log(
    name.padEnd(36) +
      r.rps.toFixed(0).padStart(10) +
      r.p50.toFixed(2).padStart(9) +
      r.p99.toFixed(2).padStart(9) +
      ratio(r.pair).padStart(11) +
      r.cpuUs.toFixed(1).padStart(12) +
      ratio(r.cpu).padStart(15) +
      ratio(r.bare).padStart(9) +
      String(r.non2xx).padStart(9),
  );
}
const calls = counts.resolve - before.resolve + (counts.ensure - before.ensure);
console.log(
  `\nspawner calls during the measured dynamic runs (after a warm-up run): ${counts.resolve - before.resolve} resolve + ` +
    `${counts.ensure - before.ensure} ensure` +
    ` for ${dynamicRequests} requests = ` +
    `${((calls / Math.max(1, dynamicRequests)) * 10000).toFixed(3)} per 10,000 requests` +
    ` (route cache ${settings.routeCacheSeconds} s); activity reports: ${counts.activity}`,
);
if (results.some(([, r]) => r.non2xx > 0)) {
  console.error("some responses were not 2xx: the bench is not measuring the proxied path");
  process.exit(1);
}
