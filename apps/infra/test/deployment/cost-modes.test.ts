/**
 * The users' compute of `pnpm cost`: docker mode's host sized by the spawner's memory limits against ecs mode's Fargate
 * tasks paid by the hour the idle cull leaves them running. No synthesis: the figures come from the configuration.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FARGATE_PRICES, FARGATE_SPOT_DISCOUNT } from "../../src/cost/prices";
import {
  activeUsersPerHost,
  compareModes,
  DEFAULT_ACTIVITY,
  ecsCostPerUser,
  formatModeComparison,
  SPAWNER_LIMITS,
  taskHoursPerUser,
} from "../../src/cost/user-compute";
import { ecsExampleConfig, exampleConfig } from "../support/template";

describe("GIVEN the spawner's limits", () => {
  it("THEN the cost model uses the spawner's own defaults (packages/spawner/src/config.ts)", () => {
    const source = readFileSync(join(__dirname, "../../../../packages/spawner/src/config.ts"), "utf8");
    const defaultOf = (field: string) => Number(new RegExp(`${field}: z\\.number\\(\\)[^\\n]*\\.default\\(([0-9.]+)\\)`).exec(source)?.[1]);
    for (const field of ["appMemoryMiB", "appCpus", "sandboxMemoryMiB", "sandboxCpus", "hostReserveMiB"] as const) {
      expect(defaultOf(field)).toBe(SPAWNER_LIMITS[field]);
    }
  });

  it.each([
    [8, 0],
    [16, 2],
    [32, 4],
    [64, 9],
  ])("WHEN a host has %i GiB THEN it serves %i active users (an app and a sandbox each) in docker mode", (gib, users) => {
    expect(activeUsersPerHost(gib)).toBe(users);
  });

  it("WHEN each active user runs two sandboxes THEN a host serves fewer", () => {
    expect(activeUsersPerHost(64, { ...DEFAULT_ACTIVITY, sandboxesPerActiveUser: 2 })).toBe(5);
  });
});

describe("GIVEN the default activity and the 60-minute idle cull", () => {
  const user = ecsCostPerUser(60);

  it("THEN each user's tasks run 21 x (6 + 2 x 1) = 168 hours a month, and a longer cull makes it more", () => {
    expect(taskHoursPerUser(60)).toBe(168);
    expect(taskHoursPerUser(120)).toBe(210);
  });

  it("THEN the app is priced at Fargate ARM64 on-demand and the sandbox at ARM64 less the Spot discount", () => {
    expect(user.app).toBeCloseTo(168 * (FARGATE_PRICES.armVcpuHour.usd + 2 * FARGATE_PRICES.armGbHour.usd), 6);
    const arm = 2 * FARGATE_PRICES.armVcpuHour.usd + 4 * FARGATE_PRICES.armGbHour.usd;
    expect(user.sandboxes).toBeCloseTo(168 * arm * (1 - FARGATE_SPOT_DISCOUNT), 6);
    expect(user.sandboxes).toBeLessThan(168 * arm);
    expect(user.total).toBeCloseTo(user.app + user.sandboxes + user.imagePulls, 6);
  });
});

describe("GIVEN the two example configurations", () => {
  it("WHEN the hosts run always THEN ecs mode costs less from the first user, and only it serves more than 9", () => {
    const c = compareModes(exampleConfig());
    expect(c.hostHours).toBe(730);
    expect(c.ecsHostType).toBe("m7g.large");
    expect(c.rows[1]).toMatchObject({ users: 2, docker: { type: "m7g.xlarge" } });
    expect(c.rows[1]!.docker!.monthly).toBeCloseTo(119.14, 2);
    expect(c.rows[9]!.docker).toBeUndefined();
    expect(c.ecsCheaperFrom).toBe(1);
    expect(compareModes(ecsExampleConfig()).ecsHostMonthly).toBeCloseTo(59.57, 2);
  });

  it("WHEN the hosts run office hours only THEN ecs mode costs less only where a docker host size is barely used", () => {
    const c = compareModes(
      exampleConfig((raw) => (raw.cost.officeHours = { timeZone: "Europe/Berlin", start: "0 7 * * MON-FRI", stop: "0 20 * * MON-FRI" })),
    );
    expect(c.hostHours).toBeCloseTo((65 * 52) / 12, 6);
    expect(c.ecsCheaperFrom).toBeUndefined();
    expect(c.ecsCheaperAt).toContain(1);
    expect(c.ecsCheaperAt).not.toContain(2);
    expect(formatModeComparison(c, 60)).toMatch(/ECS mode costs less at 1, 3, .* active users \(docker mode at the others/);
  });

  it("THEN the printed comparison states its assumptions and the break-even", () => {
    const text = formatModeComparison(compareModes(exampleConfig()), 60);
    expect(text).toMatch(/Assumed activity: 21 workdays, 6 active hours and 2 sessions a workday/);
    expect(text).toMatch(/Fargate Spot ARM64 \(platform 1\.4\.0 or later\) at 50 % off/);
    expect(text).toContain("https://aws.amazon.com/fargate/pricing/");
    expect(text).toMatch(/ECS mode costs less from 1 active user on; beyond 9 active users only ecs mode serves them\./);
  });
});
