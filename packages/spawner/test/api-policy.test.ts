import {
  classifyDockerCall,
  filterContainerList,
  HEALTHCHECK_BOUNDS,
  mayLookUpContainer,
  ownsContainerName,
  reviewCreate,
  reviewCreateText,
  splitImageRef,
  type CreateContext,
} from "../src/docker/api-policy";
import { MAX_SANDBOX_ID_LENGTH, roleOfContainer } from "../src/slug";

const slug = "abcdefghijklmnop";
const ctx: CreateContext = {
  slug,
  network: `oh-u-${slug}`,
  gateway: "10.240.3.1",
  workspaceHostPath: `/mnt/efs/users/${slug}/workspace`,
  image: "ghcr.io/openhands/agent-server:1.19.1-python",
  memoryBytes: 1,
  nanoCpus: 2,
  pidsLimit: 3,
};

describe("Docker API policy (pure)", () => {
  it(
    "GIVEN the allow-list of the README's filtered Docker API THEN exactly those calls classify, with or without the version prefix " +
      "where docker-py sends it",
    () => {
      const ok: Array<[string, string, string]> = [
        ["GET", "/version", "version"],
        ["GET", "/v1.47/version", "version"],
        ["GET", "/v1.47/containers/json?limit=-1&all=1&size=0&trunc_cmd=0", "list"],
        ["GET", `/v1.47/containers/${"a".repeat(64)}/json`, "inspect"],
        ["POST", `/v1.47/containers/create?name=oh-sbx-${slug}-x`, "create"],
        ["POST", "/v1.47/containers/abc/start", "action"],
        ["POST", "/v1.47/containers/abc/stop?t=10", "action"],
        ["DELETE", "/v1.47/containers/abc?v=False&link=False&force=False", "remove"],
        ["GET", "/v1.47/images/ghcr.io/openhands/agent-server:1.19.1-python/json", "image-inspect"],
        ["POST", "/v1.47/images/create?tag=1.19.1-python&fromImage=ghcr.io/openhands/agent-server", "image-pull"],
        ["GET", `/v1.47/volumes/openhands-workspace-oh-sbx-${slug}-x`, "volume"],
      ];
      for (const [method, url, op] of ok) {
        const result = classifyDockerCall(method, url);
        expect({ url, op: result.ok ? result.call.op : result.message }).toEqual({ url, op });
      }
      for (const [method, url] of [
        ["GET", "/_ping"],
        ["GET", "/v1.47/info"],
        ["POST", "/v1.47/containers/abc/exec"],
        ["GET", "/v1.47/containers/a/../b/json"],
        ["PUT", "/v1.47/containers/abc/archive"],
        ["POST", "/v1.47/containers/create"],
        ["GET", "//v1.47/version"],
        ["POST", `/v1.23/containers/create?name=oh-sbx-${slug}-x`],
        ["POST", "/v1.12/containers/abc/start"],
        ["GET", "/v1.39/version"],
      ]) {
        expect(classifyDockerCall(method!, url!).ok).toBe(false);
      }
    },
  );

  it("GIVEN names THEN ownership needs the exact prefix and a non-empty id", () => {
    expect(ownsContainerName(slug, `/oh-sbx-${slug}-x1`)).toBe(true);
    for (const bad of [`/oh-sbx-${slug}-`, `/oh-sbx-${slug}x-1`, `/oh-app-${slug}`, `/oh-sbx-bbbbbbbbbbbbbbbb-x`, undefined, 3])
      expect(ownsContainerName(slug, bad)).toBe(false);
    expect(
      filterContainerList(slug, [{ Names: [`/oh-sbx-${slug}-a`] }, { Names: ["/x", `/x/oh-sbx-${slug}-alias`] }, { Names: [] }, null]),
    ).toEqual([{ Names: [`/oh-sbx-${slug}-a`] }]);
    expect(filterContainerList(slug, { not: "a list" })).toEqual([]);
  });

  it("GIVEN image references THEN the tag splits after the last '/'", () => {
    expect(splitImageRef("registry:5000/repo/img:1.0")).toEqual({ repository: "registry:5000/repo/img", tag: "1.0" });
    expect(splitImageRef("registry:5000/repo/img")).toEqual({ repository: "registry:5000/repo/img", tag: "latest" });
  });

  it("GIVEN unknown create fields with values THEN refused; empty ones are ignored", () => {
    const base = { Image: ctx.image, HostConfig: { NetworkMode: "default" } };
    expect(reviewCreate(`oh-sbx-${slug}-a`, { ...base, MacAddress: null, Volumes: null }, ctx).ok).toBe(true);
    const mystery = reviewCreate(`oh-sbx-${slug}-a`, { ...base, HostConfig: { NetworkMode: "default", OomKillDisable: true } }, ctx);
    expect(mystery).toEqual({ ok: false, status: 400, message: expect.stringMatching(/HostConfig.OomKillDisable" is not allowed/) });
    expect(reviewCreate(`oh-sbx-${slug}-a`, [], ctx).ok).toBe(false);
    expect(reviewCreate(`oh-sbx-${slug}-a`, { ...base, ExposedPorts: { "8000/sctp": {} } }, ctx).ok).toBe(false);
    expect(reviewCreate(`oh-sbx-${slug}-a`, { ...base, HostConfig: { IpcMode: "host" } }, ctx).ok).toBe(false);
    expect(reviewCreate(`oh-sbx-${slug}-a`, { ...base, HostConfig: { Sysctls: { "net.ipv4.ip_forward": "1" } } }, ctx).ok).toBe(false);
  });
});

describe("create review: exact field names, no duplicates, rebuilt from scratch (dockerd folds key case)", () => {
  const name = `oh-sbx-${slug}-fold`;
  const good = {
    Image: ctx.image,
    Env: ["A=1"],
    Cmd: ["--port", "8000"],
    ExposedPorts: { "8000/tcp": {} },
    Labels: { sandbox_spec_id: ctx.image },
    HostConfig: {
      NetworkMode: "default",
      PortBindings: { "8000/tcp": [{ HostIp: "", HostPort: "41001" }] },
      ExtraHosts: ["host.docker.internal:host-gateway"],
      Init: true,
    },
  };
  const text = (body: unknown) => JSON.stringify(body);
  /** Every key at every level of a rebuilt body, with its path. */
  const keysOf = (value: unknown, path = ""): string[] =>
    value && typeof value === "object" && !Array.isArray(value)
      ? Object.entries(value).flatMap(([k, v]) => [`${path}${k}`, ...keysOf(v, `${path}${k}.`)])
      : [];

  it("GIVEN docker-py's body THEN the rebuilt body has only allow-listed fields, the user's network, workspace, limits and CapDrop", () => {
    const review = reviewCreateText(name, text(good), ctx);
    expect(review.ok).toBe(true);
    const body = (review as { body: Record<string, any> }).body;
    expect(Object.keys(body).sort()).toEqual(["Cmd", "Env", "ExposedPorts", "HostConfig", "Image", "Labels", "NetworkingConfig"]);
    expect(body.HostConfig).toEqual({
      NetworkMode: ctx.network,
      PortBindings: { "8000/tcp": [{ HostIp: ctx.gateway, HostPort: "" }] },
      Privileged: false,
      PublishAllPorts: false,
      CapDrop: ["NET_RAW"],
      ExtraHosts: [`host.docker.internal:${ctx.gateway}`],
      Binds: [`${ctx.workspaceHostPath}:/workspace:rw`],
      Memory: 1,
      NanoCpus: 2,
      PidsLimit: 3,
      RestartPolicy: { Name: "no" },
      AutoRemove: false,
      Init: true,
    });
    expect(body.NetworkingConfig).toEqual({ EndpointsConfig: { [ctx.network]: {} } });
    // Replay after a host replacement: the rebuilt body passes the same review and comes out the same.
    const again = reviewCreateText(name, text(body), ctx);
    expect(again).toEqual({ ok: true, body });
  });

  // The reviewed HostConfig (or NetworkingConfig) erased or replaced by a second key that dockerd folds onto it.
  const foldedTopLevel = [
    "hostconfig",
    "HOSTCONFIG",
    "hostConfig",
    "networkingconfig",
    "NetworkingConfiG",
    "\u017fysctls",
    "image",
    "labels",
    "env",
    "healthcheck",
    "Hostconfig",
  ];
  const emptyValues: unknown[] = [null, "", {}, [], false, 0];
  it.each(
    foldedTopLevel,
  )('GIVEN the reviewed fields plus %j with any value (null, "", {}, [], false, 0) THEN 400 and nothing is rebuilt', (key) => {
    for (const value of emptyValues) {
      const review = reviewCreateText(name, text({ ...good, [key]: value }), ctx);
      expect({ key, value, review }).toEqual({
        key,
        value,
        review: { ok: false, status: 400, message: expect.stringMatching(/is not allowed/) },
      });
    }
  });

  const foldedHostConfig = [
    "networkmode",
    "NetworkMODE",
    "privileged",
    "capadd",
    "CapAdd ",
    "binds",
    "Mounts\u0000",
    "memory",
    "nanocpus",
    "pidslimit",
    "capdrop",
    "\u017fecurityOpt",
    "\u212aernelMemory",
    "OomScoreAdj",
    "Ulimits",
    "Dns",
    "MemorySwap",
  ];
  it.each(foldedHostConfig)("GIVEN HostConfig with %j (any value) next to the reviewed fields THEN 400", (key) => {
    for (const value of emptyValues) {
      const review = reviewCreateText(name, text({ ...good, HostConfig: { ...good.HostConfig, [key]: value } }), ctx);
      expect({ key, value, ok: review.ok, status: review.ok ? 0 : review.status }).toEqual({ key, value, ok: false, status: 400 });
    }
  });

  it("GIVEN a folded key inside NetworkingConfig, RestartPolicy, Healthcheck or a port binding THEN 400", () => {
    const variants = [
      { ...good, NetworkingConfig: { endpointsconfig: {} } },
      { ...good, NetworkingConfig: { EndpointsConfig: {}, endpointsConfig: null } },
      { ...good, HostConfig: { ...good.HostConfig, RestartPolicy: { name: "always" } } },
      { ...good, Healthcheck: { test: ["CMD", "true"] } },
      { ...good, Healthcheck: { Interval: 5e9, interval: 1000000 } },
      { ...good, HostConfig: { ...good.HostConfig, PortBindings: { "8000/tcp": [{ hostip: "0.0.0.0", HostPort: "1" }] } } },
    ];
    for (const body of variants) expect(reviewCreateText(name, text(body), ctx)).toMatchObject({ ok: false, status: 400 });
  });

  it("GIVEN raw JSON with a key twice (exactly, or written with escapes) at any level THEN 400 before any review", () => {
    const base = text(good).slice(0, -1);
    const raws = [
      `${base},"HostConfig":{"NetworkMode":"host"}}`,
      `${base},"Host\\u0043onfig":null}`,
      `${base},"Image":"alpine"}`,
      text(good).replace('"NetworkMode":"default"', '"NetworkMode":"default","NetworkMode":"host"'),
      text(good).replace('"sandbox_spec_id"', '"x":"1","x"'),
      text(good).replace('"8000/tcp":{}', '"8000/tcp":{},"8000/tcp":{}'),
    ];
    for (const raw of raws) {
      const review = reviewCreateText(name, raw, ctx);
      expect({ raw, review }).toEqual({ raw, review: { ok: false, status: 400, message: expect.stringMatching(/duplicate key/) } });
    }
  });

  it("GIVEN bodies that are not strict JSON or not UTF-8 THEN 400 with the reason, never a crash", () => {
    for (const raw of [
      "",
      "{",
      "[]",
      "null",
      '{"Image":1,}',
      '{"a":1} x',
      Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]),
      "{".repeat(200) + "}".repeat(200),
    ]) {
      const review = reviewCreateText(name, raw, ctx);
      expect(review).toMatchObject({ ok: false, status: 400 });
    }
  });

  it("GIVEN a create record edited on EFS to carry a privileged or foreign-network body THEN the replay review refuses it", () => {
    const rebuilt = (reviewCreateText(name, text(good), ctx) as { body: Record<string, any> }).body;
    expect(reviewCreateText(name, text({ ...rebuilt, HostConfig: { ...rebuilt.HostConfig, Privileged: true } }), ctx)).toMatchObject({
      ok: false,
      status: 403,
    });
    expect(reviewCreateText(name, text({ ...rebuilt, HostConfig: { ...rebuilt.HostConfig, Binds: ["/:/host"] } }), ctx)).toMatchObject({
      ok: false,
      status: 403,
    });
    expect(reviewCreateText(name, text({ ...rebuilt, NetworkingConfig: { EndpointsConfig: { bridge: {} } } }), ctx)).toMatchObject({
      ok: false,
      status: 403,
    });
    expect(reviewCreateText(name, text({ ...rebuilt, hostconfig: null }), ctx)).toMatchObject({ ok: false, status: 400 });
  });

  it(
    "GIVEN a network mode of docker0 (bridge) or none-empty endpoint settings THEN " +
      "the sandbox still lands on the user's network, or is refused",
    () => {
      for (const mode of ["", "default", "bridge", ctx.network]) {
        const review = reviewCreateText(name, text({ ...good, HostConfig: { ...good.HostConfig, NetworkMode: mode } }), ctx);
        expect((review as { body: Record<string, any> }).body.HostConfig.NetworkMode).toBe(ctx.network);
      }
      expect(
        reviewCreateText(
          name,
          text({ ...good, NetworkingConfig: { EndpointsConfig: { [ctx.network]: { IPAMConfig: { IPv4Address: "10.240.3.2" } } } } }),
          ctx,
        ),
      ).toMatchObject({ ok: false, status: 403 });
      expect(reviewCreateText(name, text({ ...good, NetworkingConfig: { EndpointsConfig: { bridge: {} } } }), ctx)).toMatchObject({
        ok: false,
        status: 403,
      });
    },
  );

  it(
    "GIVEN healthcheck settings THEN intervals, timeouts and start periods below their minimum or above their maximum, and too many " +
      "retries, are refused",
    () => {
      const hc = (healthcheck: Record<string, unknown>) =>
        reviewCreateText(name, text({ ...good, Healthcheck: { Test: ["CMD", "true"], ...healthcheck } }), ctx);
      expect(hc({ Interval: 1_000_000 })).toMatchObject({
        ok: false,
        status: 403,
        message: expect.stringMatching(/Interval must be 0 .* or at least 5 s/),
      });
      expect(hc({ Interval: HEALTHCHECK_BOUNDS.Interval.min - 1 })).toMatchObject({ ok: false });
      expect(hc({ Timeout: 1 })).toMatchObject({ ok: false });
      expect(hc({ StartPeriod: 1 })).toMatchObject({ ok: false });
      expect(hc({ Interval: HEALTHCHECK_BOUNDS.Interval.max + 1 })).toMatchObject({ ok: false, status: 400 });
      expect(hc({ Retries: 11 })).toMatchObject({ ok: false, status: 400 });
      expect(hc({ Interval: 1.5e9 })).toMatchObject({ ok: false });
      expect(hc({ Test: ["CMD-SHELL", "true"], Interval: 0 })).toMatchObject({ ok: true });
      const ok = hc({ Interval: 30e9, Timeout: 5e9, StartPeriod: 10e9, Retries: 3 });
      expect((ok as { body: Record<string, any> }).body.Healthcheck).toEqual({
        Test: ["CMD", "true"],
        Interval: 30e9,
        Timeout: 5e9,
        StartPeriod: 10e9,
        Retries: 3,
      });
    },
  );

  it("GIVEN labels in the spawner's namespace THEN refused, except the owner label set to this user", () => {
    expect(reviewCreateText(name, text({ ...good, Labels: { "org.openhands-team.owner": "bbbbbbbbbbbbbbbb" } }), ctx)).toMatchObject({
      ok: false,
      status: 403,
    });
    expect(reviewCreateText(name, text({ ...good, Labels: { "org.openhands-team.role": "app" } }), ctx)).toMatchObject({
      ok: false,
      status: 403,
    });
    expect(reviewCreateText(name, text({ ...good, Labels: { "org.openhands-team.owner": slug } }), ctx)).toMatchObject({ ok: true });
  });
});

describe("one sandbox name parser (the filter, the view, the records)", () => {
  it("GIVEN sandbox ids of every length THEN the filter accepts exactly the names the spawner tracks (no untracked sandbox)", () => {
    const body = JSON.stringify({ Image: ctx.image });
    for (let length = 1; length <= 220; length += 1) {
      const name = `oh-sbx-${slug}-${"a".repeat(length)}`;
      const tracked = roleOfContainer(`/${name}`)?.owner === slug;
      const accepted = reviewCreateText(name, body, ctx).ok;
      const path = classifyDockerCall("GET", `/v1.41/containers/${name}/json`);
      expect({ length, tracked, accepted, owns: ownsContainerName(slug, `/${name}`) }).toEqual({
        length,
        tracked: length <= MAX_SANDBOX_ID_LENGTH,
        accepted: tracked,
        owns: tracked,
      });
      if (tracked) expect(path.ok).toBe(true);
    }
  });

  it("GIVEN a short Id prefix or another user's name THEN the filter does not look it up (no 'multiple IDs' oracle)", () => {
    expect(mayLookUpContainer(slug, "a".repeat(64))).toBe(true);
    expect(mayLookUpContainer(slug, `oh-sbx-${slug}-x`)).toBe(true);
    for (const ref of ["abc", "a".repeat(12), "a".repeat(63), `oh-sbx-bbbbbbbbbbbbbbbb-x`, `oh-app-${slug}`, "A".repeat(64)])
      expect(mayLookUpContainer(slug, ref)).toBe(false);
  });
});
