/**
 * The lab itself: dockerd answers in this process's own network namespace, limits work, and the base stand-in
 * image runs Node.js.
 */
import { llmUserKey } from "@openhands-team/contracts";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { describeWithEngine, docker, dockerAsync, ensureImage, labEngine, STAND_IN } from "../src";

describeWithEngine("docker-lab engine", () => {
  test("runs in a network namespace of its own, not the machine's", () => {
    const engine = labEngine();
    expect(engine?.netns).toMatch(/^ohlab-\d+$/);
    // This process is in the lab's namespace...
    expect(statSync("/proc/self/ns/net").ino).toBe(statSync(`/run/netns/${engine?.netns}`).ino);
    // ...which holds only loopback and what dockerd made, none of the machine's interfaces.
    const names = Object.keys(networkInterfaces()).sort();
    expect(names.filter((name) => name !== "lo" && name !== "docker0")).toEqual([]);
  });

  test("enforces memory and pids limits (cgroups visible to dockerd)", () => {
    const info = JSON.parse(docker(["info", "--format", "{{json .}}"]).stdout) as { MemoryLimit: boolean; PidsLimit: boolean };
    expect(info.MemoryLimit).toBe(true);
    expect(info.PidsLimit).toBe(true);
  });

  test("the base stand-in runs Node.js and a shell, and the second ensure is a no-op", async () => {
    const reference = await ensureImage(STAND_IN.node);
    const out = docker([
      "run",
      "--rm",
      "--memory",
      "64m",
      reference,
      "node",
      "-e",
      "console.log(process.version, require('os').userInfo().uid)",
    ]);
    expect(out.stdout.trim()).toBe(`${process.version} 0`);
    const sh = docker(["run", "--rm", reference, "sh", "-c", "echo $((6*7))"]);
    expect(sh.stdout.trim()).toBe("42");
    const before = docker(["image", "inspect", "--format", "{{.Id}}", reference]).stdout;
    await ensureImage(STAND_IN.node);
    expect(docker(["image", "inspect", "--format", "{{.Id}}", reference]).stdout).toBe(before);
  });

  test("dockerAsync runs a command while this process's timers keep running, and reports a failure as docker does", async () => {
    const reference = await ensureImage(STAND_IN.node);
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 20);
    try {
      const slow = await dockerAsync(["run", "--rm", reference, "node", "-e", "setTimeout(() => console.log('done'), 1000)"]);
      expect(slow).toEqual({ status: 0, stdout: "done\n", stderr: "" });
    } finally {
      clearInterval(timer);
    }
    // A blocking call would have let no tick through during the container's second.
    expect(ticks).toBeGreaterThan(10);
    await expect(dockerAsync(["run", "--rm", reference, "sh", "-c", "echo no >&2; exit 3"])).rejects.toThrow(/exit 3: no$/);
    expect(await dockerAsync(["run", "--rm", reference, "sh", "-c", "exit 4"], { allowFailure: true })).toMatchObject({ status: 4 });
  });

  test("a pull of a stand-in name fails at once: no registry is reachable", () => {
    const pull = docker(["pull", "localhost:1/openhands-standin/nothing:1"], { allowFailure: true });
    expect(pull.status).not.toBe(0);
  });

  test("refuses a reference that is not a stand-in", async () => {
    await expect(ensureImage("docker.io/library/busybox:latest")).rejects.toThrow(/not a stand-in image/);
  });
});

