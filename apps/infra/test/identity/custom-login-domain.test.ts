import { configProblems, exampleConfig, synthDeployment } from "../support/template";
import { all, one, ref } from "../support/template";

describe("GIVEN a custom login domain in the configuration", () => {
  const synth = synthDeployment(exampleConfig((raw) => (raw.cognito.customDomain = "login.example.com")));

  it("THEN the pool gets the custom domain with a us-east-1 certificate, and keeps its prefix domain", () => {
    const domains = all(synth, "auth", "aws_cognito_user_pool_domain");
    expect(domains.map((d) => d.domain).sort()).toEqual(["login.example.com", "openhands-example-login"]);
    const custom = domains.find((d) => d.domain === "login.example.com")!;
    expect(custom.certificate_arn).toMatch(/^\$\{aws_acm_certificate_validation\.[^.]+\.certificate_arn\}$/);
    expect(one(synth, "auth", "aws_acm_certificate")).toEqual(
      expect.objectContaining({ domain_name: "login.example.com", validation_method: "DNS" }),
    );
  });

  it("THEN A and AAAA alias records point the login host at Cognito's distribution", () => {
    const records = all(synth, "auth", "aws_route53_record").filter((r) => r.name === "login.example.com");
    expect(records.map((r) => r.type).sort()).toEqual(["A", "AAAA"]);
    const target = ref(synth, "auth", "aws_cognito_user_pool_domain", "cloudfront_distribution", (d) => d.domain === "login.example.com");
    for (const record of records) {
      expect(record.zone_id).toBe("Z0123456789ABCDEFGHIJ");
      expect(record.alias.name).toBe(target);
    }
  });

  it("THEN the edge configuration sends users to the custom login host", () => {
    const config = JSON.parse(one(synth, "edge", "aws_ssm_parameter", (p) => p.name.endsWith("/edge/config")).value);
    expect(config.authorizeUrl).toBe("https://login.example.com/oauth2/authorize");
    expect(config.tokenUrl).toBe("https://login.example.com/oauth2/token");
    expect(config.logoutUrl).toBe("https://login.example.com/logout");
  });
});

describe("GIVEN an invalid custom login domain", () => {
  it.each([
    [
      "outside the apex",
      "login.example.org",
      'config.cognito.customDomain: "login.example.org" is not a host inside the apex domain example.com (expected such as ' +
        "login.example.com; its certificate and record go to the apex zone)",
    ],
    [
      "the apex itself",
      "example.com",
      'config.cognito.customDomain: "example.com" is not a host inside the apex domain example.com (expected such as ' +
        "login.example.com; its certificate and record go to the apex zone)",
    ],
    [
      "the app host",
      "openhands.example.com",
      'config.cognito.customDomain: "openhands.example.com" collides with the app host or the runtime domain (expected a host of ' +
        "its own, such as login.example.com)",
    ],
    [
      "a runtime host (sandbox content would share the login origin)",
      "login.runtime.example.com",
      'config.cognito.customDomain: "login.runtime.example.com" collides with the app host or the runtime domain (expected a host ' +
        "of its own, such as login.example.com)",
    ],
    [
      "not a host name",
      "Login_Host",
      'config.cognito.customDomain: "Login_Host" is not a login host name (expected a lower-case DNS name such as openhands.example.com)',
    ],
  ])("WHEN it is %s THEN it is refused with its own message", (_what, value, message) => {
    expect(configProblems((raw) => (raw.cognito.customDomain = value))).toEqual([message]);
  });
});
