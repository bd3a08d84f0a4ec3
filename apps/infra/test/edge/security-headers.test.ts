/**
 * The security headers moved from the origin-response function to CloudFront response headers policies: the same
 * values, per host, and a CSP that CloudFront accepts.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { App, TerraformStack } from "cdktf";
import { EdgePolicies } from "../../src/constructs/edge/edge-policies";
import { appContentSecurityPolicy, CSP_MAX_LENGTH, runtimeContentSecurityPolicy } from "../../src/constructs/edge/security-headers";

const EDGE_AUTH_HEADERS = join(__dirname, "../../../../packages/edge-auth/src/origin-response/security-headers.ts");

describe("GIVEN the edge-auth package's origin-response headers", () => {
  const present = existsSync(EDGE_AUTH_HEADERS);
  if (!present) console.warn(`SKIPPED: ${EDGE_AUTH_HEADERS} is gone, nothing left to compare the response headers policies with`);

  (present ? it : it.skip)("THEN the app host's CSP is the one the function sent", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const edgeAuth = require(EDGE_AUTH_HEADERS) as { appContentSecurityPolicy(config: { runtimeDomain: string }): string };
    for (const runtimeDomain of ["runtime.example.com", "sandbox.example.org"]) {
      expect(appContentSecurityPolicy(runtimeDomain)).toBe(edgeAuth.appContentSecurityPolicy({ runtimeDomain }));
    }
  });
});

describe("GIVEN the per-host policies", () => {
  it("THEN nothing frames the app, and only the app frames a runtime host", () => {
    expect(appContentSecurityPolicy("runtime.example.com")).toMatch(/(^|; )frame-ancestors 'none'$/);
    expect(runtimeContentSecurityPolicy("openhands.example.com")).toBe("frame-ancestors https://openhands.example.com");
  });

  it("THEN the app's CSP lets scripts, connections and frames come only from the app and the runtime hosts", () => {
    const csp = appContentSecurityPolicy("runtime.example.com");
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("connect-src 'self' https://*.runtime.example.com wss://*.runtime.example.com");
    expect(csp).toContain("object-src 'none'");
    expect(csp.split(/[; ]+/)).not.toContain("*");
    expect(csp.split(/[; ]+/)).not.toContain("'unsafe-eval'");
  });

  it("WHEN a CSP would exceed CloudFront's limit THEN the policies refuse it before synth", () => {
    const stack = new TerraformStack(new App(), "s");
    const runtimeDomain = `${`${"a".repeat(60)}.`.repeat(Math.ceil(CSP_MAX_LENGTH / 122))}example.com`;
    expect(() => new EdgePolicies(stack, "p", { namePrefix: "x-y", appHost: "app.example.com", runtimeDomain })).toThrow(
      /exceeds CloudFront's 1783/,
    );
  });
});
