/**
 * Load figures on a REAL Docker engine and a real PostgreSQL 15 (run under `docker-lab run`, as build/bench.mjs does):
 * - N new users ensured at once over the control API, each polling as the starting page does (202 → ensure again),
 *   and the time until all are ready; the next user beyond users.maxRunningApps and how fast the 503 comes;
 * - steady state: ensure of a running user and route resolution over the control API (sequential, p50/p99);
 * - the spawner's open files before and after.
 * BENCH_USERS sets N (default 10). Figures only, no assertions.
 */
import { performance } from "node:perf_hooks";
import { labEngine } from "@openhands-team/docker-lab";
import { startPostgres } from "../testing/postgres";
import { ensureLabImages } from "../test/helpers/lab-images";
import { http, openFds, startFaultLab, user } from "../test/faults/lab";

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;

async function main() {
  if (!labEngine()) throw new Error("run under docker-lab (pnpm --filter @openhands-team/spawner bench does)");
  const n = Number(process.env.BENCH_USERS ?? 10);
  const images = await ensureLabImages();
  const pg = await startPostgres();
  const lab = await startFaultLab({
    images: { app: images.app, agentServer: images.agentServer },
    pg,
    subnetPrefix: "10.245",
    users: { maxRunningApps: n },
    timing: {
      healthTimeoutMs: 120_000,
      healthIntervalMs: 200,
      ensureWaitMs: 2_000,
      cullIntervalMs: 3_600_000,
      databaseTimeoutMs: 10_000,
      dockerTimeoutMs: 30_000,
    },
  });
  const lines: string[] = [];
  try {
    const fdsBefore = openFds();
    const users = Array.from({ length: n }, (_, i) => user(9_100 + i));
    const ready: number[] = [];
    let accepted = 0;
    const t0 = performance.now();
    await Promise.all(
      users.map(async (who) => {
        for (;;) {
          const answer = await lab.ensure(who);
          if (answer.status === 202) {
            accepted += 1;
            await new Promise((r) => setTimeout(r, 500));
            continue;
          }
          if (answer.status !== 200) throw new Error(`ensure ${who.slug}: ${answer.status} ${answer.body}`);
          ready.push(performance.now() - t0);
          return;
        }
      }),
    );
    const allReady = performance.now() - t0;
    const extra = user(9_999);
    let t = performance.now();
    const refused = await lab.ensure(extra);
    const refusedMs = performance.now() - t;

    const ensureMs: number[] = [];
    for (let i = 0; i < 500; i += 1) {
      t = performance.now();
      await lab.ensure(users[i % n]!);
      ensureMs.push(performance.now() - t);
    }
    const resolveMs: number[] = [];
    for (let i = 0; i < 500; i += 1) {
      t = performance.now();
      await http({ url: `${lab.service.apiUrl}/v1/routes/resolve?host=8000-${users[i % n]!.slug}.runtime.example.com` });
      resolveMs.push(performance.now() - t);
    }
    const fdsAfter = openFds();
    lines.push(
      "| figure | value |",
      "|---|---|",
      `| users ensured at once (real engine, real PostgreSQL, each polling every 0.5 s after a 202) | ${n} |`,
      `| time until all ${n} were ready | ${(allReady / 1000).toFixed(1)} s (first ${(percentile(ready, 0) / 1000).toFixed(1)} s, ` +
        `median ${(percentile(ready, 0.5) / 1000).toFixed(1)} s) |`,
      `| 202 answers while starting | ${accepted} |`,
      `| user ${n + 1} (users.maxRunningApps = ${n}) | ${refused.status} in ${refusedMs.toFixed(1)} ms |`,
      `| ensure, app running, control API (500 sequential, one connection each) | p50 ${percentile(ensureMs, 0.5).toFixed(2)} ms, ` +
        `p99 ${percentile(ensureMs, 0.99).toFixed(2)} ms |`,
      `| resolve, control API (500 sequential) | p50 ${percentile(resolveMs, 0.5).toFixed(2)} ms, p99 ` +
        `${percentile(resolveMs, 0.99).toFixed(2)} ms |`,
      `| spawner's open files (this process) before / after | ${fdsBefore} / ${fdsAfter} |`,
    );
    console.log(lines.join("\n"));
  } finally {
    await lab.close();
    await pg.stop();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
