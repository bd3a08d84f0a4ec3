// Edge bench, one run, side by side. Runs the built bundles (dist/) against loopback stand-ins for SSM (harness/ssm-stand-in.ts,
// the same contract fake the tests use) and for the issuer's JWKS.
//   warm:  the viewer-request handler with a valid RS256 session, interleaved with a bare RS256 verify (node:crypto, key parsed
//          once): the ratio is what the handler adds around the signature check. Also the runtime-host (HMAC) and
//          origin-response paths.
//   cold:  a fresh Node process per sample loads the bundle and answers one request with a valid session through the Lambda
//          `handler` (credentials and the SSM endpoint from the environment, as the runtime gives them). Both stand-ins wait
//          COLD_DELAY_MS before each answer, so the time the process spends waiting is a multiple of it: the round trips.
//          module load = require of the bundle; waiting = the first request's time with the event loop idle
//          (performance.eventLoopUtilization); the busy rest is split into the SSM call's own CPU (signing, HTTP client) and
//          initialisation (parsing and validating the parameters, the gate, the verifier, the first verification).
import { execFile } from "node:child_process";
import { createHash, createHmac, createSign, createVerify, generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const WARM_REQUESTS = Number(process.env.BENCH_REQUESTS ?? 5000);
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 8);
const COLD_DELAY_MS = Number(process.env.BENCH_COLD_DELAY_MS ?? 50);

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const ms = (n) => `${n.toFixed(3)} ms`.padStart(11);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function slug(sub) {
  const digest = createHash("sha256").update(`oh-user:${sub}`).digest();
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let out = "",
    buffer = 0,
    bits = 0;
  for (const byte of digest) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.slice(0, 16);
}

// The SSM stand-in is TypeScript; the bench compiles it with the package's esbuild.
async function loadSsmStandIn() {
  const { transformSync } = require("esbuild");
  const source = readFileSync(join(root, "harness", "ssm-stand-in.ts"), "utf8");
  const { code } = transformSync(source, { loader: "ts", format: "cjs", target: "node20" });
  const module = { exports: {} };
  new Function("require", "module", "exports", code)(require, module, module.exports);
  return module.exports.startSsmStandIn;
}

// Issuer on loopback: its JWKS, answered after `jwksDelay` ms; `jwksRequests` counts downloads.
const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwk = { ...publicKey.export({ format: "jwk" }), kid: "bench", alg: "RS256", use: "sig" };
let jwksDelay = 0;
let jwksRequests = 0;
const jwksServer = createServer((_req, res) => {
  jwksRequests += 1;
  setTimeout(() => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] })), jwksDelay);
});
await new Promise((r) => jwksServer.listen(0, "127.0.0.1", r));
const issuer = `http://127.0.0.1:${jwksServer.address().port}`;
const config = {
  version: 1,
  appHost: "oh.example.test",
  runtimeDomain: "runtime.example.test",
  issuer,
  jwksUri: `${issuer}/jwks`,
  userPoolId: "us-east-1_Bench",
  clientId: "bench-client",
  authorizeUrl: `${issuer}/authorize`,
  tokenUrl: `${issuer}/token`,
  logoutUrl: `${issuer}/logout`,
  scopes: ["openid", "email"],
  sessionMaxAgeSeconds: 86400,
};
const keys = {
  identitySigningKey: randomBytes(32).toString("base64url"),
  ticketKey: randomBytes(32).toString("base64url"),
  nonceKey: randomBytes(32).toString("base64url"),
};
// What the host writes (packages/bootstrap-scripts, 50-secrets.sh): the keys and the issuer's JWKS with its URI.
const secretsWithJwks = { ...keys, jwksUri: config.jwksUri, jwks: { keys: [jwk] } };
const now = Math.floor(Date.now() / 1000);
const head =
  `${b64({ alg: "RS256", kid: "bench", typ: "JWT" })}.` +
  `${b64({ sub: "bench-user", email: "b@example.test", token_use: "id", aud: "bench-client", iss: issuer, iat: now, exp: now + 3600 })}`;
const signature = createSign("RSA-SHA256").update(head).sign(privateKey);
const idToken = `${head}.${signature.toString("base64url")}`;
const runtimeHost = `40123-${slug("bench-user")}.runtime.example.test`;
const runtimeBody = b64({ h: runtimeHost, s: "bench-user", u: slug("bench-user"), e: "b@example.test", x: now + 3600 });
const runtimeCookie =
  `${runtimeBody}.` +
  `${createHmac("sha256", Buffer.from(keys.ticketKey, "base64url")).update(`runtime\n${runtimeBody}`).digest("base64url")}`;

