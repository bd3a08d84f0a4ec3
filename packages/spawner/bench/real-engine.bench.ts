/**
 * Spawner figures on a REAL Docker engine (run under `docker-lab run`, as build/bench.mjs does):
 * - stand-in images ready in a fresh engine (base import from the cached root filesystem, two small builds);
 * - ensure to healthy for a new user (network, folders, create, start, health, settings seeding);
 * - ensure of a user whose app was culled (start of the stopped container, health, settings check);
 * - a sandbox ready through the filtered API (create, inspect, start, its /health on the gateway port);
 * - Docker API calls the spawner makes per ensure, counted by a unix-socket proxy in front of dockerd.
 * The engine's own start is printed by docker-lab ("dockerd ... ready in N ms").
 */
import { performance } from "node:perf_hooks";
import { labEngine } from "@openhands-team/docker-lab";
import { DockerPyClient } from "../test/helpers/docker-py";
import { http, user } from "../test/helpers/harness";
import { ensureLabImages } from "../test/helpers/lab-images";
import { startLabSpawner } from "../test/helpers/lab-spawner";

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main() {
  const engine = labEngine();
  if (!engine) throw new Error("run under docker-lab (pnpm --filter @openhands-team/spawner bench does)");
  let t = performance.now();
  const images = await ensureLabImages();
  const imagesMs = performance.now() - t;
  const lab = await startLabSpawner({ app: images.app, agentServer: images.agentServer });
  // Every request that reaches dockerd, by "METHOD /path" (ids and names folded).
  const counts = () => {
    const out = new Map<string, number>();
    for (const call of lab.calls) {
      const path = call.path
        .replace(/\/containers\/(?!create$|json$)[^/]+/, "/containers/{ref}")
        .replace(/\/networks\/(?!create$)[^/]+/, "/networks/{ref}");
      const key = `${call.method} ${path}`;
      out.set(key, (out.get(key) ?? 0) + 1);
    }
    return out;
  };
  const lines: string[] = [];
  try {
    const ensure = (who: { sub: string; slug: string }) =>
      http({ url: `${lab.service.apiUrl}/v1/users/${who.slug}/ensure`, method: "POST", body: { sub: who.sub } });
    const cold: number[] = [];
    const callsPerCold: number[] = [];
    let last = new Map<string, number>();
    const snapshot = () => counts();
    const diff = (before: Map<string, number>) => [...counts()].reduce((sum, [key, n]) => sum + n - (before.get(key) ?? 0), 0);
    const detail = (before: Map<string, number>) =>
      [...counts()]
        .map(([key, n]) => [key, n - (before.get(key) ?? 0)] as const)
        .filter(([, n]) => n > 0)
        .map(([key, n]) => `${key} ×${n}`)
        .join(", ");
    let coldDetail = "";
    for (let i = 0; i < 3; i += 1) {
      const who = user(900 + i);
      last = snapshot();
      t = performance.now();
      const res = await ensure(who);
      if (res.status !== 200) throw new Error(`ensure: ${res.status} ${res.body}`);
      cold.push(performance.now() - t);
      callsPerCold.push(diff(last));
      coldDetail = detail(last);
    }
    const alice = user(900);
    last = snapshot();
    for (let i = 0; i < 100; i += 1) await ensure(alice);
    const hotCalls = diff(last) / 100;

    const warm: number[] = [];
    let warmCalls = 0;
    for (let i = 0; i < 3; i += 1) {
      await lab.service.spawner.cull(alice.slug, "bench");
      last = snapshot();
      t = performance.now();
      const res = await ensure(alice);
      if (res.status !== 200) throw new Error(`ensure after cull: ${res.status}`);
      warm.push(performance.now() - t);
      warmCalls = diff(last);
    }

    const docker = new DockerPyClient(lab.service.sandboxes.socketPathFor(alice.slug));
    await docker.negotiate();
    const sandbox: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      t = performance.now();
      const run = await docker.run(`oh-sbx-${alice.slug}-bench${i}`, DockerPyClient.sandboxBody(images.agentServer));
      if (run.start?.status !== 204) throw new Error(`sandbox start: ${run.start?.status} ${run.create.body}`);
      const inspect = (await docker.call("GET", docker.v(`/containers/${run.id}/json`))).json();
      const port = inspect.NetworkSettings.Ports["8000/tcp"][0];
      for (;;) {
        const health = await http({ url: `http://${port.HostIp}:${port.HostPort}/health` }).catch(() => undefined);
        if (health?.status === 200) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      sandbox.push(performance.now() - t);
    }

    lines.push(
      "| figure | value |",
      "|---|---|",
      `| stand-in images ready in a fresh engine (Node base imported from the cached root filesystem, app and agent-server ` +
        `stand-ins built) | ${imagesMs.toFixed(0)} ms |`,
      `| ensure to healthy, new user (real engine; median of ${cold.length}) | ${median(cold).toFixed(0)} ms ` +
        `(${cold.map((v) => v.toFixed(0)).join(", ")}) |`,
      `| ensure to healthy, culled user (start of the stopped app; median of ${warm.length}) | ${median(warm).toFixed(0)} ms |`,
      `| sandbox ready through the filter (create, inspect, start, /health on the gateway port; median of ${sandbox.length}) | ` +
        `${median(sandbox).toFixed(0)} ms |`,
      `| Docker API calls per ensure, new user | ${callsPerCold.join(", ")} (last: ${coldDetail}) |`,
      `| Docker API calls per ensure, culled user | ${warmCalls} |`,
      `| Docker API calls per ensure, app running | ${hotCalls} |`,
    );
    console.log(lines.join("\n"));
  } finally {
    await lab.close();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
