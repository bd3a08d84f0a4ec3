/**
 * The spawner on a REAL Docker engine (docker-lab: dockerd 20.10 in a network namespace of its own), with the
 * stand-in images for the app and the agent-server. What the engine built is judged by `docker inspect`, not by
 * the filter's answer. One spawner, one engine, the tests in order (a user's life: start, sandboxes, escapes,
 * restart, events, cull, host replacement).
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { docker, labEngine, describeWithEngine } from "@openhands-team/docker-lab";
import { DockerPyClient } from "./helpers/docker-py";
import { eventually, http, user } from "./helpers/harness";
import { ensureLabImages } from "./helpers/lab-images";
import { execNode, exists, inspect, rawExchange, startLabSpawner, type LabSpawner } from "./helpers/lab-spawner";

jest.setTimeout(120_000);

describeWithEngine("spawner on a real Docker engine", () => {
  let lab: LabSpawner;
  let images: { app: string; agentServer: string; node: string };
  const alice = user(301);
  const bob = user(302);
  const MAX_CONTAINERS = 6;
  const gateway = (n: number) => `10.241.${n}.1`;
  let asAlice: DockerPyClient;
  let asBob: DockerPyClient;
  let bobSandbox: { id: string; name: string };
  const keep = `oh-sbx-${alice.slug}-keep`;

  const ensure = (who: { sub: string; slug: string }) =>
    http({ url: `${lab.service.apiUrl}/v1/users/${who.slug}/ensure`, method: "POST", body: { sub: who.sub } });
  const aliceContainers = () =>
    docker(["ps", "-aq", "--filter", `name=^/oh-sbx-${alice.slug}-`])
      .stdout.split("\n")
      .filter(Boolean);

  beforeAll(async () => {
    images = await ensureLabImages();
    lab = await startLabSpawner(
      { app: images.app, agentServer: images.agentServer },
      { users: { maxSandboxContainersPerUser: MAX_CONTAINERS } },
    );
  });
  afterAll(async () => {
    await lab?.close();
  });

  it(
    "GIVEN a new user WHEN ensure runs THEN the engine has their bridge (IPAM .2 app, sandboxes from .128/25, ICC off), the app with " +
      "limits, restart policy, binds and labels, healthy and seeded",
    async () => {
      const res = await ensure(alice);
      expect(res.status).toBe(200);
      expect(res.json()).toEqual({ state: "running", upstream: "http://10.241.1.2:3000" });
      const network = inspect(`oh-u-${alice.slug}`, "network");
      expect(network.IPAM.Config).toEqual([{ Subnet: "10.241.1.0/24", IPRange: "10.241.1.128/25", Gateway: gateway(1) }]);
      expect(network.Options).toEqual({
        "com.docker.network.bridge.enable_icc": "false",
        "com.docker.network.bridge.name": `ohu-${alice.slug.slice(0, 11)}`,
      });
      expect(network.Labels).toEqual({ "org.openhands-team.owner": alice.slug });
      const app = inspect(`oh-app-${alice.slug}`);
      expect(app.State.Status).toBe("running");
      expect(app.NetworkSettings.Networks[`oh-u-${alice.slug}`].IPAddress).toBe("10.241.1.2");
      expect(Object.keys(app.NetworkSettings.Networks)).toEqual([`oh-u-${alice.slug}`]);
      expect(app.HostConfig).toMatchObject({
        Memory: 256 * 1024 * 1024,
        NanoCpus: 5e8,
        PidsLimit: 200,
        RestartPolicy: { Name: "unless-stopped" },
        Init: true,
      });
      expect(app.HostConfig.Binds).toEqual([
        `${lab.config.paths.efsRoot}/users/${alice.slug}/openhands:/.openhands:rw`,
        `${lab.config.paths.dockerApiDir}/${alice.slug}:/run/ohdocker:ro`,
      ]);
      expect(app.Config.Labels).toMatchObject({ "org.openhands-team.owner": alice.slug, "org.openhands-team.role": "app" });
      expect(app.Config.Env).toContain("DOCKER_HOST=unix:///run/ohdocker/docker.sock");
      // The kernel enforces the limits dockerd reports (cgroup v1 in the lab).
      const memoryLimit = `/sys/fs/cgroup/memory/docker/${app.Id}/memory.limit_in_bytes`;
      if (existsSync(memoryLimit)) expect(readFileSync(memoryLimit, "utf8").trim()).toBe(String(256 * 1024 * 1024));
      else console.warn(`SKIPPED (cgroup file check): ${memoryLimit} is not visible here; the limit is checked by inspect only`);
      // Seeded: the app keeps its settings under FILE_STORE_PATH, the user's EFS folder.
      const settings = JSON.parse(readFileSync(join(lab.config.paths.efsRoot, "users", alice.slug, "openhands", "settings.json"), "utf8"));
      expect(JSON.stringify(settings)).toContain("litellm_proxy/claude-sonnet");
      expect((await ensure(bob)).status).toBe(200);
      expect(inspect(`oh-app-${bob.slug}`).NetworkSettings.Networks[`oh-u-${bob.slug}`].IPAddress).toBe("10.241.2.2");
      asAlice = new DockerPyClient(lab.service.sandboxes.socketPathFor(alice.slug));
      asBob = new DockerPyClient(lab.service.sandboxes.socketPathFor(bob.slug));
      await asAlice.negotiate();
      await asBob.negotiate();
      const run = await asBob.run(`oh-sbx-${bob.slug}-b1`, DockerPyClient.sandboxBody(images.agentServer));
      expect(run.start?.status).toBe(204);
      bobSandbox = { id: run.id!, name: `oh-sbx-${bob.slug}-b1` };
    },
  );

  it(
    "GIVEN docker-py 7.1 (OpenHands' client) WHEN it replays DockerSandboxService's calls through the filtered socket THEN every " +
      "call works and only the user's sandboxes are seen",
    async () => {
      const name = `oh-sbx-${alice.slug}-dockerpy`;
      // Asynchronously: the filter answering docker-py runs in this very process.
      const result = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn("python3", [join(__dirname, "helpers", "docker_py_replay.py"), images.agentServer, name, bobSandbox.name], {
          env: { ...process.env, DOCKER_HOST: `unix://${lab.service.sandboxes.socketPathFor(alice.slug)}` },
          timeout: 90_000,
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk) => (stdout += chunk));
        child.stderr.on("data", (chunk) => (stderr += chunk));
        child.on("close", (status) => resolve({ status, stdout, stderr }));
      });
      expect({ status: result.status, stderr: result.stderr.slice(-2000) }).toEqual({ status: 0, stderr: expect.any(String) });
      const out = JSON.parse(result.stdout);
      expect(out).toMatchObject({
        api_version: "1.41",
        image_tags: [images.agentServer],
        spec_tags: [images.agentServer],
        status_after_run: "running",
        status_after_pause: "paused",
        status_after_unpause: "running",
        status_after_stop: "exited",
        status_after_start: "running",
        other_get_status: 404,
        get_after_remove_status: 404,
        volume_get_status: 404,
      });
      // No registry: the daemon's own error passes through (OpenHands then reports the spec as missing).
      expect(out.pull_status).toBe(500);
      expect(out.listed).toEqual([name]);
      expect(out.listed_after_remove).toEqual([]);
      // dockerd picked the host ports (OpenHands asked for 41001...) on the user's gateway.
      for (const key of ["8000/tcp", "8001/tcp", "8011/tcp", "8012/tcp"]) {
        expect(out.ports[key]).toHaveLength(1);
        expect(out.ports[key][0].HostIp).toBe(gateway(1));
        expect(out.ports[key][0].HostPort).not.toBe("41001");
      }
      expect(exists(name)).toBe(false);
      expect(existsSync(join(lab.config.paths.efsRoot, "users", alice.slug, "sandboxes", `${name}.json`))).toBe(false);
    },
  );

  it(
    "GIVEN a sandbox created through the filter THEN the engine built it on the user's bridge with limits, CapDrop NET_RAW, the " +
      "workspace bind, ports on the gateway, no restart; its port answers and the route resolves",
    async () => {
      const run = await asAlice.run(keep, DockerPyClient.sandboxBody(images.agentServer));
      expect([run.create.status, run.start?.status]).toEqual([201, 204]);
      const c = inspect(keep);
      expect(Object.keys(c.NetworkSettings.Networks)).toEqual([`oh-u-${alice.slug}`]);
      const ip: string = c.NetworkSettings.Networks[`oh-u-${alice.slug}`].IPAddress;
      expect(Number(ip.split(".")[3])).toBeGreaterThanOrEqual(128);
      expect(c.HostConfig).toMatchObject({
        NetworkMode: `oh-u-${alice.slug}`,
        Memory: 300 * 1024 * 1024,
        NanoCpus: 2.5e8,
        PidsLimit: 200,
        CapDrop: ["NET_RAW"],
        Privileged: false,
        RestartPolicy: { Name: "no" },
        Binds: [`${lab.config.paths.efsRoot}/users/${alice.slug}/workspace:/workspace:rw`],
        ExtraHosts: [`host.docker.internal:${gateway(1)}`],
        Init: true,
      });
      expect(c.HostConfig.CapAdd).toBeNull();
      expect(c.Config.Labels).toMatchObject({ sandbox_spec_id: images.agentServer, "org.openhands-team.owner": alice.slug });
      const port = c.NetworkSettings.Ports["8000/tcp"][0];
      expect(port.HostIp).toBe(gateway(1));
      // The agent-server answers /health on the published port, on the user's gateway (1.19.1: the JSON string "OK").
      const health = await eventually(async () => {
        const res = await http({ url: `http://${gateway(1)}:${port.HostPort}/health` }).catch(() => undefined);
        return res?.status === 200 ? res : undefined;
      }, 20_000);
      expect(health.body).toBe('"OK"');
      const route = await eventually(async () => {
        const res = await http({ url: `${lab.service.apiUrl}/v1/routes/resolve?host=${port.HostPort}-${alice.slug}.runtime.example.com` });
        return res.status === 200 ? res.json() : undefined;
      });
      expect(route).toMatchObject({ owner: alice.slug, upstream: `http://${ip}:8000`, kind: "agent-server" });
      // ICC off: the sandbox cannot reach its own app's address on the bridge directly.
      const direct = await execNode(
        keep,
        `require("net").connect({host:"10.241.1.2",port:3000,timeout:1500}).on("connect",()=>{console.log("open");process.exit(0)}` +
          `).on("timeout",()=>{console.log("blocked");process.exit(0)}).on("error",()=>{console.log("blocked");process.exit(0)})`,
      );
      expect(direct.stdout.trim()).toBe("blocked");
    },
  );

  /** Sends a create body as raw text (duplicate keys survive) through alice's filtered socket. */
  const rawCreate = (name: string, text: string, chunked = false) => {
    const path = `/v1.41/containers/create?name=${name}`;
    const head = chunked
      ? `POST ${path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`
      : `POST ${path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: ` +
        `${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n`;
    const half = Math.floor(text.length / 2);
    const body = chunked
      ? [text.slice(0, half), text.slice(half)].map((part) => `${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`).join("") +
        "0\r\n\r\n"
      : text;
    return rawExchange(lab.service.sandboxes.socketPathFor(alice.slug), head + body).then((answer) => ({
      status: Number(answer.split(" ")[1]),
      body: answer.slice(answer.indexOf("\r\n\r\n") + 4),
    }));
  };

  it(
    "GIVEN creates whose keys dockerd would fold onto HostConfig, NetworkingConfig or a HostConfig field, or given twice, plain or " +
      "chunked THEN each is refused and the engine has no such container",
    async () => {
      const body = DockerPyClient.sandboxBody(images.agentServer);
      const base = JSON.stringify(body).slice(0, -1);
      const hc = JSON.stringify(body.HostConfig).slice(0, -1);
      const attacks: Array<[string, string]> = [
        ["hcnull", `${base},"hostconfig":null}`],
        ["hcempty", `${base},"HOSTCONFIG":{}}`],
        ["nwnull", `${base},"networkingconfig":null}`],
        ["nwbridge", `${base},"NetworkingConfig":{"EndpointsConfig":{"bridge":{}}}}`],
        ["modeempty", `${base.replace(hc, `${hc},"networkmode":""`)}}`],
        ["foldsysctl", `${base.replace(hc, `${hc},"\u017fysctls":{"net.ipv4.ip_forward":"1"}`)}}`],
        ["kelvin", `${base.replace(hc, `${hc},"\u212aernelMemory":0`)}}`],
        ["caps", `${base.replace(hc, `${hc},"capadd":["NET_ADMIN"]`)}}`],
        ["dupe", `${base},"HostConfig":{"NetworkMode":"bridge","Privileged":true}}`],
        ["escaped", `${base},"Host\\u0043onfig":{"Privileged":true}}`],
        ["dupmode", `${base.replace('"NetworkMode":"default"', '"NetworkMode":"default","NetworkMode":"host"')}}`],
      ];
      for (const [suffix, text] of attacks) {
        for (const chunked of [false, true]) {
          const name = `oh-sbx-${alice.slug}-esc-${suffix}${chunked ? "-c" : ""}`;
          const answer = await rawCreate(name, text, chunked);
          expect({ suffix, chunked, status: answer.status }).toEqual({ suffix, chunked, status: expect.any(Number) });
          expect([400, 403]).toContain(answer.status);
          expect(exists(name)).toBe(false);
        }
      }
      expect(readdirSync(join(lab.config.paths.efsRoot, "users", alice.slug, "sandboxes")).filter((f) => f.includes("-esc-"))).toEqual([]);
    },
  );

  it(
    "GIVEN creates asking for docker0 ('bridge', '') or with no HostConfig at all THEN the engine still puts them on the user's " +
      "bridge with every limit, CapDrop and the workspace bind",
    async () => {
      const variants: Array<[string, Record<string, unknown>]> = [
        ["nobr", { ...DockerPyClient.sandboxBody(images.agentServer), HostConfig: { NetworkMode: "bridge" } }],
        ["noempty", { ...DockerPyClient.sandboxBody(images.agentServer), HostConfig: { NetworkMode: "" } }],
        ["nohc", { Image: images.agentServer, Cmd: ["--port", "8000"] }],
      ];
      for (const [suffix, body] of variants) {
        const name = `oh-sbx-${alice.slug}-${suffix}`;
        const created = await asAlice.call("POST", asAlice.v(`/containers/create?name=${name}`), body);
        expect(created.status).toBe(201);
        const c = inspect(name);
        expect(Object.keys(c.NetworkSettings.Networks)).toEqual([`oh-u-${alice.slug}`]);
        expect(c.HostConfig).toMatchObject({
          NetworkMode: `oh-u-${alice.slug}`,
          Memory: 300 * 1024 * 1024,
          NanoCpus: 2.5e8,
          PidsLimit: 200,
          CapDrop: ["NET_RAW"],
          Binds: [`${lab.config.paths.efsRoot}/users/${alice.slug}/workspace:/workspace:rw`],
        });
        expect((await asAlice.call("DELETE", asAlice.v(`/containers/${c.Id}?v=False&link=False&force=False`))).status).toBe(204);
      }
    },
  );

  it(
    "GIVEN a sandbox id longer than the spawner tracks THEN the filter " + "refuses it; the longest it tracks is created and tracked",
    async () => {
      const tooLong = `oh-sbx-${alice.slug}-${"x".repeat(150)}`;
      const refused = await asAlice.call(
        "POST",
        asAlice.v(`/containers/create?name=${tooLong}`),
        DockerPyClient.sandboxBody(images.agentServer),
      );
      expect(refused.status).toBe(403);
      expect(exists(tooLong)).toBe(false);
      const longest = `oh-sbx-${alice.slug}-${"y".repeat(128)}`;
      const created = await asAlice.call(
        "POST",
        asAlice.v(`/containers/create?name=${longest}`),
        DockerPyClient.sandboxBody(images.agentServer),
      );
      expect(created.status).toBe(201);
      await eventually(() => lab.service.view.containersOf(alice.slug).some((c) => c.name === longest) || undefined);
      expect((await asAlice.call("DELETE", asAlice.v(`/containers/${longest}?force=True`))).status).toBe(204);
    },
  );

  it(
    "GIVEN another user's container WHEN alice asks for it by Id or name THEN the answer is byte for byte the one for a container " +
      "that does not exist, and dockerd's own",
    async () => {
      const socket = lab.service.sandboxes.socketPathFor(alice.slug);
      const get = (s: string, ref: string) =>
        rawExchange(s, `GET /v1.41/containers/${ref}/json HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n`);
      const normalise = (answer: string, ref: string) =>
        answer
          .replace(/^Date: .*$/m, "Date: <date>")
          .split(ref)
          .join("<ref>");
      const missingId = "0".repeat(64);
      // Same length as bob's sandbox name, so the answers can be compared byte for byte (Content-Length included).
      const missingName = `oh-sbx-${alice.slug}-zz`;
      const ownForBobId = normalise(await get(socket, bobSandbox.id), bobSandbox.id);
      const daemonForMissingId = normalise(await get(socket, missingId), missingId);
      expect(ownForBobId).toBe(daemonForMissingId);
      const ownForBobName = normalise(await get(socket, bobSandbox.name), bobSandbox.name);
      const daemonForMissingName = normalise(await get(socket, missingName), missingName);
      expect(ownForBobName).toBe(daemonForMissingName);
      // And what dockerd itself answers: the same bytes (status line, headers in order, body with its newline).
      const direct = normalise(await get(labEngine()!.socketPath, missingName), missingName);
      expect(ownForBobName).toBe(direct);
      expect(direct.endsWith('{"message":"No such container: <ref>"}\n')).toBe(true);
      // Images: another image's Id (the app's) answers as a missing Id does, byte for byte dockerd's.
      const appImageId: string = inspect(`oh-app-${alice.slug}`).Image.split(":")[1];
      const image = (s: string, ref: string) =>
        rawExchange(s, `GET /v1.41/images/${ref}/json HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n`);
      const missingImage = "0".repeat(64);
      expect(normalise(await image(socket, appImageId), appImageId)).toBe(
        normalise(await image(labEngine()!.socketPath, missingImage), missingImage),
      );
      expect((await image(socket, inspect(keep).Image.split(":")[1])).split(" ")[1]).toBe("200");
      // List filters that answer by existence (before/since, as filters or parameters): one answer either way.
      const list = async (query: string) => {
        const res = await asAlice.call("GET", asAlice.v(`/containers/json?all=1&${query}`));
        return `${res.status} ${res.body}`;
      };
      const answers = new Set([
        await list(`filters=${encodeURIComponent(JSON.stringify({ before: [bobSandbox.name] }))}`),
        await list(`filters=${encodeURIComponent(JSON.stringify({ before: [`oh-sbx-${bob.slug}-none`] }))}`),
        await list(`before=${bobSandbox.id}`),
        await list(`since=${missingId}`),
      ]);
      expect(answers.size).toBe(1);
      expect([...answers][0]).toMatch(/^400 /);
    },
  );

  it("GIVEN a 1 ms healthcheck THEN refused and not created; a bounded one is created as asked", async () => {
    const fast = `oh-sbx-${alice.slug}-hc1`;
    const refused = await asAlice.call("POST", asAlice.v(`/containers/create?name=${fast}`), {
      ...DockerPyClient.sandboxBody(images.agentServer),
      Healthcheck: { Test: ["CMD", "/usr/bin/node", "-e", "0"], Interval: 1_000_000 },
    });
    expect(refused.status).toBe(403);
    expect(exists(fast)).toBe(false);
    const bounded = `oh-sbx-${alice.slug}-hc5`;
    const created = await asAlice.call("POST", asAlice.v(`/containers/create?name=${bounded}`), {
      ...DockerPyClient.sandboxBody(images.agentServer),
      Healthcheck: { Test: ["CMD", "/usr/bin/node", "-e", "0"], Interval: 5e9, Retries: 3 },
    });
    expect(created.status).toBe(201);
    expect(inspect(bounded).Config.Healthcheck).toEqual({ Test: ["CMD", "/usr/bin/node", "-e", "0"], Interval: 5e9, Retries: 3 });
    expect((await asAlice.call("DELETE", asAlice.v(`/containers/${bounded}`))).status).toBe(204);
  });

  it(
    "GIVEN a user at users.maxSandboxContainersPerUser (created, never started) WHEN they create one more THEN refused, and the " +
      "engine has exactly the cap",
    async () => {
      let n = 0;
      while (aliceContainers().length < MAX_CONTAINERS) {
        const res = await asAlice.call(
          "POST",
          asAlice.v(`/containers/create?name=oh-sbx-${alice.slug}-cap${n}`),
          DockerPyClient.sandboxBody(images.agentServer),
        );
        expect(res.status).toBe(201);
        n += 1;
      }
      const over = await asAlice.call(
        "POST",
        asAlice.v(`/containers/create?name=oh-sbx-${alice.slug}-over`),
        DockerPyClient.sandboxBody(images.agentServer),
      );
      expect(over.status).toBe(403);
      expect(over.json().message).toMatch(/maxSandboxContainersPerUser/);
      expect(aliceContainers()).toHaveLength(MAX_CONTAINERS);
      for (let i = 0; i < n; i += 1)
        expect((await asAlice.call("DELETE", asAlice.v(`/containers/oh-sbx-${alice.slug}-cap${i}`))).status).toBe(204);
    },
  );

  it(
    "GIVEN the relay on alice's gateway WHEN her sandbox calls host.docker.internal THEN relayed (the app itself answers: 401 " +
      "without the sandbox's key); WHEN bob's sandbox calls her gateway THEN 403 from the relay itself",
    async () => {
      const call = async (container: string, host: string) =>
        (
          await execNode(
            container,
            `require("http").request({host:${JSON.stringify(host)},port:3000,path:"/api/v1/webhooks/conversations",method:"POST",` +
              `timeout:10000,headers:{"content-type":"application/json"}},(r)=>{console.log(r.statusCode);process.exit(0)}).on("error",` +
              `(e)=>{console.log("error "+e.code);process.exit(0)}).end("{}")`,
          )
        ).stdout.trim();
      expect(await call(keep, "host.docker.internal")).toBe("401");
      expect(await call(bobSandbox.name, gateway(1))).toBe("403");
      expect(lab.logs.some((line) => line.includes("callers outside this user's network are refused"))).toBe(true);
    },
  );

  it(
    "GIVEN a sandbox stopped and started behind the spawner's back THEN docker " +
      "events drop and restore its routes (with the new host port)",
    async () => {
      const before = inspect(keep).NetworkSettings.Ports["8000/tcp"][0].HostPort;
      const resolve = (port: string) =>
        http({ url: `${lab.service.apiUrl}/v1/routes/resolve?host=${port}-${alice.slug}.runtime.example.com` });
      docker(["stop", "-t", "1", keep]);
      await eventually(async () => (await resolve(before)).status === 404 || undefined, 15_000);
      docker(["start", keep]);
      const after = inspect(keep).NetworkSettings.Ports["8000/tcp"][0].HostPort;
      await eventually(async () => (await resolve(after)).status === 200 || undefined, 15_000);
    },
  );

  it(
    "GIVEN running apps and sandboxes WHEN the spawner restarts THEN it rebuilds its state from the engine: no new container, relay " +
      "and socket back, routes resolvable",
    async () => {
      const containersBefore = docker(["ps", "-aq"]).stdout.split("\n").filter(Boolean).sort();
      await lab.restart();
      const answer = await eventually(async () => {
        const res = await ensure(alice);
        return res.status === 200 ? res : undefined;
      }, 30_000);
      expect(answer.json().upstream).toBe("http://10.241.1.2:3000");
      expect(docker(["ps", "-aq"]).stdout.split("\n").filter(Boolean).sort()).toEqual(containersBefore);
      expect(lab.service.relay.isOpen(alice.slug)).toBe(true);
      expect(existsSync(lab.service.sandboxes.socketPathFor(alice.slug))).toBe(true);
      const port = inspect(keep).NetworkSettings.Ports["8000/tcp"][0].HostPort;
      expect((await http({ url: `${lab.service.apiUrl}/v1/routes/resolve?host=${port}-${alice.slug}.runtime.example.com` })).status).toBe(
        200,
      );
    },
  );

  it(
    "GIVEN alice idle past idleMinutes WHEN the cull pass runs THEN the engine has her sandbox and app stopped (bob's untouched), " +
      "relay and socket closed",
    async () => {
      const spawner = lab.service.spawner as unknown as { activity: Map<string, number> };
      spawner.activity.set(alice.slug, Date.now() - 61 * 60_000);
      spawner.activity.set(bob.slug, Date.now());
      expect(await lab.service.spawner.cullIdle()).toEqual([alice.slug]);
      expect(inspect(keep).State.Status).toBe("exited");
      expect(inspect(`oh-app-${alice.slug}`).State.Status).toBe("exited");
      expect(inspect(`oh-app-${bob.slug}`).State.Status).toBe("running");
      expect(lab.service.relay.isOpen(alice.slug)).toBe(false);
      expect(existsSync(lab.service.sandboxes.socketPathFor(alice.slug))).toBe(false);
    },
  );

  it(
    "GIVEN a replacement host (alice's containers and network gone, EFS kept) WHEN she comes back THEN her sandbox is recreated from " +
      "its record through the review, exited, with limits, bind and session key",
    async () => {
      await lab.service.close();
      docker([
        "rm",
        "-f",
        ...docker(["ps", "-aq", "--filter", `name=^/oh-(app|sbx)-${alice.slug}`])
          .stdout.split("\n")
          .filter(Boolean),
      ]);
      docker(["network", "rm", `oh-u-${alice.slug}`]);
      expect(exists(keep)).toBe(false);
      await lab.restart();
      expect((await ensure(alice)).status).toBe(200);
      const c = inspect(keep);
      expect(c.State.Status).toBe("exited");
      expect(c.Config.Env).toContain("OH_SESSION_API_KEYS_0=session-key-of-this-sandbox");
      expect(c.HostConfig).toMatchObject({
        NetworkMode: `oh-u-${alice.slug}`,
        Memory: 300 * 1024 * 1024,
        PidsLimit: 200,
        CapDrop: ["NET_RAW"],
        Binds: [`${lab.config.paths.efsRoot}/users/${alice.slug}/workspace:/workspace:rw`],
      });
      expect(c.HostConfig.PortBindings["8000/tcp"]).toEqual([{ HostIp: c.HostConfig.PortBindings["8000/tcp"][0].HostIp, HostPort: "" }]);
    },
  );
});
