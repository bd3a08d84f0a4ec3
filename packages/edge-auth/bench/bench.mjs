// Edge bench, one run, side by side: warm per-request time (valid app session: RS256 verify; runtime host: HMAC cookie),
// cold-start initialisation in fresh Node processes, and bundle sizes. Runs the built bundles (dist/), issuer on loopback.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { createHash, createHmac, createSign, generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(import.meta.url);
const WARM_REQUESTS = Number(process.env.BENCH_REQUESTS ?? 5000);
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 8);

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const ms = (n) => `${n.toFixed(3)} ms`;

function slug(sub) {
  const digest = createHash("sha256").update(`oh-user:${sub}`).digest();
  const alphabet = "abcdefghijklmnopqrstuvwxyz234567";
  let out = "", buffer = 0, bits = 0;
  for (const byte of digest) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) { out += alphabet[(buffer >>> (bits - 5)) & 31]; bits -= 5; }
  }
  return out.slice(0, 16);
}

// Issuer on loopback: the JWKS the verifier downloads once.
const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwk = { ...publicKey.export({ format: "jwk" }), kid: "bench", alg: "RS256", use: "sig" };
const jwks = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] })));
await new Promise((r) => jwks.listen(0, "127.0.0.1", r));
const issuer = `http://127.0.0.1:${jwks.address().port}`;
const config = {
  version: 1, appHost: "oh.example.test", runtimeDomain: "runtime.example.test", issuer, jwksUri: `${issuer}/jwks`,
  userPoolId: "us-east-1_Bench", clientId: "bench-client", authorizeUrl: `${issuer}/authorize`, tokenUrl: `${issuer}/token`,
  logoutUrl: `${issuer}/logout`, scopes: ["openid", "email"], sessionMaxAgeSeconds: 86400,
};
const secrets = { identitySigningKey: randomBytes(32).toString("base64url"), ticketKey: randomBytes(32).toString("base64url"), nonceKey: randomBytes(32).toString("base64url") };
const now = Math.floor(Date.now() / 1000);
const head = `${b64({ alg: "RS256", kid: "bench", typ: "JWT" })}.${b64({ sub: "bench-user", email: "b@example.test", token_use: "id", aud: "bench-client", iss: issuer, iat: now, exp: now + 3600 })}`;
const idToken = `${head}.${createSign("RSA-SHA256").update(head).sign(privateKey).toString("base64url")}`;
const runtimeHost = `40123-${slug("bench-user")}.runtime.example.test`;
const runtimeBody = b64({ h: runtimeHost, s: "bench-user", u: slug("bench-user"), e: "b@example.test", x: now + 3600 });
const runtimeCookie = `${runtimeBody}.${createHmac("sha256", Buffer.from(secrets.ticketKey, "base64url")).update(`runtime\n${runtimeBody}`).digest("base64url")}`;

const parameters = new Map([["/bench/prod/edge/config", JSON.stringify(config)], ["/bench/prod/edge/secrets", JSON.stringify(secrets)]]);
const source = { getParameters: async (names) => new Map(names.filter((n) => parameters.has(n)).map((n) => [n, parameters.get(n)])) };
const context = { functionName: "us-east-1.bench-prod-edge-viewer-request" };
const event = (host, cookie) => ({
  Records: [{ cf: { config: { eventType: "viewer-request" }, request: { clientIp: "203.0.113.1", method: "GET", uri: "/api/conversations", querystring: "", headers: {
    host: [{ key: "Host", value: host }], cookie: [{ key: "Cookie", value: cookie }], "x-oh-user": [{ key: "X-Oh-User", value: "forged" }] } } } }],
});

const viewer = require(join(root, "dist", "viewer-request", "index.js"));
const origin = require(join(root, "dist", "origin-response", "index.js"));
const handler = viewer.createViewerRequestHandlerFromParameters(source);
const headers = origin.createOriginResponseHandler({ config });

async function measure(name, make, check) {
  for (let i = 0; i < 200; i += 1) check(await make());
  const times = [];
  for (let i = 0; i < WARM_REQUESTS; i += 1) {
    const t0 = process.hrtime.bigint();
    const result = await make();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (i % 1000 === 0) check(result);
  }
  times.sort((a, b) => a - b);
  return { name, p50: percentile(times, 50), p99: percentile(times, 99) };
}