const startSsmStandIn = await loadSsmStandIn();
const ssm = await startSsmStandIn();
const CONFIG = "/bench/prod/edge/config";
const SECRETS = "/bench/prod/edge/secrets";
ssm.put(CONFIG, JSON.stringify(config));
ssm.put(SECRETS, JSON.stringify(secretsWithJwks), "SecureString");
const context = { functionName: "us-east-1.bench-prod-edge-viewer-request" };
const event = (host, cookie) => ({
  Records: [
    {
      cf: {
        config: { eventType: "viewer-request" },
        request: {
          clientIp: "203.0.113.1",
          method: "GET",
          uri: "/api/conversations",
          querystring: "",
          headers: {
            host: [{ key: "Host", value: host }],
            cookie: [{ key: "Cookie", value: cookie }],
            "x-oh-user": [{ key: "X-Oh-User", value: "forged" }],
          },
        },
      },
    },
  ],
});

const viewer = require(join(root, "dist", "viewer-request", "index.js"));
const origin = require(join(root, "dist", "origin-response", "index.js"));
const handler = viewer.createViewerRequestHandlerFromParameters(viewer.ssmParameterSource({ env: ssm.env }));
const headers = origin.createOriginResponseHandler({ config });

const passed = (r) => {
  if (r.status) throw new Error(`bench request was refused: ${r.status} ${r.body}`);
};
const timed = async (fn) => {
  const t0 = process.hrtime.bigint();
  const result = await fn();
  return [Number(process.hrtime.bigint() - t0) / 1e6, result];
};
const summary = (name, times) => {
  const sorted = [...times].sort((a, b) => a - b);
  return { name, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
};

// Warm: the handler and a bare RS256 verify (key parsed once), interleaved, alternating which goes first.
const appEvent = () => event("oh.example.test", `__Host-oh-session=${idToken}; theme=dark`);
const bareVerify = () => createVerify("RSA-SHA256").update(head).verify(publicKey, signature);
for (let i = 0; i < 200; i += 1) {
  passed(await handler(appEvent(), context));
  if (!bareVerify()) throw new Error("bare verify failed");
}
const handlerTimes = [],
  verifyTimes = [];
for (let i = 0; i < WARM_REQUESTS; i += 1) {
  const pair = [
    async () => handlerTimes.push((await timed(() => handler(appEvent(), context)))[0]),
    async () => verifyTimes.push((await timed(async () => bareVerify()))[0]),
  ];
  if (i % 2) pair.reverse();
  for (const step of pair) await step();
}
const app = summary("app host, valid session (RS256 ID token)", handlerTimes);
const bare = summary("bare RS256 verify, pre-parsed key (node:crypto)", verifyTimes);
passed(await handler(appEvent(), context));

async function warm(name, make, check) {
  const times = [];
  for (let i = 0; i < WARM_REQUESTS; i += 1) {
    const [t, result] = await timed(make);
    times.push(t);
    if (i % 1000 === 0) check(result);
  }
  return summary(name, times);
}
const runtime = await warm(
  "runtime host, runtime cookie (HMAC)",
  () => handler(event(runtimeHost, `__Host-oh-runtime=${runtimeCookie}`), context),
  passed,
);
const originEvent = () => ({
  Records: [
    {
      cf: {
        request: { headers: { host: [{ value: "oh.example.test" }] } },
        response: { status: "200", statusDescription: "OK", headers: {} },
      },
    },
  ],
});
const originResponse = await warm(
  "origin-response headers",
  () => headers(originEvent()),
  () => undefined,
);

// Cold: a fresh process per sample, the Lambda `handler`, stand-ins answering after COLD_DELAY_MS.
// The child builds the handler exactly as the bundle's `handler` export does (createViewerRequestHandlerFromParameters over
// ssmParameterSource(), credentials and endpoint from the environment), with the parameter source wrapped to see how much of the
// busy time is the SSM request itself (signing, the HTTP client).
const coldScript = `
const t0 = process.hrtime.bigint();
const since = (t) => Number(process.hrtime.bigint() - t) / 1e6;
const m = require(${JSON.stringify(join(root, "dist", "viewer-request", "index.js"))});
const load = since(t0);
setImmediate(() => {
  const { performance } = require("node:perf_hooks");
  const ssm = m.ssmParameterSource();
  let fetchBusy = 0;
  const source = { async getParameters(names) {
    const e0 = performance.eventLoopUtilization();
    try { return await ssm.getParameters(names); } finally { fetchBusy += performance.eventLoopUtilization(e0).active; }
  } };
  const handler = m.createViewerRequestHandlerFromParameters(source);
  const e0 = performance.eventLoopUtilization();
  const t1 = process.hrtime.bigint();
  handler(${JSON.stringify(event("oh.example.test", `__Host-oh-session=${idToken}`))}, ${JSON.stringify(context)}).then((r) => {
    const first = since(t1);
    const elu = performance.eventLoopUtilization(e0);
    if (r.status) throw new Error("cold request refused " + r.status + " " + r.body);
    const undici = process.moduleLoadList.some((n) => n.includes("undici"));
    const sdk = Object.keys(require.cache).some((k) => k.includes("@aws-sdk"));
    const init = first - elu.idle - fetchBusy;
    process.stdout.write(JSON.stringify({ load, first, waiting: elu.idle, fetch: fetchBusy, init, undici, sdk }));
  });
});`;
async function coldStarts(secrets) {
  ssm.put(SECRETS, JSON.stringify(secrets), "SecureString");
  ssm.delayMs = COLD_DELAY_MS;
  jwksDelay = COLD_DELAY_MS;
  const samples = [];
  for (let i = 0; i < COLD_RUNS; i += 1) {
    const before = { ssm: ssm.requests.length, jwks: jwksRequests };
    // Asynchronous: the stand-ins live in this process and must keep answering.
    const { stdout } = await promisify(execFile)(process.execPath, ["-e", coldScript], {
      encoding: "utf8",
      env: { ...process.env, ...ssm.env },
    });
    samples.push({ ...JSON.parse(stdout), ssmCalls: ssm.requests.length - before.ssm, jwksCalls: jwksRequests - before.jwks });
  }
  ssm.delayMs = 0;
  jwksDelay = 0;
  const pick = (key) => median(samples.map((s) => s[key]));
  return {
    load: pick("load"),
    init: pick("init"),
    fetch: pick("fetch"),
    waiting: pick("waiting"),
    first: pick("first"),
    ssmCalls: pick("ssmCalls"),
    jwksCalls: pick("jwksCalls"),
    undici: samples.some((s) => s.undici),
    sdk: samples.some((s) => s.sdk),
  };
}
const withJwks = await coldStarts(secretsWithJwks);
const withoutJwks = await coldStarts(keys);

// For comparison only: what the former design required on the first request (the SDK's SSM client, from the runtime).
const sdkLoads = [];
for (let i = 0; i < Math.min(COLD_RUNS, 5); i += 1) {
  const script =
    `const t=process.hrtime.bigint(); require(${JSON.stringify(require.resolve("@aws-sdk/client-ssm"))}); ` +
    `process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6));`;
  sdkLoads.push(Number((await promisify(execFile)(process.execPath, ["-e", script], { encoding: "utf8" })).stdout));
}

jwksServer.close();
await ssm.close();

const sizes = JSON.parse(readFileSync(join(root, "dist", "sizes.json"), "utf8"));
console.log(
  `edge-auth bench (${WARM_REQUESTS} warm requests each, ${COLD_RUNS} cold starts per row, stand-in delay ${COLD_DELAY_MS} ms, ` +
    `Node ${process.version})`,
);
console.log("\nwarm, per request (in-process, the built bundle; the first two interleaved):");
for (const r of [app, bare, runtime, originResponse]) console.log(`  ${r.name.padEnd(48)} p50 ${ms(r.p50)}   p99 ${ms(r.p99)}`);
console.log(
  `  ratio handler / bare verify                      p50 ${(app.p50 / bare.p50).toFixed(2)}x        p99 ` +
    `${(app.p99 / bare.p99).toFixed(2)}x   (goal <= 2x)`,
);
console.log(
  `\ncold start (fresh Node process per sample, Lambda handler, median; SSM and JWKS stand-ins answer after ${COLD_DELAY_MS} ms):`,
);
for (const [label, c] of [
  ["secrets with the issuer's JWKS (as the host writes them)", withJwks],
  ["secrets without a JWKS (library download)", withoutJwks],
]) {
  console.log(`  ${label}:`);
  console.log(`    module load                                  ${ms(c.load)}`);
  console.log(`    initialisation (busy, besides the SSM call)  ${ms(c.init)}   (goal <= 10 ms)`);
  console.log(`    the SSM call's own CPU (SigV4, HTTP client)  ${ms(c.fetch)}`);
  console.log(
    `    waiting (event loop idle)                    ${ms(c.waiting)}   = ${(c.waiting / COLD_DELAY_MS).toFixed(2)} x ` +
      `${COLD_DELAY_MS} ms -> ${Math.round(c.waiting / COLD_DELAY_MS)} round trip(s) in a row`,
  );
  console.log(`    first answer after the load                  ${ms(c.first)}`);
  console.log(
    `    requests seen by the stand-ins               SSM ${c.ssmCalls}, JWKS ${c.jwksCalls};  AWS SDK loaded: ` +
      `${c.sdk ? "YES" : "no"};  undici loaded: ${c.undici ? "YES" : "no"}`,
  );
}
console.log(`  for comparison, require @aws-sdk/client-ssm (the former design loaded it first)  ${ms(median(sdkLoads))}`);
console.log(
  `\nbundle sizes (budget per function: ${sizes.budgetBytes} bytes, ${sizes.budgetCompressedBytes} compressed; Lambda@Edge limit ` +
    `1048576 zipped):`,
);
for (const [fn, s] of Object.entries(sizes.functions))
  console.log(
    `  ${fn.padEnd(16)} ${String(s.bytes).padStart(7)} bytes   ${String(s.compressedBytes).padStart(6)} compressed   ` +
      `${((s.compressedBytes / 1048576) * 100).toFixed(1)}% of the limit`,
  );
