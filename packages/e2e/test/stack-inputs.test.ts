/**
 * The glue's own inputs: a stack that cannot start says why before it starts anything, engine calls are grouped by
 * kind, and the environment is read with clear errors.
 */
import { foldPath } from "../src/engine";
import { readEnvironment } from "../src/environment";
import { startBackend } from "../src/stack";

describe("a stack whose prerequisites are missing", () => {
  test("GIVEN NGINX_BIN names no file WHEN the backend starts THEN it refuses at once, naming the variable and the fix", async () => {
    const saved = process.env.NGINX_BIN;
    process.env.NGINX_BIN = "/nonexistent/nginx";
    try {
      await expect(startBackend({ artifactsDir: "/tmp", idleMinutes: 1 })).rejects.toThrow(
        /nginx not found at \/nonexistent\/nginx: .*NGINX_BIN/,
      );
    } finally {
      if (saved === undefined) delete process.env.NGINX_BIN;
      else process.env.NGINX_BIN = saved;
    }
  });
});

describe("a stack outside a Docker lab", () => {
  test("GIVEN no lab engine in the environment WHEN the backend starts THEN it refuses at once, naming docker-lab", async () => {
    const saved = { socket: process.env.OH_DOCKER_LAB_SOCKET, netns: process.env.OH_DOCKER_LAB_NETNS };
    delete process.env.OH_DOCKER_LAB_SOCKET;
    delete process.env.OH_DOCKER_LAB_NETNS;
    try {
      await expect(startBackend({ artifactsDir: "/tmp", idleMinutes: 1 })).rejects.toThrow(/no Docker engine: run under docker-lab/);
    } finally {
      if (saved.socket !== undefined) process.env.OH_DOCKER_LAB_SOCKET = saved.socket;
      if (saved.netns !== undefined) process.env.OH_DOCKER_LAB_NETNS = saved.netns;
    }
  });
});

describe("foldPath (Docker API calls per ensure, grouped by kind)", () => {
  test("GIVEN container, network, image and volume paths WHEN folded THEN names and ids become {ref} and the fixed routes stay", () => {
    expect(foldPath("/containers/oh-app-abc/json")).toBe("/containers/{ref}/json");
    expect(foldPath("/containers/3f9a/start")).toBe("/containers/{ref}/start");
    expect(foldPath("/containers/create")).toBe("/containers/create");
    expect(foldPath("/containers/json")).toBe("/containers/json");
    expect(foldPath("/networks/oh-u-abc")).toBe("/networks/{ref}");
    expect(foldPath("/networks/create")).toBe("/networks/create");
    expect(foldPath("/images/localhost:1/openhands-standin/agent-server:1.19.1-python/json")).toBe("/images/{ref}/json");
    expect(foldPath("/volumes/openhands-workspace-x")).toBe("/volumes/{ref}");
    expect(foldPath("/_ping")).toBe("/_ping");
  });
});

describe("readEnvironment", () => {
  test("GIVEN nothing set WHEN read THEN the Debian paths and 400 bench requests", () => {
    expect(readEnvironment({})).toMatchObject({ nginxBin: "/usr/sbin/nginx", chromiumPath: "/usr/bin/chromium", benchRequests: 400 });
  });

  test(
    "GIVEN a bench request count that is not a whole positive number WHEN read " +
      "THEN the error names the variable, the value and the fix",
    () => {
      expect(() => readEnvironment({ BENCH_REQUESTS: "lots" })).toThrow(
        'BENCH_REQUESTS: "lots" is not a whole number of requests (expected 1 or more, e.g. 400)',
      );
      expect(() => readEnvironment({ BENCH_REQUESTS: "0" })).toThrow(/BENCH_REQUESTS/);
    },
  );
});
