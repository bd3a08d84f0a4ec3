/** HealthChecks (src/health.ts) on its own: the report's shape, a probe that never settles, reuse of a fresh report. */
import { HealthChecks } from "../src/health";

describe("HealthChecks", () => {
  it("GIVEN every probe resolves THEN status ok with each named; GIVEN one throws THEN degraded with its message", async () => {
    let databaseDown = false;
    const checks = new HealthChecks(
      {
        docker: () => undefined,
        database: async () => {
          if (databaseDown) throw new Error("connect ECONNREFUSED");
        },
      },
      1_000,
      0,
    );
    expect(await checks.report()).toEqual({ status: "ok", checks: { docker: { ok: true }, database: { ok: true } } });
    databaseDown = true;
    expect(await checks.report()).toEqual({
      status: "degraded",
      checks: { docker: { ok: true }, database: { ok: false, error: "connect ECONNREFUSED" } },
    });
  });

  it(
    "GIVEN a probe that never settles THEN it is reported as not answering and " +
      "not started again while it hangs (no pile-up of connections)",
    async () => {
      let started = 0;
      const checks = new HealthChecks(
        {
          database: () => {
            started += 1;
            return new Promise<void>(() => undefined);
          },
        },
        50,
        0,
      );
      for (let i = 0; i < 5; i += 1)
        expect(await checks.report()).toEqual({ status: "degraded", checks: { database: { ok: false, error: "no answer within 50 ms" } } });
      expect(started).toBe(1);
    },
  );

  it("GIVEN reports asked within the reuse window THEN the probes run once; after it they run again", async () => {
    let now = 1_000;
    let runs = 0;
    const checks = new HealthChecks(
      {
        docker: () => {
          runs += 1;
        },
      },
      1_000,
      1_000,
      () => now,
    );
    await Promise.all([checks.report(), checks.report(), checks.report()]);
    expect(runs).toBe(1);
    now += 1_000;
    await checks.report();
    expect(runs).toBe(2);
  });

  it("GIVEN a probe that throws something that is not an Error THEN its text is reported, not a crash", async () => {
    const checks = new HealthChecks(
      {
        events: () => {
          throw "stream closed";
        },
      },
      1_000,
      0,
    );
    expect(await checks.report()).toEqual({ status: "degraded", checks: { events: { ok: false, error: "stream closed" } } });
  });
});
