/**
 * The watchdog (bin/oh-health-check.sh, run every 30 s by oh-health.timer) in dry runs against the stub
 * commands: it puts the firewall back when its rules are gone, restarts the stack only after three health
 * checks in a row found nginx or the spawner dead or hung, and only logs when the spawner answers degraded
 * (PostgreSQL or Docker down: a restart cannot fix that).
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DryRunHost, mutatingCalls } from "./support/dry-run";

jest.setTimeout(120_000);

describe("oh-health-check.sh (dry run)", () => {
  let host: DryRunHost;

  beforeEach(() => {
    host = new DryRunHost();
    // what the installer leaves on a host: the firewall under /opt, the stack running
    mkdirSync(join(host.root, "opt/openhands-team/host"), { recursive: true });
    cpSync(join(host.bundle, "firewall"), join(host.root, "opt/openhands-team/host/firewall"), { recursive: true });
    mkdirSync(join(host.root, "etc/openhands-team"), { recursive: true });
    writeFileSync(join(host.root, "etc/openhands-team/firewall.env"), "VPC_CIDRS=10.0.0.0/16\nDATABASE_PORT=5432\n");
    host.touchState("units/openhands-team.service.active");
  });
  afterEach(() => host.cleanup());

  it(
    "GIVEN someone flushed the host's iptables (sandboxes unfiltered) WHEN " + "the watchdog runs THEN it loads the rules and jumps again",
    () => {
      const run = host.runScript("bin/oh-health-check.sh");
      expect(run.code).toBe(0);
      expect(run.stderr).toContain("firewall rules missing, applying them again");
      expect(run.calls).toEqual(
        expect.arrayContaining([
          "iptables-restore -w --noflush",
          "iptables -w -I INPUT 1 -j OH-INPUT",
          "iptables -w -I DOCKER-USER 1 -j OH-FORWARD",
        ]),
      );
      expect(run.calls).toEqual(
        expect.arrayContaining([
          "ip6tables-restore -w --noflush",
          "ip6tables -w -I INPUT 1 -j OH-INPUT",
          "ip6tables -w -I DOCKER-USER 1 -j OH-FORWARD",
        ]),
      );
      const again = host.runScript("bin/oh-health-check.sh");
      expect(mutatingCalls(again.calls)).toEqual([]);
    },
  );

  it(
    "GIVEN the health endpoint stops answering WHEN the watchdog runs three times THEN only the third run restarts the stack, and a " +
      "healthy run resets the count",
    () => {
      host.runScript("bin/oh-health-check.sh");
      host.touchState("health-down");
      const restarts = [1, 2, 3].map(
        () => host.runScript("bin/oh-health-check.sh").calls.filter((c) => c === "systemctl restart openhands-team.service").length,
      );
      expect(restarts).toEqual([0, 0, 1]);
      // two more failures, then a healthy answer: the count starts over
      host.runScript("bin/oh-health-check.sh");
      host.runScript("bin/oh-health-check.sh");
      rmSync(join(host.state, "health-down"));
      host.runScript("bin/oh-health-check.sh");
      host.touchState("health-down");
      const after = [1, 2].map(
        () => host.runScript("bin/oh-health-check.sh").calls.filter((c) => c.startsWith("systemctl restart")).length,
      );
      expect(after).toEqual([0, 0]);
    },
  );

  const restartsOver = (runs: number) =>
    Array.from({ length: runs }, () => host.runScript("bin/oh-health-check.sh")).map((run) => ({
      restarts: run.calls.filter((c) => c === "systemctl restart openhands-team.service").length,
      stderr: run.stderr,
    }));
  const answer = (body: unknown) => writeFileSync(join(host.state, "health-answer.json"), `${JSON.stringify(body)}\n`);

  it.each([
    ["the spawner process is gone", { nginx: "ok", spawner: "unreachable" }, "unreachable"],
    ["the spawner is hung", { nginx: "ok", spawner: "not_answering" }, "not_answering"],
  ])(
    "GIVEN nginx answers 503 because %s WHEN the watchdog runs " + "three times THEN the third run restarts the stack",
    (_name, body, state) => {
      answer(body);
      const runs = restartsOver(3);
      expect(runs.map((r) => r.restarts)).toEqual([0, 0, 1]);
      expect(runs[0]!.stderr).toContain(`health check failed: spawner ${state} (1/3)`);
      expect(runs[2]!.stderr).toContain(`health check failed 3 times in a row (spawner ${state}), restarting openhands-team.service`);
    },
  );

  it(
    "GIVEN the spawner answers but PostgreSQL is down (degraded) WHEN the watchdog runs five times THEN it logs the failing " +
      "dependency each time and never restarts",
    () => {
      answer({ nginx: "ok", spawner: "degraded", failing: ["database"] });
      const runs = restartsOver(5);
      expect(runs.map((r) => r.restarts)).toEqual([0, 0, 0, 0, 0]);
      for (const run of runs)
        expect(run.stderr).toContain("spawner answers but its dependencies do not (database); a restart cannot fix that, not restarting");
    },
  );

  it(
    "GIVEN two failed checks, then a degraded answer, then failures again THEN " +
      "the degraded answer resets the count (the spawner was alive)",
    () => {
      answer({ nginx: "ok", spawner: "unreachable" });
      expect(restartsOver(2).map((r) => r.restarts)).toEqual([0, 0]);
      answer({ nginx: "ok", spawner: "degraded", failing: ["docker"] });
      expect(restartsOver(1).map((r) => r.restarts)).toEqual([0]);
      answer({ nginx: "ok", spawner: "unreachable" });
      expect(restartsOver(3).map((r) => r.restarts)).toEqual([0, 0, 1]);
    },
  );

  it(
    "GIVEN an answer that is not the health report (garbage, or a hostile failing list) THEN garbage counts as a failure and names " +
      "are stripped to plain characters in the log",
    () => {
      writeFileSync(join(host.state, "health-answer.json"), "<html>502 Bad Gateway</html>\n");
      const runs = restartsOver(3);
      expect(runs.map((r) => r.restarts)).toEqual([0, 0, 1]);
      answer({ nginx: "ok", spawner: "degraded", failing: ["data$(reboot)base\nFORGED"] });
      const [run] = restartsOver(1);
      expect(run!.restarts).toBe(0);
      expect(run!.stderr).toContain("dependencies do not (datarebootbase); a restart cannot fix that");
    },
  );

  it(
    "GIVEN a running spawner WHEN the watchdog runs THEN it publishes people and sandboxes running, and counters as the change since " +
      "its last run (all of them after a spawner restart)",
    () => {
      host.placeHostConfig();
      const stats = (uptimeSeconds: number, starts: number, culls: number) =>
        writeFileSync(
          join(host.state, "spawner-stats.json"),
          JSON.stringify({
            runningUsers: 3,
            startingUsers: 1,
            runningSandboxes: 4,
            starts,
            culls,
            refusals: 0,
            failures: 1,
            uptimeSeconds,
          }),
        );
      const published = (calls: string[]) => {
        const call = calls.find((c) => c.startsWith("aws cloudwatch put-metric-data"));
        if (!call) return undefined;
        expect(call).toContain("--namespace OpenHandsTeam");
        expect(call).toContain("--region eu-central-1");
        const data = /--metric-data (.*)$/.exec(call)![1]!.replace(/\\(.)/g, "$1");
        const metrics = JSON.parse(data) as { MetricName: string; Value: number; Dimensions: { Name: string; Value: string }[] }[];
        for (const metric of metrics) expect(metric.Dimensions).toEqual([{ Name: "Deployment", Value: "oh-test" }]);
        return Object.fromEntries(metrics.map((m) => [m.MetricName, m.Value]));
      };
      stats(100, 5, 1);
      expect(published(host.runScript("bin/oh-health-check.sh").calls)).toEqual({
        RunningApps: 3,
        StartingApps: 1,
        RunningSandboxes: 4,
        Starts: 5,
        Culls: 1,
        Refusals: 0,
        Failures: 1,
      });
      stats(130, 7, 1);
      expect(published(host.runScript("bin/oh-health-check.sh").calls)).toEqual({
        RunningApps: 3,
        StartingApps: 1,
        RunningSandboxes: 4,
        Starts: 2,
        Culls: 0,
        Refusals: 0,
        Failures: 0,
      });
      // the spawner restarted: its counters began again at 0
      stats(10, 1, 0);
      expect(published(host.runScript("bin/oh-health-check.sh").calls)).toEqual({
        RunningApps: 3,
        StartingApps: 1,
        RunningSandboxes: 4,
        Starts: 1,
        Culls: 0,
        Refusals: 0,
        Failures: 1,
      });
      // no answer from the spawner: nothing published, nothing fails
      rmSync(join(host.state, "spawner-stats.json"));
      const quiet = host.runScript("bin/oh-health-check.sh");
      expect(quiet.code).toBe(0);
      expect(published(quiet.calls)).toBeUndefined();
    },
  );

  it("GIVEN the stack was stopped on purpose WHEN the watchdog runs THEN it leaves it stopped", () => {
    host.runScript("bin/oh-health-check.sh");
    rmSync(join(host.state, "units/openhands-team.service.active"));
    const runs = [1, 2, 3, 4].map(() => host.runScript("bin/oh-health-check.sh"));
    expect(runs.flatMap((r) => mutatingCalls(r.calls))).toEqual([]);
  });
});