const passed = (r) => { if (r.status) throw new Error(`bench request was refused: ${r.status} ${r.body}`); };
const app = await measure("app host, valid session (RS256 ID token)", () => handler(event("oh.example.test", `__Host-oh-session=${idToken}; theme=dark`), context), passed);
const runtime = await measure("runtime host, runtime cookie (HMAC)", () => handler(event(runtimeHost, `__Host-oh-runtime=${runtimeCookie}`), context), passed);
const originEvent = () => ({ Records: [{ cf: { request: { headers: { host: [{ value: "oh.example.test" }] } }, response: { status: "200", statusDescription: "OK", headers: {} } } }] });
const originResponse = await measure("origin-response headers", () => headers(originEvent()), () => undefined);

// Cold start: a fresh process loads the bundle, builds the handler from parameters and serves the first request
// (settings load, JWKS download from loopback, first verification). The SDK load is what a real container adds to it.
const coldScript = `
const t0 = process.hrtime.bigint();
const el = () => Number(process.hrtime.bigint() - t0) / 1e6;
const m = require(${JSON.stringify(join(root, "dist", "viewer-request", "index.js"))});
const loaded = el();
const p = new Map(${JSON.stringify([...parameters])});
const h = m.createViewerRequestHandlerFromParameters({ getParameters: async (n) => new Map(n.map((k) => [k, p.get(k)])) });
const ev = ${JSON.stringify(event("oh.example.test", `__Host-oh-session=${idToken}`))};
h(ev, ${JSON.stringify(context)}).then((r) => {
  const first = el();
  if (r.status) throw new Error("cold request refused " + r.status);
  const s0 = process.hrtime.bigint();
  let sdk = NaN;
  try { require(${JSON.stringify(require.resolve("@aws-sdk/client-ssm"))}); sdk = Number(process.hrtime.bigint() - s0) / 1e6; } catch {}
  process.stdout.write(JSON.stringify({ loaded, first, sdk }));
});`;
const cold = [];
for (let i = 0; i < COLD_RUNS; i += 1) {
  // Asynchronous: the loopback JWKS server lives in this process and must keep answering.
  const { stdout } = await promisify(execFile)(process.execPath, ["-e", coldScript], { encoding: "utf8" });
  cold.push(JSON.parse(stdout));
}
const median = (key) => cold.map((c) => c[key]).sort((a, b) => a - b)[Math.floor(cold.length / 2)];
jwks.close();

const sizes = JSON.parse(readFileSync(join(root, "dist", "sizes.json"), "utf8"));
console.log(`edge-auth bench (${WARM_REQUESTS} warm requests each, ${COLD_RUNS} cold starts, Node ${process.version})`);
console.log("\nwarm, per request (in-process, the built bundle):");
for (const r of [app, runtime, originResponse]) console.log(`  ${r.name.padEnd(44)} p50 ${ms(r.p50)}   p99 ${ms(r.p99)}`);
console.log(`  ratio app session / runtime cookie          p50 ${(app.p50 / runtime.p50).toFixed(1)}x   p99 ${(app.p99 / runtime.p99).toFixed(1)}x`);
console.log("\ncold start (fresh Node process, median):");
console.log(`  load the viewer-request bundle              ${ms(median("loaded"))}`);
console.log(`  until the first request is answered         ${ms(median("first"))}  (includes settings, JWKS download on loopback, first verify)`);
console.log(`  require @aws-sdk/client-ssm (runtime adds)  ${ms(median("sdk"))}  (${(median("sdk") / median("first")).toFixed(1)}x the rest of the cold start; SSM round trips come on top)`);
console.log("\nbundle sizes (budget per function: " + `${sizes.budgetBytes} bytes, ${sizes.budgetCompressedBytes} compressed; Lambda@Edge limit 1048576 zipped):`);
for (const [fn, s] of Object.entries(sizes.functions)) console.log(`  ${fn.padEnd(16)} ${String(s.bytes).padStart(7)} bytes   ${String(s.compressedBytes).padStart(6)} compressed   ${(s.compressedBytes / 1048576 * 100).toFixed(1)}% of the limit`);
