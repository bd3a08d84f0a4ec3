/**
 * What a real Docker engine here cannot be made to do, against the contract fake of dockerd
 * (testing/fake-docker-engine.ts, kept for these cases and for packages/e2e):
 * - daemon faults (a create answered with 500 "no space left on device");
 * - a broken event stream with events missed meanwhile (a daemon restart under a running spawner);
 * - every /24 of the prefix taken (254 bridges with iptables rules are too slow to make in a test);
 * - a registry (none is reachable here: a pull of the agent-server image that succeeds);
 * The fake engine is never kinder than dockerd: 404s end in a newline, names need 2+ characters, 409s on names.
 */
import { describeWithEngine } from "@openhands-team/docker-lab";
import { existsSync } from "node:fs";
import { DockerPyClient } from "./helpers/docker-py";
import { AGENT_IMAGE, eventually, http, startHarness, user, type Harness } from "./helpers/harness";

jest.setTimeout(30_000);

describeWithEngine("spawner service on the fake engine (faults and what the lab lacks)", () => {
  let h: Harness;
  afterEach(async () => {
    await h?.close();
  });

  const ensure = (apiUrl: string, who: { sub: string; slug: string }) =>
    http({ url: `${apiUrl}/v1/users/${who.slug}/ensure`, method: "POST", body: { sub: who.sub, email: "a@example.com" } });

  it("GIVEN the app image cannot be created WHEN ensure runs THEN a clear failure, counted, and no relay or socket left open", async () => {
    h = await startHarness({
      engine: { onCreate: (name) => (name.startsWith("oh-app-") ? { status: 500, message: "no space left on device" } : undefined) },
    });
    const service = await h.startService();
    const alice = user(28);
    const res = await ensure(service.apiUrl, alice);
    expect(res.status).toBe(502);
    expect(res.json()).toEqual({
      error: "start_failed",
      message: expect.stringMatching(/no space left on device/),
      stage: "container",
      requestId: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(service.relay.isOpen(alice.slug)).toBe(false);
    expect(existsSync(service.sandboxes.socketPathFor(alice.slug))).toBe(false);
    expect((await http({ url: `${service.apiUrl}/v1/stats` })).json()).toMatchObject({ failures: 1, runningUsers: 0 });
  });
  it("GIVEN the Docker event stream breaks and events are missed WHEN it reconnects THEN the view resyncs from Docker", async () => {
    h = await startHarness();
    const service = await h.startService();
    const alice = user(21);
    await ensure(service.apiUrl, alice);
    const docker = new DockerPyClient(service.sandboxes.socketPathFor(alice.slug));
    await docker.negotiate();
    await docker.run(`oh-sbx-${alice.slug}-ev`, DockerPyClient.sandboxBody(AGENT_IMAGE));
    const sandbox = h.engine.find(`oh-sbx-${alice.slug}-ev`)!;
    const host = `${sandbox.NetworkSettings.Ports["8000/tcp"]![0]!.HostPort}-${alice.slug}.runtime.example.com`;
    await eventually(() => service.spawner.resolveHost(host));
    h.engine.dropEventStreams();
    h.engine.silently(({ containers }) => containers.delete(sandbox.Id));
    await eventually(() => !service.spawner.resolveHost(host) || undefined, 10_000);
    expect(h.logs.some((line) => line.includes("docker event stream ended; resyncing"))).toBe(true);
  });
  it(
    "GIVEN every /24 of the prefix is taken WHEN a new user starts THEN a user with nothing running gives theirs up (restored later " +
      "from records), not reused before subnetReuseDelayMs; with none idle, a clear failure",
    async () => {
      const delay = 1_500;
      h = await startHarness({ network: { subnetReuseDelayMs: delay } });
      const service = await h.startService();
      const prefix = h.config.network.subnetPrefix;
      const [alice, bob, carol] = [user(22), user(23), user(24)];
      await ensure(service.apiUrl, alice);
      const asAlice = new DockerPyClient(service.sandboxes.socketPathFor(alice.slug));
      await asAlice.negotiate();
      await asAlice.run(`oh-sbx-${alice.slug}-kept`, DockerPyClient.sandboxBody(AGENT_IMAGE));
      for (let n = 2; n <= 254; n += 1) {
        const res = await http({
          socketPath: h.engine.socketPath,
          path: "/networks/create",
          method: "POST",
          body: { Name: `other-${n}`, IPAM: { Config: [{ Subnet: `${prefix}.${n}.0/24` }] } },
        });
        expect(res.status).toBe(201);
      }
      await service.view.sync();
      await service.spawner.cull(alice.slug, "test");
      const askedAt = Date.now();
      expect((await ensure(service.apiUrl, bob)).status).toBe(200);
      // Stale proxy routes: alice's /24 (and her app's .2) goes to bob only after the reuse delay.
      expect(Date.now() - askedAt).toBeGreaterThanOrEqual(delay);
      expect(h.logs.some((line) => line.includes("waiting for a recently freed /24"))).toBe(true);
      expect(h.engine.find(`oh-app-${alice.slug}`)).toBeUndefined();
      expect(h.engine.find(`oh-app-${bob.slug}`)!.NetworkSettings.Networks[`oh-u-${bob.slug}`]!.IPAddress).toBe(`${prefix}.1.2`);
      const full = await ensure(service.apiUrl, carol);
      expect(full.status).toBe(502);
      expect(full.json().message).toMatch(/no free \/24 left/);
      await service.spawner.cull(bob.slug, "test");
      expect((await ensure(service.apiUrl, alice)).status).toBe(200);
      expect(h.engine.find(`oh-sbx-${alice.slug}-kept`)!.State.Status).toBe("exited");
    },
  );

  it(
    "GIVEN the agent-server image missing WHEN docker-py inspects, pulls (a registry answers) and inspects again THEN the pull of " +
      "the pinned image passes the filter, streamed",
    async () => {
      h = await startHarness();
      const service = await h.startService();
      const alice = user(29);
      await ensure(service.apiUrl, alice);
      const asAlice = new DockerPyClient(service.sandboxes.socketPathFor(alice.slug));
      await asAlice.negotiate();
      h.engine.images.delete(AGENT_IMAGE);
      const [repo, tag] = [AGENT_IMAGE.slice(0, AGENT_IMAGE.lastIndexOf(":")), AGENT_IMAGE.slice(AGENT_IMAGE.lastIndexOf(":") + 1)];
      expect((await asAlice.call("GET", asAlice.v(`/images/${AGENT_IMAGE}/json`))).status).toBe(404);
      const pull = await asAlice.call("POST", asAlice.v(`/images/create?tag=${tag}&fromImage=${repo}`));
      expect(pull.status).toBe(200);
      expect(pull.body).toMatch(/Downloaded newer image/);
      expect(h.engine.calls.filter((c) => c.path === "/images/create").map((c) => c.query)).toEqual([{ fromImage: repo, tag }]);
      expect((await asAlice.call("GET", asAlice.v(`/images/${AGENT_IMAGE}/json`))).status).toBe(200);
    },
  );
});
