// The built bundles as Lambda@Edge runs them: `handler` with only the function name to go on, reading SSM through the AWS SDK.
// SSM is a contract fake on loopback speaking the SSM JSON 1.1 protocol (X-Amz-Target: AmazonSSM.GetParameter), reached
// through the SDK's documented endpoint override (AWS_ENDPOINT_URL_SSM); nothing else is stubbed.
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { CloudFrontRequestEvent, CloudFrontResponseEvent } from "aws-lambda";
import { APP_HOST, NAV, cfEvent, cfRequest, testConfig, testSecrets } from "./support/events";

const dist = join(__dirname, "..", "dist");
const parameters = new Map<string, string>();
const requests: { target: string; body: Record<string, unknown> }[] = [];
let server: Server;
const saved = { ...process.env };

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const parsed = JSON.parse(body || "{}") as { Name: string };
      requests.push({ target: String(req.headers["x-amz-target"]), body: parsed });
      const value = parameters.get(parsed.Name);
      if (value === undefined) {
        res.writeHead(400, { "content-type": "application/x-amz-json-1.1" }).end(JSON.stringify({ __type: "ParameterNotFound", message: "not found" }));
        return;
      }
      res.writeHead(200, { "content-type": "application/x-amz-json-1.1" }).end(JSON.stringify({ Parameter: { Name: parsed.Name, Type: "String", Value: value, Version: 1 } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SSM: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    AWS_ACCESS_KEY_ID: "AKIDTEST",
    AWS_SECRET_ACCESS_KEY: "test-secret",
    AWS_REGION: "us-east-1",
    AWS_EC2_METADATA_DISABLED: "true",
  });
});
afterAll(async () => {
  process.env = saved;
  await new Promise((resolve) => server.close(resolve));
});

describe("GIVEN the built bundles", () => {
  it("THEN each is a self-contained CommonJS file with the AWS SDK left external, within the budget", () => {
    const sizes = JSON.parse(readFileSync(join(dist, "sizes.json"), "utf8"));
    for (const fn of ["viewer-request", "origin-response"]) {
      expect(existsSync(join(dist, fn, "index.js"))).toBe(true);
      expect(sizes.functions[fn].compressedBytes).toBeLessThanOrEqual(sizes.budgetCompressedBytes);
      const source = readFileSync(join(dist, fn, "index.js"), "utf8");
      expect(source.includes('require("@aws-sdk/client-ssm")')).toBe(true);
      expect(/require\("(aws-jwt-verify|\.\/|\.\.\/)/.test(source)).toBe(false);
    }
  });

  it("WHEN the viewer-request handler runs with the secrets placeholder THEN 503; once the host filled them THEN it authenticates", async () => {
    const { handler } = require(join(dist, "viewer-request", "index.js")) as { handler: (e: CloudFrontRequestEvent, c: { functionName: string }) => Promise<{ status?: string; headers?: Record<string, { value: string }[]> }> };
    const context = { functionName: "us-east-1.openhands-prod-edge-viewer-request" };
    parameters.set("/openhands/prod/edge/config", JSON.stringify(testConfig("https://login.example.test", "client")));
    parameters.set("/openhands/prod/edge/secrets", '{"unset":true}');
    const first = await handler(cfEvent(cfRequest({ uri: "/", headers: NAV })), context);
    expect(first.status).toBe("503");
    expect(requests.map((r) => r.target).sort()).toEqual(["AmazonSSM.GetParameter", "AmazonSSM.GetParameter"]);
    expect(requests.map((r) => r.body).sort((a, b) => String(a.Name).localeCompare(String(b.Name)))).toEqual([
      { Name: "/openhands/prod/edge/config", WithDecryption: true },
      { Name: "/openhands/prod/edge/secrets", WithDecryption: true },
    ]);
    // The placeholder is looked at again after 15 s; a fresh module instance stands for a container started later.
    jest.resetModules();
    parameters.set("/openhands/prod/edge/secrets", JSON.stringify(testSecrets()));
    const fresh = require(join(dist, "viewer-request", "index.js")) as typeof import("../src/viewer-request");
    const second = await fresh.handler(cfEvent(cfRequest({ uri: "/", headers: NAV })), context);
    expect("status" in second && second.status).toBe("302");
    expect("status" in second && second.headers?.location?.[0]?.value).toContain("https://login.example.test/authorize?");
  });

  it("WHEN a parameter is missing THEN the viewer-request fails closed with 503", async () => {
    jest.resetModules();
    const errors = jest.spyOn(console, "error").mockImplementation(() => undefined);
    const { handler } = require(join(dist, "viewer-request", "index.js")) as typeof import("../src/viewer-request");
    const result = await handler(cfEvent(cfRequest({ uri: "/" })), { functionName: "us-east-1.other-prod-edge-viewer-request" });
    expect("status" in result && result.status).toBe("503");
    expect(errors.mock.calls.join(" ")).toContain("/other/prod/edge/config is missing");
    errors.mockRestore();
  });

  it("WHEN the origin-response handler runs THEN it reads the config parameter and adds the app's headers", async () => {
    const { handler } = require(join(dist, "origin-response", "index.js")) as typeof import("../src/origin-response");
    const event: CloudFrontResponseEvent = {
      Records: [{ cf: { config: { distributionDomainName: "d", distributionId: "E", eventType: "origin-response", requestId: "r" }, request: cfRequest({ host: APP_HOST }), response: { status: "200", statusDescription: "OK", headers: {} } } }],
    };
    const response = await handler(event, { functionName: "us-east-1.openhands-prod-edge-origin-response" });
    expect(response.headers["x-frame-options"]?.[0]?.value).toBe("DENY");
    expect(response.headers["content-security-policy"]?.[0]?.value).toContain("frame-ancestors 'none'");
  });
});
