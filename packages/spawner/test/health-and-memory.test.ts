/**
 * The spawner's /healthz names each dependency (Docker engine, PostgreSQL, the Docker event stream) and answers
 * 503 when one is down; memory admission refuses an app or a sandbox whose limit no longer fits the host's budget.
 * Real engine (docker-lab, reached through the fault socket proxy that can stop answering or go away) and a
 * real PostgreSQL 15 (killed by PID, frozen with SIGSTOP).
 */
import { describeWithEngine, docker } from "@openhands-team/docker-lab";
import { startPostgres, type TestPostgres } from "../testing/postgres";
import { DockerPyClient } from "./helpers/docker-py";
import { ensureLabImages } from "./helpers/lab-images";
import { eventually, http, freezePostgres, killPostgres, restartPostgres, startFaultLab, user, type FaultLab } from "./faults/lab";

jest.setTimeout(180_000);

const healthz = async (lab: FaultLab) => {
  const answer = await http({ url: `${lab.service.apiUrl}/healthz`, timeoutMs: 30_000 });
  return { status: answer.status, body: answer.json() as { status: string; checks: Record<string, { ok: boolean; error?: string }> } };
};

describeWithEngine("spawner /healthz with its dependencies down (real engine, real PostgreSQL)", () => {
  let pg: TestPostgres;
  let lab: FaultLab;
  let postmaster: number;

  beforeAll(async () => {
    const images = await ensureLabImages();
    pg = await startPostgres();
    postmaster = pg.pid;
    lab = await startFaultLab({
      images: { app: images.app, agentServer: images.agentServer },
      pg,
      subnetPrefix: "10.246",
      timing: {
        healthTimeoutMs: 60_000,
        healthIntervalMs: 100,
        ensureWaitMs: 30_000,
        cullIntervalMs: 3_600_000,
        databaseTimeoutMs: 3_000,
        dockerTimeoutMs: 3_000,
      },
    });
  });
  afterAll(async () => {
    await lab?.close();
    if (postmaster !== pg?.pid) await killPostgres(postmaster).catch(() => undefined);
    await pg?.stop();
  });

  it("GIVEN every dependency answers THEN /healthz is 200 and names docker, database and events as ok", async () => {
    const answer = await eventually(async () => {
      const h = await healthz(lab);
      return h.status === 200 ? h : undefined;
    });
    expect(answer.body).toEqual({ status: "ok", checks: { docker: { ok: true }, database: { ok: true }, events: { ok: true } } });
  });

  it(
    "GIVEN an engine that stops answering THEN /healthz still answers, 503, naming Docker as not answering within the health bound; " +
      "once the engine answers it is 200 again",
    async () => {
      lab.proxy.set("hang");
      try {
        const answer = await eventually(async () => {
          const h = await healthz(lab);
          return h.status === 503 && h.body.checks.docker?.ok === false ? h : undefined;
        });
        expect(answer.body.status).toBe("degraded");
        expect(answer.body.checks.docker).toEqual({ ok: false, error: "no answer within 2000 ms" });
        expect(answer.body.checks.database).toEqual({ ok: true });
      } finally {
        lab.proxy.set("pass");
      }
      await eventually(async () => (await healthz(lab)).status === 200, 30_000);
    },
  );

  it(
    "GIVEN the engine gone (connections refused) THEN /healthz is 503 with Docker failing and the event stream not connected; after " +
      "it is back the stream reconnects and /healthz is 200",
    async () => {
      lab.proxy.set("down");
      try {
        const answer = await eventually(async () => {
          const h = await healthz(lab);
          return h.status === 503 && h.body.checks.events?.ok === false ? h : undefined;
        });
        expect(answer.body.checks.docker?.ok).toBe(false);
        expect(answer.body.checks.events?.error).toMatch(/event stream is not connected/);
      } finally {
        lab.proxy.set("pass");
      }
      const back = await eventually(async () => {
        const h = await healthz(lab);
        return h.status === 200 ? h : undefined;
      }, 30_000);
      expect(back.body.checks.events).toEqual({ ok: true });
    },
  );

  it(
    "GIVEN PostgreSQL frozen (SIGSTOP) THEN /healthz answers 503 naming the " +
      "database as not answering, Docker ok; after it runs again it is 200",
    async () => {
      const frozen = freezePostgres(postmaster);
      try {
        const answer = await eventually(async () => {
          const h = await healthz(lab);
          return h.status === 503 ? h : undefined;
        });
        expect(answer.body.checks.database).toEqual({ ok: false, error: "no answer within 2000 ms" });
        expect(answer.body.checks.docker).toEqual({ ok: true });
      } finally {
        frozen.resume();
      }
      await eventually(async () => (await healthz(lab)).status === 200, 30_000);
    },
  );

  it(
    "GIVEN PostgreSQL stopped (killed by PID) THEN /healthz answers 503 with " +
      "the database's error; after it is started again it is 200",
    async () => {
      await killPostgres(postmaster);
      const answer = await eventually(async () => {
        const h = await healthz(lab);
        return h.status === 503 ? h : undefined;
      });
      expect(answer.body.checks.database?.ok).toBe(false);
      expect(answer.body.checks.database?.error).toEqual(expect.any(String));
      expect(answer.body.checks.docker).toEqual({ ok: true });
      postmaster = await restartPostgres(pg);
      await eventually(async () => (await healthz(lab)).status === 200, 30_000);
    },
  );
});

