/**
 * Spawner figures, measured side by side in one run on this machine:
 * - ensure for a user whose app already runs (the proxy's hot path), through the control API and in-process;
 *   with a cold start (fake engine, fake app) for comparison;
 * - route resolution lookups per second, through the control API and in-process.
 * The Docker engine and OpenHands are the contract fakes of testing/ (no Docker here).
 */
import { performance } from "node:perf_hooks";
import { Agent, request } from "node:http";
import { DockerPyClient } from "../test/helpers/docker-py";
import { AGENT_IMAGE, http, startHarness, user } from "../test/helpers/harness";

const agent = new Agent({ keepAlive: true, maxSockets: 32 });
function post(url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
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

async function main() {
  const h = await startHarness({ config: { users: { maxRunningApps: 50, idleMinutes: 60, maxRunningSandboxes: 100, sandboxesPerUser: 3 } } });
  const service = await h.startService();
  try {
    const alice = user(1);
    const body = JSON.stringify({ sub: alice.sub, email: "a@example.com" });
    const ensureUrl = `${service.apiUrl}/v1/users/${alice.slug}/ensure`;

    // Cold starts (network, directories, create, start, health, seeding) for five users, for scale.
    const cold: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const who = user(100 + i);
      const t0 = performance.now();
      const status = await post(`${service.apiUrl}/v1/users/${who.slug}/ensure`, JSON.stringify({ sub: who.sub }));
      cold.push(performance.now() - t0);
      if (status !== 200) throw new Error(`cold ensure answered ${status}`);
    }
    await post(ensureUrl, body);

    const N = 3000;
    for (let i = 0; i < 200; i += 1) await post(ensureUrl, body); // warm-up
    const hot: number[] = [];
    for (let i = 0; i < N; i += 1) {
      const t0 = performance.now();
      await post(ensureUrl, body);
      hot.push(performance.now() - t0);
    }
    hot.sort((a, b) => a - b);
    const inproc: number[] = [];
    for (let i = 0; i < N; i += 1) {
      const t0 = performance.now();
      await service.spawner.ensure(alice.slug);
      inproc.push(performance.now() - t0);
    }
    inproc.sort((a, b) => a - b);

    // A sandbox to resolve.
    const docker = new DockerPyClient(service.sandboxes.socketPathFor(alice.slug));
    await docker.negotiate();
    await docker.run(`oh-sbx-${alice.slug}-bench`, DockerPyClient.sandboxBody(AGENT_IMAGE));
    const port = h.engine.find(`oh-sbx-${alice.slug}-bench`)!.NetworkSettings.Ports["8000/tcp"]![0]!.HostPort;
    const host = `${port}-${alice.slug}.runtime.example.com`;
    for (let i = 0; i < 100 && (await http({ url: `${service.apiUrl}/v1/routes/resolve?host=${host}` })).status !== 200; i += 1) await new Promise((r) => setTimeout(r, 20));
    const resolveUrl = `${service.apiUrl}/v1/routes/resolve?host=${host}`;
    const R = 20_000;
    const concurrency = 16;
    let done = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (done < R) {
          done += 1;
          const status = await get(resolveUrl);
          if (status !== 200) throw new Error(`resolve answered ${status}`);
        }
      }),
    );
    const httpRate = R / ((performance.now() - t0) / 1000);
    const M = 1_000_000;
    const t1 = performance.now();
    for (let i = 0; i < M; i += 1) if (!service.spawner.resolveHost(host)) throw new Error("route lost");
    const inprocRate = M / ((performance.now() - t1) / 1000);

    cold.sort((a, b) => a - b);
    const lines = [
      "spawner bench (fake Docker engine and fake OpenHands on loopback; one run, side by side)",
      `  cold ensure (new user, full start)        p50 ${fmt(quantile(cold, 0.5))}   max ${fmt(cold[cold.length - 1]!)}   (n=${cold.length})`,
      `  ensure, app already running, HTTP API      p50 ${fmt(quantile(hot, 0.5))}   p99 ${fmt(quantile(hot, 0.99))}   (n=${N}, sequential, keep-alive)`,
      `  ensure, app already running, in-process    p50 ${fmt(quantile(inproc, 0.5))}   p99 ${fmt(quantile(inproc, 0.99))}   (n=${N})`,
      `  resolve, HTTP API                          ${Math.round(httpRate).toLocaleString("en")} lookups/s   (n=${R}, ${concurrency} concurrent, keep-alive)`,
      `  resolve, in-process                        ${Math.round(inprocRate).toLocaleString("en")} lookups/s   (n=${M})`,
      `  ratio cold / hot ensure (p50)              ${(quantile(cold, 0.5) / quantile(hot, 0.5)).toFixed(0)}x`,
      `  ratio in-process / HTTP resolve            ${(inprocRate / httpRate).toFixed(0)}x`,
    ];
    console.log(lines.join("\n"));
  } finally {
    agent.destroy();
    await h.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
