// Configuration from SSM: names from the function name, one load per container, the placeholder, reloads and failures.
import { startSsmStandIn, type SsmStandIn } from "../harness/ssm-stand-in";
import { SettingsCache, parameterNamesFor, type ParameterSource } from "../src/shared/settings";
import { ssmParameterSource } from "../src/shared/ssm";
import { createViewerRequestHandler, createViewerRequestHandlerFromParameters } from "../src/viewer-request";
import { cfEvent, cfRequest, asResponse, bodyJson, testConfig, testSecrets } from "./support/events";

// The parameters come from the SSM stand-in through the real client; `fail` makes the role's policy deny every name.
let ssm: SsmStandIn;
beforeEach(async () => {
  ssm = await startSsmStandIn();
});
afterEach(() => ssm.close());

class FakeParameters implements ParameterSource {
  private readonly client = ssmParameterSource({ env: ssm.env });
  readonly values = {
    set: (name: string, value: string) => {
      ssm.put(name, value, name.endsWith("/secrets") ? "SecureString" : "String");
      return this.values;
    },
  };
  get calls(): string[][] {
    return ssm.requests.map((r) => [...r.names]);
  }
  set fail(value: boolean) {
    ssm.allow = () => !value;
  }
  getParameters(names: readonly string[]): Promise<Map<string, string>> {
    return this.client.getParameters(names);
  }
}

const config = JSON.stringify(testConfig("https://login.example.com", "client"));
const FN = "us-east-1.openhands-prod-edge-viewer-request";

describe("parameterNamesFor", () => {
  it.each([
    ["us-east-1.openhands-prod-edge-viewer-request", "/openhands/prod/edge/config"],
    ["openhands-prod-edge-viewer-request", "/openhands/prod/edge/config"],
    ["my-team-oh-dev2-edge-origin-response", "/my-team-oh/dev2/edge/config"],
    ["eu-central-1.acme-x-edge-viewer-request", "/acme/x/edge/config"],
  ])("GIVEN %s THEN the config parameter is %s", (fn, name) => {
    expect(parameterNamesFor(fn).config).toBe(name);
    expect(parameterNamesFor(fn).secrets).toBe(name.replace(/config$/, "secrets"));
  });

  it.each([
    "",
    "openhands-edge-viewer-request",
    "us-east-1.OpenHands-prod-edge-viewer-request",
    "openhands-prod-edge-other",
    "openhands-pr-od-edge-auth-x",
    "x".repeat(300),
  ])("GIVEN %j THEN a clear error about the naming contract", (fn) => {
    expect(() => parameterNamesFor(fn)).toThrow(/does not follow the naming contract/);
  });
});

