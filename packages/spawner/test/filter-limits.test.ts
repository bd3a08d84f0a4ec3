/**
 * Two details of the Docker filter on the real engine: the host-wide sandbox limit is applied at create (a refused
 * sandbox is never left in `created`, which OpenHands shows as STARTING forever), and an image pull reaches dockerd
 * with `fromImage` and `tag` only.
 */
import { docker, describeWithEngine } from "@openhands-team/docker-lab";
import { eventually, http, user } from "./helpers/harness";
import { DockerPyClient } from "./helpers/docker-py";
import { ensureLabImages } from "./helpers/lab-images";
import { exists, startLabSpawner, type LabSpawner } from "./helpers/lab-spawner";

describeWithEngine("Docker filter limits on a real Docker engine", () => {
  let lab: LabSpawner;
  let images: { app: string; agentServer: string; node: string };
  let asAlice: DockerPyClient;
  const alice = user(601);

  beforeAll(async () => {
    images = await ensureLabImages();
    lab = await startLabSpawner({ app: images.app, agentServer: images.agentServer }, { users: { maxRunningSandboxes: 1 } });
    expect(
      (await http({ url: `${lab.service.apiUrl}/v1/users/${alice.slug}/ensure`, method: "POST", body: { sub: alice.sub } })).status,
    ).toBe(200);
    asAlice = new DockerPyClient(lab.service.sandboxes.socketPathFor(alice.slug));
    await asAlice.negotiate();
  });
  afterAll(async () => {
    await lab?.close();
  });

  it(
    "GIVEN the host at users.maxRunningSandboxes WHEN a user creates one more sandbox THEN 503 at create, and the engine never saw " +
      "the create (nothing left in `created`)",
    async () => {
      const first = await asAlice.run(`oh-sbx-${alice.slug}-one`, DockerPyClient.sandboxBody(images.agentServer));
      expect(first.start?.status).toBe(204);
      const creates = () =>
        lab.callsMatching("POST", /^\/containers\/create$/).filter((c) => c.query.name === `oh-sbx-${alice.slug}-two`).length;
      const over = await asAlice.call(
        "POST",
        asAlice.v(`/containers/create?name=oh-sbx-${alice.slug}-two`),
        DockerPyClient.sandboxBody(images.agentServer),
      );
      expect(over.status).toBe(503);
      expect(over.json().message).toMatch(/host capacity reached: 1 sandboxes are running on this host \(users\.maxRunningSandboxes\)/);
      expect(creates()).toBe(0);
      expect(exists(`oh-sbx-${alice.slug}-two`)).toBe(false);
      // Once the running one stops, a create goes through again.
      expect((await asAlice.call("POST", asAlice.v(`/containers/oh-sbx-${alice.slug}-one/stop?t=1`))).status).toBe(204);
      // The spawner learns of the stop from dockerd's event stream: until then the create is still refused.
      const again = await eventually(async () => {
        const attempt = await asAlice.run(`oh-sbx-${alice.slug}-two`, DockerPyClient.sandboxBody(images.agentServer));
        return attempt.create.status === 201 ? attempt : undefined;
      }, 15_000);
      expect(again.start?.status).toBe(204);
      expect(creates()).toBe(1);
      docker(["rm", "-f", `oh-sbx-${alice.slug}-one`, `oh-sbx-${alice.slug}-two`], { allowFailure: true });
    },
  );

  it(
    "GIVEN an image pull with platform or any other parameter THEN refused before dockerd; the pinned pull reaches dockerd with " +
      "fromImage and tag only",
    async () => {
      const colon = images.agentServer.lastIndexOf(":");
      const repository = images.agentServer.slice(0, colon);
      const tag = images.agentServer.slice(colon + 1);
      const pulls = () => lab.callsMatching("POST", /^\/images\/create$/);
      const before = pulls().length;
      for (const extra of ["platform=linux%2Farm64", "fromSrc=-", "repo=x", "message=m", "changes=CMD%20sh"]) {
        const res = await asAlice.call("POST", asAlice.v(`/images/create?fromImage=${encodeURIComponent(repository)}&tag=${tag}&${extra}`));
        expect([extra, res.status]).toEqual([extra, 400]);
      }
      expect(pulls()).toHaveLength(before);
      // The stand-in registry (localhost:1) cannot be reached, so dockerd fails the pull: what matters is what it was asked.
      await asAlice.call("POST", asAlice.v(`/images/create?tag=${tag}&fromImage=${encodeURIComponent(repository)}`));
      expect(
        pulls()
          .slice(before)
          .map((c) => c.query),
      ).toEqual([{ fromImage: repository, tag }]);
    },
  );
});
