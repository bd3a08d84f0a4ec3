/**
 * The glue's own inputs: where a container's DOCKER_HOST lives on the host, and a stack that cannot start says why
 * before it starts anything.
 */
import { hostPathFor } from "../src/containers";
import { readEnvironment } from "../src/environment";
import { startBackend } from "../src/stack";

describe("hostPathFor (DOCKER_HOST inside the app container to the host's socket)", () => {
  const binds = ["/efs/users/abc/openhands:/.openhands:rw", "/run/oh-docker-api/abc:/run/ohdocker:ro"];

  test("GIVEN the socket inside a mounted folder WHEN translated THEN it names the file in the host folder", () => {
    expect(hostPathFor(binds, "/run/ohdocker/docker.sock")).toBe("/run/oh-docker-api/abc/docker.sock");
  });

  test("GIVEN the mount point itself WHEN translated THEN it is the host folder", () => {
    expect(hostPathFor(binds, "/.openhands")).toBe("/efs/users/abc/openhands");
  });

  test("GIVEN a path outside every mount, or one that only shares a prefix WHEN translated THEN there is none", () => {
    expect(hostPathFor(binds, "/var/run/docker.sock")).toBeUndefined();
    expect(hostPathFor(binds, "/run/ohdocker-other/docker.sock")).toBeUndefined();
    expect(hostPathFor(["malformed"], "/run/ohdocker/docker.sock")).toBeUndefined();
  });
});

describe("a stack whose prerequisites are missing", () => {
  test("GIVEN NGINX_BIN names no file WHEN the backend starts THEN it refuses at once, naming the variable and the fix", async () => {
    const saved = process.env.NGINX_BIN;
    process.env.NGINX_BIN = "/nonexistent/nginx";
    try {
      await expect(startBackend({ artifactsDir: "/tmp", idleMinutes: 1, appBootDelayMs: 0 })).rejects.toThrow(/nginx not found at \/nonexistent\/nginx: .*NGINX_BIN/);
    } finally {
      if (saved === undefined) delete process.env.NGINX_BIN;
      else process.env.NGINX_BIN = saved;
    }
  });
});

describe("readEnvironment", () => {
  test("GIVEN nothing set WHEN read THEN the Debian paths and 400 bench requests", () => {
    expect(readEnvironment({})).toMatchObject({ nginxBin: "/usr/sbin/nginx", chromiumPath: "/usr/bin/chromium", benchRequests: 400 });
  });

  test("GIVEN a bench request count that is not a whole positive number WHEN read THEN the error names the variable, the value and the fix", () => {
    expect(() => readEnvironment({ BENCH_REQUESTS: "lots" })).toThrow('BENCH_REQUESTS: "lots" is not a whole number of requests (expected 1 or more, e.g. 400)');
    expect(() => readEnvironment({ BENCH_REQUESTS: "0" })).toThrow(/BENCH_REQUESTS/);
  });
});
