import type { CloudFrontHeaders, CloudFrontResponseEvent } from "aws-lambda";
import { createOriginResponseHandler, createOriginResponseHandlerFromParameters } from "../src/origin-response";
import { userSlug } from "../src/slug";
import { APP_HOST, RUNTIME_DOMAIN, testConfig } from "./support/events";

const config = testConfig("https://login.example.com", "client");
const RUNTIME = `3000-${userSlug("u")}.${RUNTIME_DOMAIN}`;

function event(host: string, headers: CloudFrontHeaders = {}): CloudFrontResponseEvent {
  return {
    Records: [
      {
        cf: {
          config: { distributionDomainName: "d.cloudfront.net", distributionId: "E", eventType: "origin-response", requestId: "r" },
          request: { clientIp: "203.0.113.1", method: "GET", uri: "/", querystring: "", headers: { host: [{ key: "Host", value: host }] } },
          response: { status: "200", statusDescription: "OK", headers },
        },
      },
    ],
  };
}

const get = (headers: CloudFrontHeaders, name: string) => headers[name]?.[0]?.value;

describe("origin-response security headers", () => {
  const handler = createOriginResponseHandler({ config });

  it("GIVEN the app host THEN HSTS, nosniff, same-origin referrer, no framing, and a CSP that allows the runtime hosts", async () => {
    const { headers } = await handler(event(APP_HOST, { "content-type": [{ key: "Content-Type", value: "text/html" }] }));
    expect(get(headers, "strict-transport-security")).toBe("max-age=63072000; includeSubDomains");
    expect(get(headers, "x-content-type-options")).toBe("nosniff");
    expect(get(headers, "referrer-policy")).toBe("same-origin");
    expect(get(headers, "x-frame-options")).toBe("DENY");
    const csp = get(headers, "content-security-policy")!;
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain(`connect-src 'self' https://*.${RUNTIME_DOMAIN} wss://*.${RUNTIME_DOMAIN}`);
    expect(csp).toContain(`frame-src 'self' https://*.${RUNTIME_DOMAIN}`);
    expect(csp).toContain("object-src 'none'");
    expect(get(headers, "content-type")).toBe("text/html");
  });

  it("GIVEN a runtime host THEN only the app may frame it, no referrer, and sandbox cookies lose Domain and our names", async () => {
    const { headers } = await handler(
      event(RUNTIME, {
        "set-cookie": [
          { key: "Set-Cookie", value: "a=1; Domain=.example.test; Path=/" },
          { key: "Set-Cookie", value: "__Host-oh-session=evil; Path=/; Secure" },
          { key: "Set-Cookie", value: "b=2; domain = example.test" },
        ],
      }),
    );
    expect(get(headers, "content-security-policy")).toBe(`frame-ancestors https://${APP_HOST}`);
    expect(get(headers, "referrer-policy")).toBe("no-referrer");
    expect(headers["x-frame-options"]).toBeUndefined();
    expect(headers["set-cookie"]!.map((c) => c.value)).toEqual(["a=1; Path=/", "b=2"]);
  });

  it("GIVEN only cookies of ours from a sandbox THEN no Set-Cookie remains", async () => {
    const { headers } = await handler(event(RUNTIME, { "set-cookie": [{ key: "Set-Cookie", value: "__Secure-oh-refresh=x" }] }));
    expect(headers["set-cookie"]).toBeUndefined();
  });

  it("GIVEN a sandbox's nameless cookie or tab-spaced Domain posing as ours THEN it is dropped or loses Domain", async () => {
    const { headers } = await handler(
      event(RUNTIME, {
        "set-cookie": [
          { key: "Set-Cookie", value: "=__Host-oh-refresh=evil; Path=/; Secure" },
          { key: "Set-Cookie", value: " = __host-oh_session=evil" },
          { key: "Set-Cookie", value: "c=3; Domain\t=example.test; Path=/" },
        ],
      }),
    );
    expect(headers["set-cookie"]!.map((c) => c.value)).toEqual(["c=3; Path=/"]);
  });

  it("GIVEN an unknown host THEN strict generic headers", async () => {
    const { headers } = await handler(event("evil.example"));
    expect(get(headers, "content-security-policy")).toBe("frame-ancestors 'none'");
    expect(get(headers, "referrer-policy")).toBe("no-referrer");
  });

  it("GIVEN no configuration can be loaded THEN the generic headers still apply", async () => {
    const errors = jest.spyOn(console, "error").mockImplementation(() => undefined);
    const fromParameters = createOriginResponseHandlerFromParameters({ getParameters: async () => new Map() });
    const { headers } = await fromParameters(event(APP_HOST), { functionName: "openhands-prod-edge-origin-response" });
    expect(get(headers, "strict-transport-security")).toContain("max-age=");
    expect(get(headers, "content-security-policy")).toBe("frame-ancestors 'none'");
    expect(errors).toHaveBeenCalled();
    errors.mockRestore();
  });

  it("GIVEN the config parameter THEN the app CSP applies", async () => {
    const fromParameters = createOriginResponseHandlerFromParameters({
      getParameters: async (names) => new Map([[names[0]!, JSON.stringify(config)]]),
    });
    const { headers } = await fromParameters(event(APP_HOST), { functionName: "us-east-1.openhands-prod-edge-origin-response" });
    expect(get(headers, "x-frame-options")).toBe("DENY");
  });
});
