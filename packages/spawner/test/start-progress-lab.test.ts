/**
 * A user's start progress (`GET /v1/users/<slug>/start`) while the spawner starts their app on docker-lab's real
 * Docker engine with the stand-in images: the stages advance, the request id of the ensure names the start, the
 * typical duration comes from the real start, and one user's report never shows another's start.
 */
import { describeWithEngine } from "@openhands-team/docker-lab";
import { http, user } from "./helpers/harness";
import { ensureLabImages } from "./helpers/lab-images";
import { type LabSpawner, startLabSpawner } from "./helpers/lab-spawner";

jest.setTimeout(90_000);

describeWithEngine("start progress on a real engine", () => {
  let lab: LabSpawner | undefined;
  beforeAll(async () => {
    const built = await ensureLabImages();
    lab = await startLabSpawner({ app: built.app, agentServer: built.agentServer });
  });
  afterAll(async () => {
    await lab?.close();
  });
  const report = async (slug: string) => (await http({ url: `${lab!.service.apiUrl}/v1/users/${slug}/start` })).json();

  it(
    "GIVEN a new user's first start WHEN the proxy polls their progress THEN it moves through the stages to running, with the " +
      "request id and a typical duration after",
    async () => {
      const alice = user(71);
      const bob = user(72);
      expect(await report(alice.slug)).toMatchObject({ state: "idle", stage: null, typicalMs: null });
      const requestId = "0123456789abcdef0123456789abcdef";
      const ensured = http({
        url: `${lab!.service.apiUrl}/v1/users/${alice.slug}/ensure`,
        method: "POST",
        body: { sub: alice.sub, email: "a@example.com", requestId },
      });
      const seen: string[] = [];
      let done = false;
      void ensured.finally(() => {
        done = true;
      });
      while (!done) {
        const now = await report(alice.slug);
        if (now.state === "starting") {
          expect(now.requestId).toBe(requestId);
          if (seen.at(-1) !== now.stage) seen.push(now.stage);
          // Another user's report shows nothing of this start.
          expect(await report(bob.slug)).toMatchObject({ state: "idle", stage: null, requestId: null, startedAt: null });
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const answer = await ensured;
      // Under 2 s the ensure answers running itself; otherwise 202 with the progress, and the start goes on.
      if (answer.status === 202) {
        expect(answer.json()).toMatchObject({ state: "starting", progress: { state: "starting", requestId } });
        for (let i = 0; i < 200 && (await report(alice.slug)).state !== "running"; i++)
          await new Promise((resolve) => setTimeout(resolve, 100));
      } else {
        expect(answer.status).toBe(200);
      }
      const order = ["waiting", "database", "folders", "network", "docker-api", "relay", "container", "health", "settings"];
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.map((stage) => order.indexOf(stage))).toEqual([...seen.map((stage) => order.indexOf(stage))].sort((a, b) => a - b));
      const after = await report(alice.slug);
      expect(after).toMatchObject({ state: "running", recentStarts: 1 });
      expect(after.typicalMs).toBeGreaterThan(0);
      expect(await report(bob.slug)).toMatchObject({ state: "idle", typicalMs: after.typicalMs });
    },
  );

  it("GIVEN a malformed slug or another method THEN 400 / 405", async () => {
    expect((await http({ url: `${lab!.service.apiUrl}/v1/users/NOT-A-SLUG/start` })).status).toBe(400);
    expect((await http({ url: `${lab!.service.apiUrl}/v1/users/${user(73).slug}/start`, method: "POST", body: {} })).status).toBe(405);
  });
});
