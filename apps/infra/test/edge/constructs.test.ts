import { App, TerraformStack } from "cdktf";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { DnsValidatedCertificate } from "../../src/constructs/edge/dns-validated-certificate";
import { UserDirectory } from "../../src/constructs/identity/user-directory";
import { edgeConfigDocument } from "../../src/constructs/edge/edge-parameters";

function stack(): TerraformStack {
  const s = new TerraformStack(new App(), "test");
  new AwsProvider(s, "aws", { region: "us-east-1" });
  return s;
}

describe("GIVEN a construct used without what it needs", () => {
  it("WHEN a certificate name has no zone THEN it refuses and names the name (no record written to a wrong zone)", () => {
    expect(
      () =>
        new DnsValidatedCertificate(stack(), "cert", {
          domainName: "openhands.example.com",
          subjectAlternativeNames: ["*.runtime.example.com"],
          zoneIdByDomain: { "openhands.example.com": "Z0123456789ABCDEFGHIJ" },
        }),
    ).toThrow("DnsValidatedCertificate cert: no Route 53 zone for *.runtime.example.com (every name needs the zone that proves it)");
  });

  it("WHEN a custom login domain comes without its zone THEN the user directory refuses", () => {
    expect(
      () =>
        new UserDirectory(stack(), "users", {
          namePrefix: "oh-test",
          appHost: "openhands.example.com",
          region: "us-east-1",
          domainPrefix: "oh-test-login",
          customDomain: "login.example.com",
        }),
    ).toThrow("UserDirectory: customDomain login.example.com needs customDomainZoneId (the Route 53 zone that holds it)");
  });
});

describe("GIVEN the pool, the client and the hosts", () => {
  it("THEN the edge configuration document derives issuer, JWKS and login URLs as docs/CONTRACTS.md writes them", () => {
    expect(
      edgeConfigDocument({
        appHost: "openhands.example.com",
        runtimeDomain: "runtime.example.com",
        region: "us-east-1",
        userPoolId: "us-east-1_AbC123",
        clientId: "client123",
        loginDomain: "login.example.com",
        scopes: ["openid", "email", "profile"],
        refreshTokenDays: 7,
      }),
    ).toEqual({
      version: 1,
      appHost: "openhands.example.com",
      runtimeDomain: "runtime.example.com",
      issuer: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123",
      jwksUri: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123/.well-known/jwks.json",
      userPoolId: "us-east-1_AbC123",
      clientId: "client123",
      authorizeUrl: "https://login.example.com/oauth2/authorize",
      tokenUrl: "https://login.example.com/oauth2/token",
      logoutUrl: "https://login.example.com/logout",
      scopes: ["openid", "email", "profile"],
      sessionMaxAgeSeconds: 604_800,
    });
  });
});
