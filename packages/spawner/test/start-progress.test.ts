import { START_STAGES, StartProgress, startRequestId } from "../src/start-progress";

const alice = "aaaaaaaaaaaaaaaa";
const bob = "bbbbbbbbbbbbbbbb";

describe("StartProgress (pure, with a hand-moved clock)", () => {
  let now = 1_000_000;
  const clock = () => now;

  it("GIVEN a start WHEN it moves through its stages THEN the report names the stage, the time so far and the request id", () => {
    const progress = new StartProgress(clock);
    expect(progress.report(alice, false)).toMatchObject({ state: "idle", stage: null, typicalMs: null, recentStarts: 0 });
    progress.begin(alice, "req-1");
    now += 1500;
    progress.enter(alice, "database");
    expect(progress.report(alice, false)).toMatchObject({
      state: "starting",
      stage: "database",
      elapsedMs: 1500,
      requestId: "req-1",
      failure: null,
    });
    progress.enter(alice, "container");
    expect(progress.report(alice, false).stage).toBe("container");
    expect(progress.report(alice, false).stages).toEqual(START_STAGES);
  });

  it("GIVEN two users THEN each report is that user's own (one user's start is never in another's report)", () => {
    const progress = new StartProgress(clock);
    progress.begin(alice, "req-a");
    progress.enter(alice, "health");
    expect(progress.report(bob, false)).toMatchObject({ state: "idle", stage: null, requestId: null });
  });

  it("GIVEN fresh starts THEN the typical duration is the median of the recent ones; a reopened running app does not count", () => {
    const progress = new StartProgress(clock);
    for (const ms of [10_000, 30_000, 20_000]) {
      progress.begin(alice, "r");
      now += ms;
      progress.succeed(alice, true);
    }
    progress.begin(alice, "r");
    now += 999_000;
    progress.succeed(alice, false);
    expect(progress.typicalMs()).toBe(20_000);
    expect(progress.report(alice, true)).toMatchObject({ state: "running", typicalMs: 20_000, recentStarts: 3 });
    for (let i = 0; i < 30; i++) {
      progress.begin(bob, "r");
      now += 4_000;
      progress.succeed(bob, true);
    }
    expect(progress.report(bob, true)).toMatchObject({ typicalMs: 4_000, recentStarts: 20 });
  });

  it("GIVEN a start that fails THEN the report says failed, in which stage, with the request id, until the next start begins", () => {
    const progress = new StartProgress(clock);
    progress.begin(alice, "req-f");
    progress.enter(alice, "database");
    now += 700;
    progress.fail(alice, "preparing the user database failed: connect ECONNREFUSED");
    now += 60_000;
    expect(progress.report(alice, false)).toMatchObject({
      state: "failed",
      stage: "database",
      elapsedMs: 700,
      requestId: "req-f",
      failure: { stage: "database", message: expect.stringContaining("ECONNREFUSED") },
    });
    progress.begin(alice, "req-g");
    expect(progress.report(alice, false)).toMatchObject({ state: "starting", stage: "waiting", requestId: "req-g", failure: null });
    progress.drop(alice);
    expect(progress.report(alice, false).state).toBe("idle");
  });

  it(
    "GIVEN request ids THEN a well-formed one is kept, anything else (log " + "injection, too long, not text) is replaced by a fresh one",
    () => {
      expect(startRequestId("0123456789abcdef0123456789abcdef")).toBe("0123456789abcdef0123456789abcdef");
      for (const bad of ["a\nb", "x".repeat(65), "", 42, undefined, "a b", "<script>"]) {
        const id = startRequestId(bad);
        expect(id).toMatch(/^[0-9a-f]{32}$/);
      }
      expect(startRequestId(undefined)).not.toBe(startRequestId(undefined));
    },
  );

  it("GIVEN a flood of users' starts THEN at most 10,000 records are kept (the oldest go first)", () => {
    const progress = new StartProgress(clock);
    for (let i = 0; i < 10_050; i++) progress.begin(`u${i}`, "r");
    expect(progress.report("u0", false).state).toBe("idle");
    expect(progress.report("u10049", false).state).toBe("starting");
  });
});
