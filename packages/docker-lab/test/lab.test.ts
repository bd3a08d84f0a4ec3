/**
 * The lab itself: dockerd answers in this process's own network namespace, limits work, and the base stand-in
 * image runs Node.js.
 */
import { statSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { describeWithEngine, docker, ensureImage, labEngine, STAND_IN } from "../src";

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
    const out = docker(["run", "--rm", "--memory", "64m", reference, "node", "-e", "console.log(process.version, require('os').userInfo().uid)"]);
    expect(out.stdout.trim()).toBe(`${process.version} 0`);
    const sh = docker(["run", "--rm", reference, "sh", "-c", "echo $((6*7))"]);
    expect(sh.stdout.trim()).toBe("42");
    const before = docker(["image", "inspect", "--format", "{{.Id}}", reference]).stdout;
    await ensureImage(STAND_IN.node);
    expect(docker(["image", "inspect", "--format", "{{.Id}}", reference]).stdout).toBe(before);
  });

  test("a pull of a stand-in name fails at once: no registry is reachable", () => {
    const pull = docker(["pull", "localhost:1/openhands-standin/nothing:1"], { allowFailure: true });
    expect(pull.status).not.toBe(0);
  });

  test("refuses a reference that is not a stand-in", async () => {
    await expect(ensureImage("docker.io/library/busybox:latest")).rejects.toThrow(/not a stand-in image/);
  });
});
