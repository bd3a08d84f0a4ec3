/**
 * The watchdog (bin/oh-health-check.sh, run every 30 s by oh-health.timer) in dry runs against the stub
 * commands: it puts the firewall back when its rules are gone and restarts the stack only after three
 * failed health checks in a row.
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

  it("GIVEN someone flushed the host's iptables (sandboxes unfiltered) WHEN the watchdog runs THEN it loads the rules and jumps again", () => {
    const run = host.runScript("bin/oh-health-check.sh");
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("firewall rules missing, applying them again");
    expect(run.calls).toEqual(expect.arrayContaining(["iptables-restore -w --noflush", "iptables -w -I INPUT 1 -j OH-INPUT", "iptables -w -I DOCKER-USER 1 -j OH-FORWARD"]));
    expect(run.calls).toEqual(expect.arrayContaining(["ip6tables-restore -w --noflush", "ip6tables -w -I INPUT 1 -j OH-INPUT", "ip6tables -w -I DOCKER-USER 1 -j OH-FORWARD"]));
    const again = host.runScript("bin/oh-health-check.sh");
    expect(mutatingCalls(again.calls)).toEqual([]);
  });

  it("GIVEN the health endpoint stops answering WHEN the watchdog runs three times THEN only the third run restarts the stack, and a healthy run resets the count", () => {
    host.runScript("bin/oh-health-check.sh");
    host.touchState("health-down");
    const restarts = [1, 2, 3].map(() => host.runScript("bin/oh-health-check.sh").calls.filter((c) => c === "systemctl restart openhands-team.service").length);
    expect(restarts).toEqual([0, 0, 1]);
    // two more failures, then a healthy answer: the count starts over
    host.runScript("bin/oh-health-check.sh");
    host.runScript("bin/oh-health-check.sh");
    rmSync(join(host.state, "health-down"));
    host.runScript("bin/oh-health-check.sh");
    host.touchState("health-down");
    const after = [1, 2].map(() => host.runScript("bin/oh-health-check.sh").calls.filter((c) => c.startsWith("systemctl restart")).length);
    expect(after).toEqual([0, 0]);
  });

  it("GIVEN a running spawner WHEN the watchdog runs THEN it publishes people and sandboxes running, and counters as the change since its last run (all of them after a spawner restart)", () => {
    host.placeHostConfig();
    const stats = (uptimeSeconds: number, starts: number, culls: number) =>
      writeFileSync(join(host.state, "spawner-stats.json"), JSON.stringify({ runningUsers: 3, startingUsers: 1, runningSandboxes: 4, starts, culls, refusals: 0, failures: 1, uptimeSeconds }));
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
    expect(published(host.runScript("bin/oh-health-check.sh").calls)).toEqual({ RunningApps: 3, StartingApps: 1, RunningSandboxes: 4, Starts: 5, Culls: 1, Refusals: 0, Failures: 1 });
    stats(130, 7, 1);
    expect(published(host.runScript("bin/oh-health-check.sh").calls)).toEqual({ RunningApps: 3, StartingApps: 1, RunningSandboxes: 4, Starts: 2, Culls: 0, Refusals: 0, Failures: 0 });
    // the spawner restarted: its counters began again at 0
    stats(10, 1, 0);
    expect(published(host.runScript("bin/oh-health-check.sh").calls)).toEqual({ RunningApps: 3, StartingApps: 1, RunningSandboxes: 4, Starts: 1, Culls: 0, Refusals: 0, Failures: 1 });
    // no answer from the spawner: nothing published, nothing fails
    rmSync(join(host.state, "spawner-stats.json"));
    const quiet = host.runScript("bin/oh-health-check.sh");
    expect(quiet.code).toBe(0);
    expect(published(quiet.calls)).toBeUndefined();
  });

  it("GIVEN the stack was stopped on purpose WHEN the watchdog runs THEN it leaves it stopped", () => {
    host.runScript("bin/oh-health-check.sh");
    rmSync(join(host.state, "units/openhands-team.service.active"));
    const runs = [1, 2, 3, 4].map(() => host.runScript("bin/oh-health-check.sh"));
    expect(runs.flatMap((r) => mutatingCalls(r.calls))).toEqual([]);
  });
});
