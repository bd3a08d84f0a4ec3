/**
 * The app fake's RemoteSandboxService (OpenHands 1.11.0's remote_sandbox_service.py): its selection and settings, the
 * status mapping and the service URLs. Its calls against a real remote sandbox API (the spawner's, in ECS mode) are
 * tested in packages/e2e/test/ecs-mode.test.ts, where each person's app starts their sandbox.
 */
import { readAppConfig } from "../src/app/config";
import { buildServiceUrl, RemoteSandboxService, remoteStatusOf } from "../src/app/remote-sandboxes";
import { SandboxError } from "../src/app/sandboxes";

const REMOTE = {
  OH_SANDBOX_KIND: "RemoteSandboxServiceInjector",
  OH_SANDBOX_SPEC_KIND: "RemoteSandboxSpecServiceInjector",
  OH_SANDBOX_API_URL: "http://10.0.1.17:8082",
  OH_SANDBOX_API_KEY: "key-of-the-user",
};

describe("RemoteSandboxService's settings", () => {
  test("GIVEN the remote KIND THEN api url and key are read, max_num_sandboxes defaults to 10, and the remote spec's env", () => {
    const config = readAppConfig("1.11.0", { ...REMOTE, LLM_MODEL: "m", OH_AGENT_SERVER_ENV: '{"EXTRA":"1"}' });
    expect(config.remote).toEqual({
      apiUrl: REMOTE.OH_SANDBOX_API_URL,
      apiKey: REMOTE.OH_SANDBOX_API_KEY,
      resourceFactor: 1,
      runtimeClass: "gvisor",
    });
    expect(config.maxNumSandboxes).toBe(10);
    expect(config.sandboxSpecEnv).toMatchObject({ OH_VSCODE_PORT: "60001", LLM_MODEL: "m", EXTRA: "1" });
    expect(config.sandboxSpecEnv.PYTHONUNBUFFERED).toBeUndefined();
    // The Docker injector keeps its own defaults.
    const docker = readAppConfig("1.11.0", { OH_SANDBOX_KIND: "DockerSandboxServiceInjector" });
    expect(docker.remote).toBeUndefined();
    expect(docker.maxNumSandboxes).toBe(5);
  });

  test.each([
    [{ OH_SANDBOX_API_URL: undefined }, /OH_SANDBOX_API_URL: "" is required/],
    [{ OH_SANDBOX_API_URL: "10.0.1.17:8082" }, /must be an http\(s\) URL/],
    [{ OH_SANDBOX_API_KEY: " " }, /OH_SANDBOX_API_KEY: required/],
    [{ OH_SANDBOX_RESOURCE_FACTOR: "-2" }, /OH_SANDBOX_RESOURCE_FACTOR: "-2" is not a positive number/],
  ])("GIVEN %j THEN the configuration is refused, naming the variable", (change, message) => {
    expect(() => readAppConfig("1.11.0", { ...REMOTE, ...change })).toThrow(message);
  });

  test("GIVEN a configuration without the remote settings THEN the service refuses to be made", () => {
    expect(() => new RemoteSandboxService(readAppConfig("1.11.0", {}))).toThrow(SandboxError);
  });
});

describe("RemoteSandboxService's mapping", () => {
  test("GIVEN runtime statuses THEN they map as _get_sandbox_status_from_runtime does (lower-cased, the rest MISSING)", () => {
    expect(["running", "PAUSED", "Starting", "error", "stopped", "", undefined, 3].map(remoteStatusOf)).toEqual([
      "RUNNING",
      "PAUSED",
      "STARTING",
      "ERROR",
      "MISSING",
      "MISSING",
      "MISSING",
      "MISSING",
    ]);
  });

  test("GIVEN a runtime url THEN the service URLs are built in subdomain mode, or path mode under /<runtime_id>", () => {
    expect(buildServiceUrl("http://40000-abc.sandboxes.internal", "vscode", "t1")).toBe("http://vscode-40000-abc.sandboxes.internal");
    expect(buildServiceUrl("http://host:8080/base", "work-1", "t1")).toBe("http://work-1-host:8080/base");
    expect(buildServiceUrl("https://runtime.example.com/t1/agent", "vscode", "t1")).toBe("https://runtime.example.com/t1/vscode");
  });
});
