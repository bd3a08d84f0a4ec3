/**
 * A hung Docker engine, a hung PostgreSQL and missed Docker events, against the real engine (docker-lab) and a
 * real PostgreSQL 15. The engine is reached through a socket proxy that can stop answering or go away (stopping
 * the lab's dockerd would take the engine from every other test); PostgreSQL is frozen with SIGSTOP.
 * A user on the starting page polls ensure: while the start goes on it answers 202, and a failed start is
 * answered once with a 502 saying what failed; the ensure after that tries again.
 */
import { docker, describeWithEngine } from "@openhands-team/docker-lab";
import { startPostgres, type TestPostgres } from "../testing/postgres";
import { ensureLabImages } from "./helpers/lab-images";
import { eventually, freezePostgres, http, startFaultLab, user, type FaultLab, type HttpResult } from "./faults/lab";

jest.setTimeout(180_000);

describeWithEngine("spawner with a hung engine, a hung database and missed events (real engine, real PostgreSQL)", () => {
  let pg: TestPostgres;
  let lab: FaultLab;
  const bob = user(601);

  /** Polls ensure as the starting page does, until the answer is not 202. */
  const pollEnsure = async (who: { sub: string; slug: string }): Promise<HttpResult> => {
    const until = Date.now() + 90_000;
    for (;;) {
      const answer = await lab.ensure(who);
      if (answer.status !== 202 || Date.now() > until) return answer;
      await new Promise((r) => setTimeout(r, 300));
    }
  };
  /**
   * Once the dependency answers again, a start succeeds within three tries (the starting page's "Try again"). Right after
   * recovery the engine or server first finishes what the fault held (a network create that hung, a frozen session's
   * advisory lock released only when its backend sees the closed socket); on a loaded machine that can outlast the
   * 2 s timeouts once. The earlier answers are shown when it never succeeds.
   */
  const expectStartAfterRecovery = async (who: { sub: string; slug: string }): Promise<void> => {
    const earlier: string[] = [];
    let answer = await pollEnsure(who);
    while (answer.status !== 200 && earlier.length < 2) {
      earlier.push(`${answer.status} ${answer.body}`);
      answer = await pollEnsure(who);
    }
    expect({ status: answer.status, earlier }).toEqual({ status: 200, earlier: expect.any(Array) });
  };
  const bobStillServed = async () => {
    // The control API answers (its health report may name the failing dependency: 503 is an answer too).
    expect((await http({ url: `${lab.service.apiUrl}/healthz` })).json()).toEqual(
      expect.objectContaining({ status: expect.stringMatching(/^(ok|degraded)$/) }),
    );
    expect((await lab.ensure(bob)).json()).toEqual({ state: "running", upstream: "http://10.243.1.2:3000" });
  };

  beforeAll(async () => {
    const images = await ensureLabImages();
    pg = await startPostgres();
    lab = await startFaultLab({
      images: { app: images.app, agentServer: images.agentServer },
      pg,
      subnetPrefix: "10.243",
      timing: {
        healthTimeoutMs: 60_000,
        healthIntervalMs: 100,
        ensureWaitMs: 500,
        cullIntervalMs: 3_600_000,
        databaseTimeoutMs: 2_000,
        dockerTimeoutMs: 2_000,
      },
    });
    expect((await pollEnsure(bob)).status).toBe(200);
  });
  afterAll(async () => {
    if (process.env.FAULT_LOGS) require("node:fs").writeFileSync(process.env.FAULT_LOGS, lab?.logs.join("\n") ?? "");
    await lab?.close();
    await pg?.stop();
  });

  it(
    "GIVEN an engine that stops answering WHEN a new user starts THEN the starting page gets a 502 naming the Docker step that timed " +
      "out (others are served meanwhile), and once the engine answers the next ensure works",
    async () => {
      const carol = user(602);
      lab.proxy.set("hang");
      try {
        const first = await lab.ensure(carol);
        expect(first.status).toBe(202);
        await bobStillServed();
        const failed = await pollEnsure(carol);
        expect(failed.status).toBe(502);
        expect(failed.json()).toEqual({
          error: "start_failed",
          message: expect.stringMatching(/^preparing the user network \(Docker\) failed: docker .* no answer within 2000 ms$/),
          // The starting page names the stage in words and shows the id of the request that began the start.
          stage: "network",
          requestId: expect.stringMatching(/^[0-9a-f]{32}$/),
        });
        await bobStillServed();
      } finally {
        lab.proxy.set("pass");
      }
      await expectStartAfterRecovery(carol);
      expect(docker(["inspect", "-f", "{{.State.Status}}", `oh-app-${carol.slug}`]).stdout.trim()).toBe("running");
    },
  );

  it(
    "GIVEN PostgreSQL frozen (SIGSTOP) WHEN a new user starts THEN the starting page gets a 502 naming the database (others are " +
      "served), and once it runs again the next ensure works",
    async () => {
      const dave = user(603);
      const frozen = freezePostgres(pg.pid);
      let failed: HttpResult;
      try {
        failed = await pollEnsure(dave);
        await bobStillServed();
      } finally {
        frozen.resume();
      }
      expect(failed.status).toBe(502);
      expect(failed.json().message).toMatch(/^preparing the user database failed: .*(timeout|timed out)/i);
      await expectStartAfterRecovery(dave);
    },
  );

  it(
    "GIVEN the engine unreachable while a user's app is removed WHEN it is reachable again THEN the view is listed again (the app is " +
      "gone, not 'running') and the next ensure starts a new app",
    async () => {
      const erin = user(604);
      expect((await pollEnsure(erin)).status).toBe(200);
      const before = docker(["inspect", "-f", "{{.Id}}", `oh-app-${erin.slug}`]).stdout.trim();
      lab.proxy.set("down");
      docker(["rm", "-f", `oh-app-${erin.slug}`]);
      await new Promise((r) => setTimeout(r, 1_500));
      // Missed: the event stream was cut, the view still holds the app.
      expect(lab.service.apps.get(erin.slug)?.state).toBe("running");
      lab.proxy.set("pass");
      await eventually(() => lab.service.apps.get(erin.slug) === undefined);
      expect(lab.logs.some((line) => line.includes("view resynced from docker"))).toBe(true);
      const again = await pollEnsure(erin);
      expect(again.status).toBe(200);
      const after = docker(["inspect", "-f", "{{.Id}}", `oh-app-${erin.slug}`]).stdout.trim();
      expect(after).not.toBe(before);
    },
  );

  it(
    "GIVEN an inspect that fails (engine unreachable) THEN that container is " + "treated as gone, and is back once an inspect succeeds",
    async () => {
      const app = lab.service.view.app(bob.slug);
      expect(app?.status).toBe("running");
      lab.proxy.set("down");
      try {
        await expect(lab.service.view.refresh(app!.id)).rejects.toThrow();
        expect(lab.service.view.app(bob.slug)).toBeUndefined();
      } finally {
        lab.proxy.set("pass");
      }
      await lab.service.view.refresh(app!.id);
      expect(lab.service.view.app(bob.slug)?.status).toBe("running");
      expect((await pollEnsure(bob)).json()).toEqual({ state: "running", upstream: "http://10.243.1.2:3000" });
    },
  );
});
