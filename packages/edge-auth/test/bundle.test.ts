// The built bundles as Lambda@Edge runs them: `handler` with only the function name and the runtime's environment to go on.
// SSM is the contract fake of harness/ssm-stand-in.ts, reached through AWS_ENDPOINT_URL_SSM; nothing else is stubbed.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { CloudFrontRequestEvent, CloudFrontResponseEvent } from "aws-lambda";
import { startSsmStandIn, type SsmStandIn } from "../harness/ssm-stand-in";
import { APP_HOST, NAV, cfEvent, cfRequest, testConfig, testSecrets } from "./support/events";

const dist = join(__dirname, "..", "dist");
let ssm: SsmStandIn;
const saved = { ...process.env };

beforeAll(async () => {
  ssm = await startSsmStandIn();
  Object.assign(process.env, ssm.env);
});
afterAll(async () => {
  process.env = saved;
  await ssm.close();
});

describe("GIVEN the built bundles", () => {
  it("THEN each is a self-contained CommonJS file without the AWS SDK, within the budget", () => {
    const sizes = JSON.parse(readFileSync(join(dist, "sizes.json"), "utf8"));
    for (const fn of ["viewer-request", "origin-response"]) {
      expect(existsSync(join(dist, fn, "index.js"))).toBe(true);
      expect(sizes.functions[fn].compressedBytes).toBeLessThanOrEqual(sizes.budgetCompressedBytes);
      const source = readFileSync(join(dist, fn, "index.js"), "utf8");
      expect(source.includes("@aws-sdk")).toBe(false);
      expect(/require\("(aws-jwt-verify|aws4fetch|\.\/|\.\.\/)/.test(source)).toBe(false);
    }
  });

  it(
    "WHEN the viewer-request handler runs with the secrets placeholder THEN " + "503; once the host filled them THEN it authenticates",
    async () => {
      const { handler } = require(join(dist, "viewer-request", "index.js")) as {
        handler: (
          e: CloudFrontRequestEvent,
          c: { functionName: string },
        ) => Promise<{ status?: string; headers?: Record<string, { value: string }[]> }>;
      };
      const context = { functionName: "us-east-1.openhands-prod-edge-viewer-request" };
      ssm.put("/openhands/prod/edge/config", JSON.stringify(testConfig("https://login.example.test", "client")));
      ssm.put("/openhands/prod/edge/secrets", '{"unset":true}', "SecureString");
      const first = await handler(cfEvent(cfRequest({ uri: "/", headers: NAV })), context);
      expect(first.status).toBe("503");
      // One signed GetParameters for both names (the stand-in checked the signature, the target and the body).
      expect(ssm.requests.map(({ target, names, withDecryption, outcome }) => ({ target, names, withDecryption, outcome }))).toEqual([
        {
          target: "AmazonSSM.GetParameters",
          names: ["/openhands/prod/edge/config", "/openhands/prod/edge/secrets"],
          withDecryption: true,
          outcome: "200",
        },
      ]);
      // The placeholder is looked at again after 15 s; a fresh module instance stands for a container started later.
      jest.resetModules();
      ssm.put("/openhands/prod/edge/secrets", JSON.stringify(testSecrets()), "SecureString");
      const fresh = require(join(dist, "viewer-request", "index.js")) as typeof import("../src/viewer-request");
      const second = await fresh.handler(cfEvent(cfRequest({ uri: "/", headers: NAV })), context);
      expect("status" in second && second.status).toBe("302");
      expect("status" in second && second.headers?.location?.[0]?.value).toContain("https://login.example.test/authorize?");
    },
  );

  it("WHEN a parameter is missing THEN the viewer-request fails closed with 503", async () => {
    jest.resetModules();
    const errors = jest.spyOn(console, "error").mockImplementation(() => undefined);
    const { handler } = require(join(dist, "viewer-request", "index.js")) as typeof import("../src/viewer-request");
    const result = await handler(cfEvent(cfRequest({ uri: "/" })), { functionName: "us-east-1.other-prod-edge-viewer-request" });
    expect("status" in result && result.status).toBe("503");
    expect(errors.mock.calls.join(" ")).toContain("/other/prod/edge/config is missing");
    errors.mockRestore();
  });

  it("WHEN a fresh process answers its first request THEN neither the AWS SDK nor undici was loaded", async () => {
    // The SDK stays reachable (as the Lambda runtime offers it on NODE_PATH): the bundle must not take it.
    const script = `
      const m = require(${JSON.stringify(join(dist, "viewer-request", "index.js"))});
      const event = ${JSON.stringify(cfEvent(cfRequest({ uri: "/", headers: NAV })))};
      m.handler(event, { functionName: "us-east-1.openhands-prod-edge-viewer-request" }).then((r) => {
        process.stdout.write(JSON.stringify({
          status: r.status,
          undici: process.moduleLoadList.filter((n) => n.includes("undici")),
          sdk: Object.keys(require.cache).filter((k) => k.includes("@aws-sdk")),
        }));
      });`;
    const calls = ssm.requests.length;
    const { stdout } = await promisify(execFile)(process.execPath, ["-e", script], {
      env: { ...process.env, NODE_PATH: join(__dirname, "..", "node_modules") },
      encoding: "utf8",
    });
    expect(JSON.parse(stdout)).toEqual({ status: "302", undici: [], sdk: [] });
    expect(ssm.requests.length).toBe(calls + 1);
  });

  it("WHEN the origin-response handler runs THEN it reads the config parameter and adds the app's headers", async () => {
    const { handler } = require(join(dist, "origin-response", "index.js")) as typeof import("../src/origin-response");
    const event: CloudFrontResponseEvent = {
      Records: [
        {
          cf: {
            config: { distributionDomainName: "d", distributionId: "E", eventType: "origin-response", requestId: "r" },
            request: cfRequest({ host: APP_HOST }),
            response: { status: "200", statusDescription: "OK", headers: {} },
          },
        },
      ],
    };
    const response = await handler(event, { functionName: "us-east-1.openhands-prod-edge-origin-response" });
    expect(response.headers["x-frame-options"]?.[0]?.value).toBe("DENY");
    expect(response.headers["content-security-policy"]?.[0]?.value).toContain("frame-ancestors 'none'");
  });
});
