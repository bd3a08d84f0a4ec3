/**
 * Spawner figures, measured side by side in one run on this machine:
 * - ensure for a user whose app already runs (the proxy's hot path), through the control API and in-process;
 *   with a cold start (fake engine, fake app) for comparison;
 * - route resolution lookups per second, through the control API and in-process.
 * The Docker engine and OpenHands are the contract fakes of testing/ (no Docker here). The HTTP figures
 * are taken from dist/spawner.js in its own process (as on the host, against a real PostgreSQL), so
 * that the client's work does not share the spawner's event loop.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { startPostgres } from "../testing/postgres";
import { DockerPyClient } from "../test/helpers/docker-py";
import { AGENT_IMAGE, freePort, http, startHarness, user } from "../test/helpers/harness";

const agent = new Agent({ keepAlive: true, maxSockets: 32 });
function post(url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const fmt = (ms: number) => (ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`);

async function waitFor(check: () => Promise<boolean>, what: string) {
  for (let i = 0; i < 300; i += 1) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function main() {
  const pg = await startPostgres();
  const h = await startHarness({
    config: { users: { maxRunningApps: 50, idleMinutes: 60, maxRunningSandboxes: 100, sandboxesPerUser: 3 } },
  });
  let child: ReturnType<typeof spawn> | undefined;
  try {
    // Part 1, in-process: the spawner service inside this process.
    const service = await h.startService();
    const alice = user(1);
    const cold: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const who = user(100 + i);
      const t0 = performance.now();
      await service.spawner.ensure(who.slug);
      cold.push(performance.now() - t0);
    }
    await service.spawner.ensure(alice.slug);
    const N = 3000;
    const inproc: number[] = [];
    for (let i = 0; i < N; i += 1) {
      const t0 = performance.now();
      await service.spawner.ensure(alice.slug);
      inproc.push(performance.now() - t0);
    }
    const docker = new DockerPyClient(service.sandboxes.socketPathFor(alice.slug));
    await docker.negotiate();
    await docker.run(`oh-sbx-${alice.slug}-bench`, DockerPyClient.sandboxBody(AGENT_IMAGE));
    const port = h.engine.find(`oh-sbx-${alice.slug}-bench`)!.NetworkSettings.Ports["8000/tcp"]![0]!.HostPort;
    const host = `${port}-${alice.slug}.runtime.example.com`;
    await waitFor(async () => Boolean(service.spawner.resolveHost(host)), "the route");
    const M = 1_000_000;
    const t1 = performance.now();
    for (let i = 0; i < M; i += 1) if (!service.spawner.resolveHost(host)) throw new Error("route lost");
    const inprocRate = M / ((performance.now() - t1) / 1000);
    await h.stopService();

    // Part 2, over HTTP: dist/spawner.js in its own process picks up the same running apps.
    const apiPort = await freePort();
    const c = h.config;
    const file = join(h.dir, "bench-spawner.json");
    writeFileSync(
      file,
      JSON.stringify({
        appHost: c.appHost,
        runtimeDomain: c.runtimeDomain,
        region: c.region,
        eventsBucket: c.eventsBucket,
        api: { host: "127.0.0.1", port: apiPort },
        docker: c.docker,
        images: c.images,
        network: c.network,
        paths: c.paths,
        database: { host: pg.host, port: pg.port, adminUser: pg.user, adminPassword: pg.password },
        secrets: { dbPasswordKey: "k", openhandsJwtSecret: "j", llmGatewayKey: "sk-gateway-master-key-l" },
        llm: { model: "m" },
        logLevel: "warn",
        users: { maxRunningApps: 50, idleMinutes: 60, maxRunningSandboxes: 100, sandboxesPerUser: 3 },
      }),
    );
    // build/bench.mjs runs this bundle from a temporary folder and names the package folder.
    const bundle = join(process.env.SPAWNER_PACKAGE_DIR ?? process.cwd(), "dist", "spawner.js");
    child = spawn(process.execPath, [bundle, "--config", file], { stdio: "ignore" });
    const api = `http://127.0.0.1:${apiPort}`;
    await waitFor(
      async () => (await http({ url: `${api}/v1/routes/resolve?host=${host}` })).status === 200,
      "dist/spawner.js and its view",
    );
    const body = JSON.stringify({ sub: alice.sub, email: "a@example.com" });
    const ensureUrl = `${api}/v1/users/${alice.slug}/ensure`;
    await waitFor(async () => (await post(ensureUrl, body)) === 200, "the running app");
    for (let i = 0; i < 300; i += 1) await post(ensureUrl, body); // warm-up
    const hot: number[] = [];
    for (let i = 0; i < N; i += 1) {
      const t0 = performance.now();
      await post(ensureUrl, body);
      hot.push(performance.now() - t0);
    }
    const resolveUrl = `${api}/v1/routes/resolve?host=${host}`;
    const R = 20_000;
    const concurrency = 8;
    let issued = 0;
    const t2 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (issued < R) {
          issued += 1;
          const status = await get(resolveUrl);
          if (status !== 200) throw new Error(`resolve answered ${status}`);
        }
      }),
    );
    const httpRate = R / ((performance.now() - t2) / 1000);

    // Floor of the same loop: a bare Node HTTP server in its own process answering a small JSON body.
    const basePort = await freePort();
    const bare = spawn(
      process.execPath,
      [
        "-e",
        `require("http").createServer((q, s) => { s.writeHead(200, {"content-type": "application/json"}); s.end('{"owner":"x"}'); ` +
          `}).listen(${basePort}, "127.0.0.1")`,
      ],
      { stdio: "ignore" },
    );
    let baseRate = 0;
    try {
      const baseUrl = `http://127.0.0.1:${basePort}/`;
      await waitFor(async () => (await get(baseUrl)) === 200, "the bare server");
      let sent = 0;
      const t3 = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (sent < R) {
            sent += 1;
            await get(baseUrl);
          }
        }),
      );
      baseRate = R / ((performance.now() - t3) / 1000);
    } finally {
      bare.kill("SIGTERM");
    }

    for (const list of [cold, hot, inproc]) list.sort((a, b) => a - b);
    const lines = [
      "spawner bench (fake Docker engine and fake OpenHands on loopback; one run, side by side)",
      `  cold ensure (new user, full start, in-process)   p50 ${fmt(quantile(cold, 0.5))}   max ${fmt(cold[cold.length - 1]!)}   ` +
        `(n=${cold.length})`,
      `  ensure, app already running, HTTP API            p50 ${fmt(quantile(hot, 0.5))}   p99 ${fmt(quantile(hot, 0.99))}   ` +
        `(n=${N}, sequential, keep-alive, dist/spawner.js)`,
      `  ensure, app already running, in-process          p50 ` +
        `${fmt(quantile(inproc, 0.5))}   p99 ${fmt(quantile(inproc, 0.99))}   (n=${N})`,
      `  resolve, HTTP API                                ${Math.round(httpRate).toLocaleString("en")} lookups/s   (n=${R}, ` +
        `${concurrency} concurrent, keep-alive, dist/spawner.js)`,
      `  bare Node HTTP server, same client loop          ${Math.round(baseRate).toLocaleString("en")} requests/s   (the floor of ` +
        `the figure above)`,
      `  resolve, in-process                              ${Math.round(inprocRate).toLocaleString("en")} lookups/s   (n=${M})`,
      `  ratio HTTP resolve / bare Node HTTP              ${(httpRate / baseRate).toFixed(2)}`,
      `  ratio cold / hot ensure over HTTP (p50)          ${(quantile(cold, 0.5) / quantile(hot, 0.5)).toFixed(0)}x`,
      `  ratio in-process / HTTP resolve                  ${(inprocRate / httpRate).toFixed(0)}x`,
    ];
    console.log(lines.join("\n"));
  } finally {
    agent.destroy();
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    await h.close();
    await pg.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
