/**
 * The docker-py 7.1.0 replay, call by call, against the scripted Docker API (the real engine runs the same calls
 * in engine.test.ts): what the filter in front of dockerd must expect from OpenHands.
 */
import { createBody, DockerApiError, DockerPy, splitReference } from "../src/docker-py";
import { startDockerDouble, type DockerDouble } from "./support/docker-double";

let double: DockerDouble;
let docker: DockerPy;
const IMAGE = "localhost:1/openhands-standin/agent-server:1.19.1-python";

beforeAll(async () => {
  double = await startDockerDouble();
  docker = new DockerPy(double.dockerHost);
});
afterAll(async () => {
  await double?.close();
});

const paths = (from = 0): string[] => double.calls.slice(from).map((call) => `${call.method} ${call.path}`);

test("GIVEN the first call THEN GET /version without prefix, once; later paths carry /v<ApiVersion>", async () => {
  expect(await docker.version()).toBe("1.41");
  await docker.listContainers();
  await docker.listContainers();
  expect(paths().filter((path) => path === "GET /version")).toHaveLength(1);
  expect(paths()).toContain("GET /v1.41/containers/json?limit=-1&all=1&size=0&trunc_cmd=0");
});

test("GIVEN run with a missing image THEN create answers 404, docker-py pulls, creates again, inspects and starts", async () => {
  double.pullable.add(IMAGE);
  const from = double.calls.length;
  const container = await docker.run({
    image: IMAGE,
    command: ["--port", "8000"],
    name: "oh-sbx-x-1",
    environment: { A: "1" },
    ports: { 8000: 40001 },
    workingDir: "/workspace/project",
    labels: { sandbox_spec_id: IMAGE },
    extraHosts: { "host.docker.internal": "host-gateway" },
  });
  const [create, pull, get, createAgain, inspect, start] = paths(from);
  expect(create).toBe("POST /v1.41/containers/create?name=oh-sbx-x-1");
  expect(pull).toBe("POST /v1.41/images/create?tag=1.19.1-python&fromImage=localhost%3A1%2Fopenhands-standin%2Fagent-server");
  expect(get).toBe(`GET /v1.41/images/${IMAGE}/json`);
  expect(createAgain).toBe(create);
  expect(inspect).toMatch(/^GET \/v1\.41\/containers\/[0-9a-f]{64}\/json$/);
  expect(start).toMatch(/^POST \/v1\.41\/containers\/[0-9a-f]{64}\/start$/);
  // docker-py hands back the container as it was before start.
  expect(container.status).toBe("created");
  expect(container.name).toBe("oh-sbx-x-1");
});

test("GIVEN a container THEN pause, unpause, stop(timeout=10) and remove() are the paths docker-py sends, by Id", async () => {
  const container = await docker.getContainer("oh-sbx-x-1");
  const from = double.calls.length;
  await container.pause();
  await container.unpause();
  await container.stop(10);
  await container.remove();
  const id = container.id;
  expect(paths(from)).toEqual([
    `POST /v1.41/containers/${id}/pause`,
    `POST /v1.41/containers/${id}/unpause`,
    `POST /v1.41/containers/${id}/stop?t=10`,
    `DELETE /v1.41/containers/${id}?v=False&link=False&force=False`,
  ]);
});

test("GIVEN a missing container or volume THEN a DockerApiError marked not found (docker.errors.NotFound)", async () => {
  const missing = await docker.getContainer("oh-sbx-nobody").catch((error: unknown) => error);
  expect(missing).toBeInstanceOf(DockerApiError);
  expect((missing as DockerApiError).notFound).toBe(true);
  const volume = await docker.removeVolume("openhands-workspace-oh-sbx-nobody").catch((error: unknown) => error);
  expect((volume as DockerApiError).notFound).toBe(true);
});

test("GIVEN mounts, host network and KVM THEN the create body has Binds, Volumes, NetworkMode host, Devices and no port bindings", () => {
  const body = createBody({
    image: IMAGE,
    command: ["--port", "8000"],
    name: "n",
    environment: { K: "V" },
    volumes: { "/data/ws": { bind: "/workspace/project", mode: "rw" } },
    workingDir: "/workspace/project",
    labels: {},
    networkMode: "host",
    devices: ["/dev/kvm:/dev/kvm:rwm"],
  });
  expect(body).toMatchObject({
    Env: ["K=V"],
    Volumes: { "/workspace/project": {} },
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    OpenStdin: false,
    NetworkDisabled: false,
    HostConfig: {
      NetworkMode: "host",
      Binds: ["/data/ws:/workspace/project:rw"],
      Init: true,
      Devices: [{ PathOnHost: "/dev/kvm", PathInContainer: "/dev/kvm", CgroupPermissions: "rwm" }],
    },
  });
  expect(body.ExposedPorts).toBeUndefined();
  expect((body.HostConfig as Record<string, unknown>).PortBindings).toBeUndefined();
});

test("GIVEN references THEN the tag is split as docker-py does, a registry port is not a tag", () => {
  expect(splitReference("localhost:1/a/b:1.0")).toEqual({ repository: "localhost:1/a/b", tag: "1.0" });
  expect(splitReference("localhost:1/a/b")).toEqual({ repository: "localhost:1/a/b", tag: "latest" });
  expect(splitReference("a/b@sha256:abc")).toEqual({ repository: "a/b", tag: "sha256:abc" });
});

test("GIVEN a DOCKER_HOST that is neither unix nor tcp THEN the error names it", () => {
  expect(() => new DockerPy("ssh://host")).toThrow(/DOCKER_HOST: "ssh:\/\/host"/);
});
