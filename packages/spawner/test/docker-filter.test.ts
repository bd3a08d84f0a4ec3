/**
 * The per-user filtered Docker API on a real Docker engine (docker-lab): docker-py's call sequence
 * (the spawner README, "Filtered Docker API") from the owner's OpenHands through the filter to dockerd, and one test per
 * refusal, each checking what reached dockerd (a recording proxy sits between the spawner and the engine) and
 * what the engine holds. Two users (alice and bob) share one host; each test speaks as alice through her socket.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describeWithEngine } from "@openhands-team/docker-lab";
import { DockerPyClient } from "./helpers/docker-py";
import { http, user } from "./helpers/harness";
import { ensureLabImages } from "./helpers/lab-images";
import { exists, inspect, startLabSpawner, type LabSpawner } from "./helpers/lab-spawner";

jest.setTimeout(60_000);

describeWithEngine("filtered Docker API", () => {
  let lab: LabSpawner;
  let image: string;
  const alice = user(101);
  const bob = user(102);
  let asAlice: DockerPyClient;
  let asBob: DockerPyClient;
  let bobSandboxId: string;
  const bobName = `oh-sbx-${bob.slug}-bobsbox`;

  beforeAll(async () => {
    const images = await ensureLabImages();
    image = images.agentServer;
    lab = await startLabSpawner({ app: images.app, agentServer: images.agentServer });
    for (const who of [alice, bob]) {
      const res = await http({ url: `${lab.service.apiUrl}/v1/users/${who.slug}/ensure`, method: "POST", body: { sub: who.sub } });
      expect(res.status).toBe(200);
    }
    asAlice = new DockerPyClient(lab.service.sandboxes.socketPathFor(alice.slug));
    asBob = new DockerPyClient(lab.service.sandboxes.socketPathFor(bob.slug));
    await asAlice.negotiate();
    await asBob.negotiate();
    const run = await asBob.run(bobName, DockerPyClient.sandboxBody(image));
    expect(run.start?.status).toBe(204);
    bobSandboxId = run.id!;
  });
  afterAll(async () => {
    await lab?.close();
  });

  const reached = (method: string, path: string) => lab.calls.filter((c) => c.method === method && c.path === path).length;

  it(
    "GIVEN the owner's OpenHands WHEN docker-py runs a sandbox's whole life THEN every call passes and the create dockerd gets is " +
      "rebuilt onto the user's network, gateway and workspace",
    async () => {
      const name = `oh-sbx-${alice.slug}-life1`;
      // version negotiation (unprefixed): the daemon's own API version
      expect(asAlice.apiVersion).toBe("1.41");
      // spec service: image inspect by reference; a pull has no registry here, and the daemon's 500 passes through
      expect((await asAlice.call("GET", asAlice.v(`/images/${image}/json`))).status).toBe(200);
      const [repo, tag] = [image.slice(0, image.lastIndexOf(":")), image.slice(image.lastIndexOf(":") + 1)];
      expect((await asAlice.call("POST", asAlice.v(`/images/create?tag=${tag}&fromImage=${repo}`))).status).toBe(500);
      // containers.run: create, inspect by Id, start
      const run = await asAlice.run(name, DockerPyClient.sandboxBody(image));
      expect([run.create.status, run.inspect?.status, run.start?.status]).toEqual([201, 200, 204]);
      const id = run.id!;
      // list then inspect by Id
      const { list, inspects } = await asAlice.listAll();
      expect(list.status).toBe(200);
      expect(list.json().map((c: { Names: string[] }) => c.Names[0])).toEqual([`/${name}`]);
      expect(inspects.map((r) => r.status)).toEqual([200]);
      // containers.get by name, image tags through the image Id
      const byName = await asAlice.call("GET", asAlice.v(`/containers/${name}/json`));
      expect(byName.status).toBe(200);
      const inspected = byName.json();
      expect(inspected.Name).toBe(`/${name}`);
      expect(inspected.Config.Env).toContain("OH_SESSION_API_KEYS_0=session-key-of-this-sandbox");
      expect((await asAlice.call("GET", asAlice.v(`/images/${inspected.Image.split(":")[1]}/json`))).json().RepoTags).toEqual([image]);
      // pause, unpause, stop, start, stop, remove, volume lookup and delete
      expect((await asAlice.call("POST", asAlice.v(`/containers/${id}/pause`))).status).toBe(204);
      expect((await asAlice.call("POST", asAlice.v(`/containers/${id}/unpause`))).status).toBe(204);
      expect((await asAlice.call("POST", asAlice.v(`/containers/${id}/stop?t=10`))).status).toBe(204);
      expect((await asAlice.call("POST", asAlice.v(`/containers/${id}/start`))).status).toBe(204);
      expect((await asAlice.call("POST", asAlice.v(`/containers/${id}/stop?t=10`))).status).toBe(204);
      expect((await asAlice.call("DELETE", asAlice.v(`/containers/${id}?v=False&link=False&force=False`))).status).toBe(204);
      const volume = await asAlice.call("GET", asAlice.v(`/volumes/openhands-workspace-${name}`));
      expect(volume.status).toBe(404);
      expect(volume.body).toBe(`{"message":"get openhands-workspace-${name}: no such volume"}\n`);
      expect((await asAlice.call("DELETE", asAlice.v(`/volumes/openhands-workspace-${name}`))).status).toBe(404);
      // After removal the daemon's own 404 body passes through (docker-py's NotFound detection).
      const gone = await asAlice.call("GET", asAlice.v(`/containers/${id}/json`));
      expect(gone.status).toBe(404);
      expect(gone.body).toBe(`{"message":"No such container: ${id}"}\n`);

      // What dockerd received for the create: the rebuilt body, nothing else.
      const create = lab.calls.find((c) => c.method === "POST" && c.path === "/containers/create" && c.query.name === name)!;
      const gateway = "10.241.1.1";
      expect(create.body.HostConfig).toEqual({
        NetworkMode: `oh-u-${alice.slug}`,
        PortBindings: {
          "8000/tcp": [{ HostIp: gateway, HostPort: "" }],
          "8001/tcp": [{ HostIp: gateway, HostPort: "" }],
          "8011/tcp": [{ HostIp: gateway, HostPort: "" }],
          "8012/tcp": [{ HostIp: gateway, HostPort: "" }],
        },
        ExtraHosts: [`host.docker.internal:${gateway}`],
        Binds: [`${lab.config.paths.efsRoot}/users/${alice.slug}/workspace:/workspace:rw`],
        Privileged: false,
        PublishAllPorts: false,
        CapDrop: ["NET_RAW"],
        Init: true,
        Memory: 300 * 1024 * 1024,
        NanoCpus: 2.5e8,
        PidsLimit: 200,
        RestartPolicy: { Name: "no" },
        AutoRemove: false,
      });
      expect(create.body.NetworkingConfig).toEqual({ EndpointsConfig: { [`oh-u-${alice.slug}`]: {} } });
      expect(create.body.Labels).toEqual({ sandbox_spec_id: image, "org.openhands-team.owner": alice.slug });
      // The record was written on create and removed with the container.
      expect(readdirSync(join(lab.config.paths.efsRoot, "users", alice.slug, "sandboxes"))).toEqual([]);
    },
  );

  it(
    "GIVEN a create WHEN it succeeds THEN the body as the filter rebuilt it " +
      "(never the caller's text) is recorded under the user's EFS folder",
    async () => {
      const name = `oh-sbx-${alice.slug}-rec1`;
      await asAlice.run(name, DockerPyClient.sandboxBody(image));
      const record = JSON.parse(readFileSync(join(lab.config.paths.efsRoot, "users", alice.slug, "sandboxes", `${name}.json`), "utf8"));
      const sent = lab.calls.find((c) => c.method === "POST" && c.path === "/containers/create" && c.query.name === name)!.body;
      expect(record).toMatchObject({ version: 1, name, body: sent });
      expect(record.body.HostConfig).toMatchObject({
        NetworkMode: `oh-u-${alice.slug}`,
        Binds: [`${lab.config.paths.efsRoot}/users/${alice.slug}/workspace:/workspace:rw`],
      });
    },
  );

  it(
    "GIVEN another user's sandbox WHEN alice inspects it by Id or by name THEN 404 No such container, as if it did not exist; a " +
      "short Id is not even looked up",
    async () => {
      for (const ref of [bobSandboxId, bobName, bobSandboxId.slice(0, 12)]) {
        const res = await asAlice.call("GET", asAlice.v(`/containers/${ref}/json`));
        expect(res.status).toBe(404);
        expect(res.body).toBe(`{"message":"No such container: ${ref}"}\n`);
      }
      expect(reached("GET", `/containers/${bobSandboxId.slice(0, 12)}/json`)).toBe(0);
      expect(reached("GET", `/containers/${bobName}/json`)).toBe(0);
    },
  );

  it.each(["stop", "pause"])(
    "GIVEN another user's sandbox WHEN alice asks to %s it by Id or by " + "name THEN 404 and the daemon never receives the call",
    async (action) => {
      for (const ref of [bobSandboxId, bobName]) {
        const res = await asAlice.call("POST", asAlice.v(`/containers/${ref}/${action}`));
        expect(res.status).toBe(404);
      }
      expect(reached("POST", `/containers/${bobSandboxId}/${action}`)).toBe(0);
      expect(inspect(bobName).State.Status).toBe("running");
    },
  );

  it("GIVEN another user's sandbox WHEN alice removes it by Id or by name (even with force) THEN 404 and it still exists", async () => {
    for (const ref of [bobSandboxId, bobName]) {
      expect((await asAlice.call("DELETE", asAlice.v(`/containers/${ref}?v=False&link=False&force=True`))).status).toBe(404);
    }
    expect(exists(bobName)).toBe(true);
    expect(reached("DELETE", `/containers/${bobSandboxId}`)).toBe(0);
  });

  it(
    "GIVEN sandboxes of two users and apps WHEN alice lists all containers THEN " +
      "she sees only her own; list filters are refused with one answer",
    async () => {
      const { list } = await asAlice.listAll();
      const names: string[] = list.json().map((c: { Names: string[] }) => c.Names[0]);
      expect(names.length).toBeGreaterThan(0);
      for (const n of names) expect(n.startsWith(`/oh-sbx-${alice.slug}-`)).toBe(true);
      expect(names).not.toContain(`/${bobName}`);
      expect(names).not.toContain(`/oh-app-${alice.slug}`);
      // Existence oracle: filters (and since/before) are refused with one answer, whether bob's container exists or not.
      const answers = new Set<string>();
      for (const query of [
        `filters=${encodeURIComponent(JSON.stringify({ name: [bob.slug] }))}`,
        `filters=${encodeURIComponent(JSON.stringify({ before: [bobName] }))}`,
        `filters=${encodeURIComponent(JSON.stringify({ before: [`oh-sbx-${bob.slug}-missing`] }))}`,
        `before=${bobName}`,
        `since=oh-sbx-${bob.slug}-missing`,
      ]) {
        const res = await asAlice.call("GET", asAlice.v(`/containers/json?all=1&${query}`));
        answers.add(`${res.status} ${res.body}`);
      }
      expect([...answers]).toEqual([expect.stringMatching(/^400 .*only all, limit, size and trunc_cmd/)]);
      expect((await asAlice.call("GET", asAlice.v(`/containers/json?all=1&all=0`))).status).toBe(400);
      expect(
        lab.calls.filter(
          (c) =>
            c.path === "/containers/json" && (c.query.before || c.query.since || /bob|before|since|missing/.test(c.query.filters ?? "")),
        ),
      ).toHaveLength(0);
    },
  );

  const refusedCreate = async (
    suffix: string,
    overrides: Parameters<typeof DockerPyClient.sandboxBody>[1],
    pattern: RegExp,
    status = 403,
  ) => {
    const name = `oh-sbx-${alice.slug}-${suffix}`;
    const res = await asAlice.call("POST", asAlice.v(`/containers/create?name=${name}`), DockerPyClient.sandboxBody(image, overrides));
    expect(res.status).toBe(status);
    expect(res.json().message).toMatch(pattern);
    expect(lab.calls.filter((c) => c.path === "/containers/create" && c.query.name === name)).toHaveLength(0);
    expect(exists(name)).toBe(false);
  };

  it("GIVEN a privileged create THEN it is refused before the daemon sees it", () =>
    refusedCreate("priv", { HostConfig: { Privileged: true } }, /privileged/));
  it("GIVEN a host-network create (AGENT_SERVER_USE_HOST_NETWORK) THEN it is refused", () =>
    refusedCreate("hostnet", { HostConfig: { NetworkMode: "host" } }, /network mode "host"/));
  it("GIVEN a create joining another container's network namespace THEN it is refused", () =>
    refusedCreate("joinnet", { HostConfig: { NetworkMode: `container:${bobSandboxId}` } }, /network mode/));
  it("GIVEN a create with the host PID namespace THEN it is refused", () =>
    refusedCreate("hostpid", { HostConfig: { PidMode: "host" } }, /PidMode/));
  it("GIVEN a create binding a foreign host path (another user's workspace) THEN it is refused", () =>
    refusedCreate(
      "bind",
      { HostConfig: { Binds: [`${lab.config.paths.efsRoot}/users/${bob.slug}/workspace:/workspace:rw`] } },
      /bind mounts/,
    ));
  it("GIVEN a create mounting the Docker socket through Mounts THEN it is refused", () =>
    refusedCreate(
      "mount",
      { HostConfig: { Mounts: [{ Type: "bind", Source: "/var/run/docker.sock", Target: "/var/run/docker.sock" }] } },
      /bind mounts/,
    ));
  it("GIVEN a create with a device (SANDBOX_KVM_ENABLED's /dev/kvm) THEN it is refused", () =>
    refusedCreate(
      "kvm",
      { HostConfig: { Devices: [{ PathOnHost: "/dev/kvm", PathInContainer: "/dev/kvm", CgroupPermissions: "rwm" }] } },
      /devices/,
    ));
  it("GIVEN a create adding capabilities THEN it is refused", () =>
    refusedCreate("caps", { HostConfig: { CapAdd: ["SYS_ADMIN"] } }, /CapAdd/));
  it("GIVEN a create with its own log driver (dockerd would connect out with the host's role) THEN it is refused", () =>
    refusedCreate("logs", { HostConfig: { LogConfig: { Type: "awslogs", Config: { "awslogs-group": "someone-elses" } } } }, /LogConfig/));
  it("GIVEN a create publishing a thousand ports THEN it is refused", () =>
    refusedCreate(
      "ports",
      { ExposedPorts: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`${9000 + i}/tcp`, {}])) },
      /at most 16 ports/,
    ));
  it("GIVEN a create lowering its OOM score (the kernel would kill others first) THEN it is refused as an unknown field", () =>
    refusedCreate("oom", { HostConfig: { OomScoreAdj: -1000 } }, /HostConfig.OomScoreAdj" is not allowed/, 400));
  it("GIVEN a create joining another user's network THEN it is refused", () =>
    refusedCreate("othernet", { NetworkingConfig: { EndpointsConfig: { [`oh-u-${bob.slug}`]: {} } } }, /network "oh-u-/));
  it("GIVEN a create of another image THEN it is refused", () =>
    refusedCreate("img", { Image: "alpine:3" }, /image "alpine:3" is not allowed/));
  it("GIVEN a create that restarts itself (outliving its user's cull) THEN it is refused", () =>
    refusedCreate("restart", { HostConfig: { RestartPolicy: { Name: "always" } } }, /restart policy/));

  it("GIVEN a create named inside another user's prefix or as an app THEN it is refused", async () => {
    const creates = lab.callsMatching("POST", /^\/containers\/create$/).length;
    for (const name of [`oh-sbx-${bob.slug}-squat`, `oh-app-${alice.slug}`, `oh-sbx-${alice.slug}-`, "other"]) {
      const res = await asAlice.call("POST", asAlice.v(`/containers/create?name=${name}`), DockerPyClient.sandboxBody(image));
      expect(res.status).toBe(403);
    }
    expect(lab.callsMatching("POST", /^\/containers\/create$/)).toHaveLength(creates);
  });

  it("GIVEN calls outside the allow-list or path tricks THEN 403 and nothing reaches the daemon", async () => {
    const before = lab.calls.length;
    const attempts: Array<[string, string]> = [
      ["GET", "/_ping"],
      ["GET", "/info"],
      ["POST", asAlice.v(`/containers/${bobSandboxId}/exec`)],
      ["POST", asAlice.v(`/containers/${bobSandboxId}/attach?stream=1`)],
      ["GET", asAlice.v(`/containers/${bobSandboxId}/logs`)],
      ["POST", asAlice.v(`/containers/${bobSandboxId}/kill`)],
      ["GET", asAlice.v("/networks")],
      ["POST", asAlice.v("/volumes/create")],
      ["POST", asAlice.v("/build")],
      ["GET", asAlice.v(`/containers/oh-sbx-${alice.slug}-x/../${bobName}/json`)],
      ["GET", asAlice.v(`/containers/oh-sbx-${alice.slug}-x%2F..%2F${bobName}/json`)],
      ["POST", asAlice.v(`/containers/create`)],
    ];
    for (const [method, path] of attempts) {
      const res = await asAlice.call(method, path, method === "POST" ? {} : undefined);
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
    }
    expect(lab.calls.length).toBe(before);
  });

  it("GIVEN a create whose body is not JSON, or too large THEN a clear refusal, not a crash", async () => {
    const name = `oh-sbx-${alice.slug}-junk`;
    const junk = await asAlice.call("POST", asAlice.v(`/containers/create?name=${name}`), "{not json");
    expect(junk.status).toBe(400);
    expect(junk.json().message).toMatch(/not acceptable JSON/);
    const huge = await asAlice.call("POST", asAlice.v(`/containers/create?name=${name}`), {
      Image: image,
      Env: [`X=${"a".repeat(2 * 1024 * 1024)}`],
    });
    expect(huge.status).toBe(413);
    expect((await asAlice.call("GET", "/version")).status).toBe(200);
    expect(exists(name)).toBe(false);
  });

  it("GIVEN a pull of any other image THEN it is refused before the daemon", async () => {
    const before = lab.calls.filter((c) => c.path === "/images/create").length;
    const res = await asAlice.call("POST", asAlice.v("/images/create?fromImage=docker.io/library/alpine&tag=3"));
    expect(res.status).toBe(403);
    expect(lab.calls.filter((c) => c.path === "/images/create")).toHaveLength(before);
  });

  it("GIVEN another user's sandbox volume WHEN alice inspects or deletes it THEN dockerd's 404 without reaching the daemon", async () => {
    for (const method of ["GET", "DELETE"]) {
      const res = await asAlice.call(method, asAlice.v(`/volumes/openhands-workspace-${bobName}`));
      expect(res.status).toBe(404);
      expect(res.body).toBe(`{"message":"get openhands-workspace-${bobName}: no such volume"}\n`);
    }
    expect(lab.calls.filter((c) => c.path === `/volumes/openhands-workspace-${bobName}`)).toHaveLength(0);
  });
});