describe("SettingsCache", () => {
  let clock = 0;
  const make = (source: FakeParameters) => new SettingsCache(source, { now: () => clock, ttlMs: 1000, notReadyTtlMs: 100 });
  beforeEach(() => {
    clock = 0;
  });

  it("GIVEN concurrent first requests THEN one load; within the TTL no more; after it a reload", async () => {
    const source = new FakeParameters();
    source.values.set("/openhands/prod/edge/config", config).set("/openhands/prod/edge/secrets", JSON.stringify(testSecrets()));
    const cache = make(source);
    const [a, b] = await Promise.all([cache.get(FN), cache.get(FN)]);
    expect(a).toBe(b);
    expect(a.state).toBe("ready");
    expect(source.calls).toEqual([["/openhands/prod/edge/config", "/openhands/prod/edge/secrets"]]);
    clock = 999;
    await cache.get(FN);
    expect(source.calls).toHaveLength(1);
    clock = 1000;
    expect(await cache.get(FN)).toBe(a);
    expect(source.calls).toHaveLength(2);
    source.values.set("/openhands/prod/edge/secrets", JSON.stringify(testSecrets()));
    clock = 2000;
    const rotated = await cache.get(FN);
    expect(rotated).not.toBe(a);
    expect(rotated.state).toBe("ready");
  });

  it("GIVEN the placeholder THEN not-ready, checked again soon, and ready once the host filled it", async () => {
    const source = new FakeParameters();
    source.values.set("/openhands/prod/edge/config", config).set("/openhands/prod/edge/secrets", '{"unset":true}');
    const cache = make(source);
    expect((await cache.get(FN)).state).toBe("not-ready");
    source.values.set("/openhands/prod/edge/secrets", JSON.stringify(testSecrets()));
    clock = 50;
    expect((await cache.get(FN)).state).toBe("not-ready");
    clock = 100;
    expect((await cache.get(FN)).state).toBe("ready");
  });

  it("GIVEN a failing reload THEN the previous settings stay; a failing first load throws and is retried", async () => {
    const source = new FakeParameters();
    source.values.set("/openhands/prod/edge/config", config).set("/openhands/prod/edge/secrets", JSON.stringify(testSecrets()));
    const cache = make(source);
    const first = await cache.get(FN);
    source.fail = true;
    clock = 5000;
    expect(await cache.get(FN)).toBe(first);
    const fresh = make(source);
    await expect(fresh.get(FN)).rejects.toThrow("AccessDenied");
    source.fail = false;
    expect((await fresh.get(FN)).state).toBe("ready");
  });

  it("GIVEN missing parameters THEN errors name them", async () => {
    const source = new FakeParameters();
    await expect(make(source).get(FN)).rejects.toThrow("SSM parameter /openhands/prod/edge/config is missing");
    source.values.set("/openhands/prod/edge/config", config);
    await expect(make(source).get(FN)).rejects.toThrow("SSM parameter /openhands/prod/edge/secrets is missing");
    source.values.set("/openhands/prod/edge/secrets", '{"identitySigningKey":"x"}');
    await expect(make(source).get(FN)).rejects.toThrow(/secrets.identitySigningKey/);
  });

  it("GIVEN withSecrets false THEN only the config parameter is read", async () => {
    const source = new FakeParameters();
    source.values.set("/openhands/prod/edge/config", config);
    const settings = await new SettingsCache(source, { withSecrets: false }).get("openhands-prod-edge-origin-response");
    expect(settings.state).toBe("config-only");
    expect(source.calls).toEqual([["/openhands/prod/edge/config"]]);
  });
});

describe("viewer-request handlers and their configuration", () => {
  const event = () => cfEvent(cfRequest({ uri: "/" }));

  it("GIVEN placeholder secrets in the factory THEN 503 with Retry-After", async () => {
    const result = asResponse(await createViewerRequestHandler({ config, secrets: { unset: true } })(event()));
    expect(result.status).toBe("503");
    expect(result.headers?.["retry-after"]?.[0]?.value).toBe("30");
    expect(bodyJson(result).error).toBe("not_configured");
  });

  it("GIVEN an invalid configuration in the factory THEN it throws at creation with the field", () => {
    expect(() => createViewerRequestHandler({ config: { ...JSON.parse(config), appHost: "" }, secrets: testSecrets() })).toThrow(
      /config.appHost/,
    );
  });

  it(
    "GIVEN parameters: a bad function name, the placeholder, a failing " + "SSM THEN 503 (fail closed); real secrets THEN it works",
    async () => {
      const source = new FakeParameters();
      const errors = jest.spyOn(console, "error").mockImplementation(() => undefined);
      const handler = createViewerRequestHandlerFromParameters(source, { notReadyTtlMs: 0 });
      expect(bodyJson(await handler(event(), { functionName: "wrong" })).error).toBe("unavailable");
      expect(bodyJson(await handler(event())).error).toBe("unavailable");
      source.fail = true;
      expect(bodyJson(await handler(event(), { functionName: FN })).error).toBe("unavailable");
      source.fail = false;
      source.values.set("/openhands/prod/edge/config", config).set("/openhands/prod/edge/secrets", '{"unset":true}');
      expect(bodyJson(await handler(event(), { functionName: FN })).error).toBe("not_configured");
      source.values.set("/openhands/prod/edge/secrets", JSON.stringify(testSecrets()));
      const result = asResponse(
        await handler(cfEvent(cfRequest({ uri: "/", headers: { "Sec-Fetch-Mode": "navigate" } })), { functionName: FN }),
      );
      expect(result.status).toBe("302");
      expect(errors).toHaveBeenCalled();
      errors.mockRestore();
    },
  );
});