describeWithEngine("memory admission with a small budget (real engine)", () => {
  let pg: TestPostgres;
  let lab: FaultLab;
  let images: { app: string; agentServer: string };
  const alice = user(711);
  const bob = user(712);

  beforeAll(async () => {
    images = await ensureLabImages();
    pg = await startPostgres();
    // apps 256 MiB, sandboxes 300 MiB (the lab's limits): room for one app and one sandbox, not for a second app next to them
    lab = await startFaultLab({
      images: { app: images.app, agentServer: images.agentServer },
      pg,
      subnetPrefix: "10.247",
      memory: { budgetMiB: 700 },
    });
  });
  afterAll(async () => {
    await lab?.close();
    await pg?.stop();
  });

  it(
    "GIVEN a 700 MiB budget WHEN one app and one sandbox run THEN a second user's app is refused with the capacity 503 naming the " +
      "memory, and a second sandbox is refused by the filter",
    async () => {
      expect((await lab.ensure(alice)).status).toBe(200);
      const asAlice = new DockerPyClient(lab.service.sandboxes.socketPathFor(alice.slug));
      await asAlice.negotiate();
      const first = await asAlice.run(`oh-sbx-${alice.slug}-m1`, DockerPyClient.sandboxBody(images.agentServer));
      expect(first.start?.status).toBe(204);
      await eventually(() => lab.service.view.all().some((c) => c.kind === "sandbox" && c.status === "running"));

      expect((await http({ url: `${lab.service.apiUrl}/v1/stats` })).json()).toEqual(
        expect.objectContaining({ memoryBudgetMiB: 700, memoryUsedMiB: 556 }),
      );
      const refused = await lab.ensure(bob);
      expect(refused.status).toBe(503);
      expect(refused.json()).toEqual({
        error: "capacity",
        message:
          "this host's memory is taken: apps and sandboxes already hold 556 MiB of its 700 MiB budget, and your OpenHands app needs " +
          "256 MiB more (memory.budgetMiB); try again when someone's idle app or conversation has been stopped",
        details: { reason: "memory" },
      });

      const second = await asAlice.run(`oh-sbx-${alice.slug}-m2`, DockerPyClient.sandboxBody(images.agentServer));
      // refused by the filter at create (dockerd never sees it: nothing left in created that could never start)
      expect(second.create.status).toBe(503);
      expect(second.create.body).toMatch(
        /this host's memory is taken: apps and sandboxes already hold 556 MiB of its 700 MiB budget, and a new sandbox needs 300 MiB more/,
      );
      expect(docker(["ps", "-aq", "--filter", `name=^/oh-sbx-${alice.slug}-m2$`]).stdout.trim()).toBe("");

      // a paused sandbox still holds its memory, and resuming it needs none more: the unpause is let through
      expect((await asAlice.call("POST", asAlice.v(`/containers/${first.id}/pause`))).status).toBe(204);
      await eventually(() => lab.service.view.all().some((c) => c.kind === "sandbox" && c.status === "paused"));
      expect((await lab.ensure(bob)).status).toBe(503);
      expect((await asAlice.call("POST", asAlice.v(`/containers/${first.id}/unpause`))).status).toBe(204);
      await eventually(() => lab.service.view.all().some((c) => c.kind === "sandbox" && c.status === "running"));

      // the first sandbox stops: its memory is free again, and bob's app starts
      expect((await asAlice.call("POST", asAlice.v(`/containers/${first.id}/stop?t=0`))).status).toBe(204);
      await eventually(() => !lab.service.view.all().some((c) => c.kind === "sandbox" && c.status === "running"));
      expect((await lab.ensure(bob)).status).toBe(200);
    },
  );
});
