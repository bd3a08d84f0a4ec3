import { classifyDockerCall, filterContainerList, ownsContainerName, reviewCreate, splitImageRef, type CreateContext } from "../src/docker/api-policy";

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
  it("GIVEN the allow-list of the design review THEN exactly those calls classify, with or without the version prefix where docker-py sends it", () => {
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
    for (const [method, url] of [["GET", "/_ping"], ["GET", "/v1.47/info"], ["POST", "/v1.47/containers/abc/exec"], ["GET", "/v1.47/containers/a/../b/json"], ["PUT", "/v1.47/containers/abc/archive"], ["POST", "/v1.47/containers/create"], ["GET", "//v1.47/version"]]) {
      expect(classifyDockerCall(method!, url!).ok).toBe(false);
    }
  });

  it("GIVEN names THEN ownership needs the exact prefix and a non-empty id", () => {
    expect(ownsContainerName(slug, `/oh-sbx-${slug}-x1`)).toBe(true);
    for (const bad of [`/oh-sbx-${slug}-`, `/oh-sbx-${slug}x-1`, `/oh-app-${slug}`, `/oh-sbx-bbbbbbbbbbbbbbbb-x`, undefined, 3]) expect(ownsContainerName(slug, bad)).toBe(false);
    expect(filterContainerList(slug, [{ Names: [`/oh-sbx-${slug}-a`] }, { Names: ["/x", `/x/oh-sbx-${slug}-alias`] }, { Names: [] }, null])).toEqual([{ Names: [`/oh-sbx-${slug}-a`] }]);
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
    expect(mystery).toEqual({ ok: false, message: expect.stringMatching(/HostConfig.OomKillDisable is not allowed/) });
    expect(reviewCreate(`oh-sbx-${slug}-a`, [], ctx).ok).toBe(false);
    expect(reviewCreate(`oh-sbx-${slug}-a`, { ...base, ExposedPorts: { "8000/sctp": {} } }, ctx).ok).toBe(false);
    expect(reviewCreate(`oh-sbx-${slug}-a`, { ...base, HostConfig: { IpcMode: "host" } }, ctx).ok).toBe(false);
    expect(reviewCreate(`oh-sbx-${slug}-a`, { ...base, HostConfig: { Sysctls: { "net.ipv4.ip_forward": "1" } } }, ctx).ok).toBe(false);
  });
});