describeWithEngine("the OpenResty stand-in", () => {
  test("runs a Lua location with resty.core and cjson, through the `openresty` command the compose file uses", async () => {
    const reference = await ensureImage(STAND_IN.openresty);
    const dir = mkdtempSync(join(tmpdir(), "lab-openresty-"));
    const port = 20000 + (process.pid % 20000);
    writeFileSync(
      join(dir, "nginx.conf"),
      `error_log stderr warn;\npid ${dir}/nginx.pid;\nevents {}\nhttp {\n  ` +
        `client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;\n` +
        `  server {\n    listen 127.0.0.1:${port};\n    location / {\n      ` +
        `content_by_lua_block {\n        require("resty.core")\n` +
        `        ngx.say(require("cjson").encode({ ok = true, lua = ngx.config.ngx_lua_version }))\n      }\n    }\n  }\n}\n`,
    );
    const name = `lab-openresty-${process.pid}`;
    docker([
      "run",
      "-d",
      "--name",
      name,
      "--network",
      "host",
      "-v",
      `${dir}:${dir}`,
      reference,
      "openresty",
      "-p",
      dir,
      "-c",
      `${dir}/nginx.conf`,
      "-g",
      "daemon off;",
    ]);
    try {
      let body = "";
      for (let attempt = 0; attempt < 50 && !body; attempt += 1) {
        body = await fetch(`http://127.0.0.1:${port}/`)
          .then((r) => r.text())
          .catch(() => "");
        if (!body) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(JSON.parse(body)).toMatchObject({ ok: true });
    } finally {
      docker(["rm", "-f", name], { allowFailure: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWithEngine("the OpenHands, agent-server and LLM gateway stand-ins", () => {
  const started: string[] = [];
  afterAll(() => {
    if (started.length) docker(["rm", "-f", ...started], { allowFailure: true });
  });

  async function runAndAsk(
    reference: string,
    env: Record<string, string>,
    port: number,
    path: string,
    init?: RequestInit,
  ): Promise<{ status: number; text: string }> {
    const name = `lab-standin-${started.length}-${process.pid}`;
    docker(["run", "-d", "--name", name, ...Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]), reference]);
    started.push(name);
    const ip = docker(["inspect", "--format", "{{.NetworkSettings.IPAddress}}", name]).stdout.trim();
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const reply = await fetch(`http://${ip}:${port}${path}`, init)
        .then(async (r) => ({ status: r.status, text: await r.text() }))
        .catch(() => undefined);
      if (reply) return reply;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${reference} did not answer on ${ip}:${port}: ${docker(["logs", name], { allowFailure: true }).stderr}`);
  }

  test("each agent-server stand-in carries exactly one tag and answers /health the way its version does", async () => {
    for (const [tag, health] of [
      ["1.19.1-python", '"OK"'],
      ["1.34.0-python", '{"status":"ok"}'],
    ] as const) {
      const reference = await ensureImage(STAND_IN.agentServer[tag]);
      const tags = JSON.parse(docker(["image", "inspect", "--format", "{{json .RepoTags}}", reference]).stdout) as string[];
      expect(tags).toEqual([reference]);
      const reply = await runAndAsk(reference, { OH_SESSION_API_KEYS_0: "key" }, 8000, "/health");
      expect([tag, reply.status, reply.text.trim()]).toEqual([tag, 200, health]);
    }
  });

  test("the LLM gateway stand-in takes a person's key from the bridge and refuses the master key and a forged key there", async () => {
    const reference = await ensureImage(STAND_IN.llmGateway);
    const master = "sk-lab-master-key-0123456789";
    const slug = "45k4wvxolruzmox6";
    const ask = (key: string) =>
      runAndAsk(reference, { LITELLM_MASTER_KEY: master }, 4000, "/v1/models", { headers: { authorization: `Bearer ${key}` } });
    expect((await ask(llmUserKey(master, slug))).status).toBe(200);
    // From a bridge address, as a sandbox would call it: the master key works from the host's loopback only.
    expect((await ask(master)).status).toBe(401);
    expect((await ask(llmUserKey("sk-another-master-key-0123", slug))).status).toBe(401);
  });

  test("the app stand-ins carry their OpenHands version", async () => {
    for (const version of ["1.7.0", "1.11.0"] as const) {
      const reference = await ensureImage(STAND_IN.app[version]);
      const env = JSON.parse(docker(["image", "inspect", "--format", "{{json .Config.Env}}", reference]).stdout) as string[];
      expect(env).toContain(`OPENHANDS_VERSION=${version}`);
    }
  });
});
