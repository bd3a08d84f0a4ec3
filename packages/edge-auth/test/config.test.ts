import { EdgeConfigError, EdgeSecretsNotReadyError, parseEdgeConfig, parseEdgeSecrets } from "../src/shared/config";
import { testConfig, testSecrets } from "./support/events";

const good = testConfig("https://login.example.com", "client") as Record<string, unknown>;

describe("parseEdgeConfig", () => {
  it("GIVEN the contract's JSON (text or object) THEN it parses", () => {
    expect(parseEdgeConfig(JSON.stringify(good)).appHost).toBe("oh.example.test");
    expect(parseEdgeConfig(good).scopes).toEqual(["openid", "email", "profile"]);
  });

  it.each([
    ["version", 2, /config.version: 2 is not supported/],
    ["appHost", "Bad Host", /config.appHost: "Bad Host" is not a host name/],
    ["runtimeDomain", undefined, /config.runtimeDomain: undefined is not a host name/],
    ["appHost", "x.runtime.example.test", /lies inside the runtime domain/],
    ["issuer", "http://login.example.com", /config.issuer: .* is not an https URL/],
    ["tokenUrl", "https://user:pw@login.example.com/token", /config.tokenUrl/],
    ["jwksUri", "not a url", /config.jwksUri/],
    ["clientId", "a b", /config.clientId: "a b" is not valid/],
    ["userPoolId", "", /config.userPoolId/],
    ["scopes", ["email"], /config.scopes: .* includes "openid"/],
    ["scopes", "openid", /config.scopes/],
    ["sessionMaxAgeSeconds", 10, /config.sessionMaxAgeSeconds: 10/],
    ["sessionMaxAgeSeconds", 1.5, /config.sessionMaxAgeSeconds/],
  ])("GIVEN a bad %s THEN the error names the field, the value and the fix", (field, value, message) => {
    expect(() => parseEdgeConfig({ ...good, [field]: value })).toThrow(message);
    expect(() => parseEdgeConfig({ ...good, [field]: value })).toThrow(EdgeConfigError);
  });

  it("GIVEN http on loopback THEN it is allowed (local runs), elsewhere refused", () => {
    expect(parseEdgeConfig({ ...good, issuer: "http://127.0.0.1:9999" }).issuer).toBe("http://127.0.0.1:9999");
    expect(() => parseEdgeConfig({ ...good, issuer: "http://127.0.0.2:9999" })).toThrow(/issuer/);
  });

  it("GIVEN text that is not a JSON object THEN a clear error", () => {
    expect(() => parseEdgeConfig("{")).toThrow("config: is not valid JSON");
    expect(() => parseEdgeConfig("[]")).toThrow("config: is not a JSON object");
    expect(() => parseEdgeConfig(JSON.stringify("x".repeat(200)))).toThrow(/is not a JSON object/);
  });
});

describe("parseEdgeSecrets", () => {
  it("GIVEN the placeholder THEN it says the secrets are not ready", () => {
    expect(() => parseEdgeSecrets('{"unset":true}')).toThrow(EdgeSecretsNotReadyError);
  });

  it("GIVEN real keys THEN they are decoded, with the optional client secret", () => {
    const secrets = parseEdgeSecrets({ ...testSecrets(), clientSecret: "s" });
    expect(secrets.identitySigningKey).toHaveLength(32);
    expect(secrets.clientSecret).toBe("s");
    expect(parseEdgeSecrets(testSecrets()).clientSecret).toBeUndefined();
  });

  it.each([
    ["identitySigningKey", "short"],
    ["ticketKey", undefined],
    ["nonceKey", "not base64url!"],
    ["clientSecret", ""],
    ["clientSecret", 5],
  ])("GIVEN a bad %s THEN the error names it", (field, value) => {
    expect(() => parseEdgeSecrets({ ...testSecrets(), [field]: value })).toThrow(new RegExp(`secrets.${field}`));
  });
});
