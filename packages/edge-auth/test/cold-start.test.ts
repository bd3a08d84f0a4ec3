// The cold start as Lambda@Edge sees it: a handler built from the SSM source, the SSM stand-in and a token issuer on loopback.
// Counts the round trips before the first answer (SSM + JWKS: exactly one with the JWKS the host stored), key rotation
// (an unknown kid is still downloaded), and every failure of the load: a 503 and a log line, retried on the next request.
import { generateKeyPairSync } from "node:crypto";
import { startSsmStandIn, type SsmFault, type SsmStandIn } from "../harness/ssm-stand-in";
import { COOKIE } from "../src/shared/cookies";
import { ssmParameterSource } from "../src/shared/ssm";
import { createViewerRequestHandlerFromParameters, type ViewerRequestHandler } from "../src/viewer-request";
import { asResponse, bodyJson, cfEvent, cfRequest, testConfig, testSecrets } from "./support/events";
import { CLIENT_ID, startTestIssuer, type TestIssuer } from "./support/issuer";

const FN = { functionName: "us-east-1.openhands-prod-edge-viewer-request" };
const CONFIG = "/openhands/prod/edge/config";
const SECRETS = "/openhands/prod/edge/secrets";
let ssm: SsmStandIn;
let issuer: TestIssuer;
let errors: jest.SpyInstance;
let warnings: jest.SpyInstance;

beforeEach(async () => {
  ssm = await startSsmStandIn();
  issuer = await startTestIssuer();
  ssm.put(CONFIG, JSON.stringify(testConfig(issuer.url, CLIENT_ID)));
  errors = jest.spyOn(console, "error").mockImplementation(() => undefined);
  warnings = jest.spyOn(console, "warn").mockImplementation(() => undefined);
});
afterEach(async () => {
  errors.mockRestore();
  warnings.mockRestore();
  await Promise.all([ssm.close(), issuer.close()]);
});

/** The secrets as the host writes them: the keys, and the issuer's JWKS with the URI it came from. */
const secretsWithJwks = (keys: Record<string, unknown>[] = [issuer.publicJwk]) => ({
  ...testSecrets(),
  jwksUri: `${issuer.url}/jwks.json`,
  jwks: { keys },
});
const handlerFor = (): ViewerRequestHandler => createViewerRequestHandlerFromParameters(ssmParameterSource({ env: ssm.env }));
const withSession = (token: string) => cfEvent(cfRequest({ uri: "/api/conversations", cookies: { [COOKIE.session]: token } }));
const roundTrips = () => ssm.requests.length + issuer.jwksRequests;
const forwarded = (result: Awaited<ReturnType<ViewerRequestHandler>>) => !("status" in result) && result.headers["x-oh-user"]?.[0]?.value;

describe("GIVEN a cold container with a valid session cookie", () => {
  it("WHEN the host stored the issuer's JWKS with the secrets THEN exactly one round trip (SSM) before the first answer", async () => {
    ssm.put(SECRETS, JSON.stringify(secretsWithJwks()), "SecureString");
    const result = await handlerFor()(withSession(issuer.idToken()), FN);
    expect(forwarded(result)).toBe("user-sub-1");
    expect(ssm.requests).toHaveLength(1);
    expect(ssm.requests[0]).toMatchObject({
      target: "AmazonSSM.GetParameters",
      names: [CONFIG, SECRETS],
      withDecryption: true,
      outcome: "200",
    });
    expect(issuer.jwksRequests).toBe(0);
    expect(roundTrips()).toBe(1);
  });

  it("WHEN the secrets carry no JWKS THEN it still works, with the JWKS download as the second round trip", async () => {
    ssm.put(SECRETS, JSON.stringify(testSecrets()), "SecureString");
    const result = await handlerFor()(withSession(issuer.idToken()), FN);
    expect(forwarded(result)).toBe("user-sub-1");
    expect([ssm.requests.length, issuer.jwksRequests]).toEqual([1, 1]);
  });

  it(
    "WHEN the issuer rotated to a key the stored JWKS lacks THEN the library " + "downloads the JWKS for that kid and the session works",
    async () => {
      ssm.put(SECRETS, JSON.stringify(secretsWithJwks()), "SecureString");
      const next = generateKeyPairSync("rsa", { modulusLength: 2048 });
      issuer.jwksKeys.push({
        ...(next.publicKey.export({ format: "jwk" }) as Record<string, unknown>),
        kid: "test-key-2",
        alg: "RS256",
        use: "sig",
      });
      const handler = handlerFor();
      const now = Math.floor(Date.now() / 1000);
      const rotated = issuer.signJwt(
        { sub: "user-sub-2", token_use: "id", aud: CLIENT_ID, iss: issuer.url, iat: now, exp: now + 600 },
        { kid: "test-key-2" },
        next.privateKey,
      );
      expect(forwarded(await handler(withSession(rotated), FN))).toBe("user-sub-2");
      expect(issuer.jwksRequests).toBe(1);
      // The stored key keeps working without another download.
      expect(forwarded(await handler(withSession(issuer.idToken()), FN))).toBe("user-sub-1");
      expect(issuer.jwksRequests).toBe(1);
    },
  );

  it(
    "WHEN a token names a kid neither the stored JWKS nor the issuer has, " + "or carries a stored kid with a foreign key THEN 401",
    async () => {
      ssm.put(SECRETS, JSON.stringify(secretsWithJwks()), "SecureString");
      const handler = handlerFor();
      const foreign = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
      const now = Math.floor(Date.now() / 1000);
      const claims = { sub: "mallory", token_use: "id", aud: CLIENT_ID, iss: issuer.url, iat: now, exp: now + 600 };
      expect(asResponse(await handler(withSession(issuer.signJwt(claims, { kid: "made-up" }, foreign)), FN)).status).toBe("401");
      expect(asResponse(await handler(withSession(issuer.signJwt(claims, {}, foreign)), FN)).status).toBe("401");
    },
  );

  it(
    "WHEN the stored JWKS was downloaded from another URI (another pool) THEN " +
      "it is not used: the configured issuer's keys are downloaded",
    async () => {
      const planted = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const plantedJwk = {
        ...(planted.publicKey.export({ format: "jwk" }) as Record<string, unknown>),
        kid: "test-key-1",
        alg: "RS256",
        use: "sig",
      };
      ssm.put(
        SECRETS,
        JSON.stringify({
          ...testSecrets(),
          jwksUri: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other/.well-known/jwks.json",
          jwks: { keys: [plantedJwk] },
        }),
        "SecureString",
      );
      const handler = handlerFor();
      const now = Math.floor(Date.now() / 1000);
      const byPlanted = issuer.signJwt(
        { sub: "mallory", token_use: "id", aud: CLIENT_ID, iss: issuer.url, iat: now, exp: now + 600 },
        {},
        planted.privateKey,
      );
      expect(asResponse(await handler(withSession(byPlanted), FN)).status).toBe("401");
      expect(forwarded(await handler(withSession(issuer.idToken()), FN))).toBe("user-sub-1");
      expect(issuer.jwksRequests).toBe(1);
    },
  );

  it.each([
    ["not an object", { jwksUri: "x", jwks: [] }],
    ["keys without kid", { jwks: { keys: [{ kty: "RSA" }] } }],
    ["a JWKS without its URI", { jwks: { keys: [{ kty: "RSA", kid: "k" }] } }],
  ])("WHEN the stored JWKS is malformed (%s) THEN it is ignored with a log line and the JWKS is downloaded", async (_what, extra) => {
    ssm.put(SECRETS, JSON.stringify({ ...testSecrets(), ...extra }), "SecureString");
    expect(forwarded(await handlerFor()(withSession(issuer.idToken()), FN))).toBe("user-sub-1");
    expect(issuer.jwksRequests).toBe(1);
    expect(warnings.mock.calls.join(" ")).toContain("secrets.jwks/jwksUri ignored");
  });
});

describe("GIVEN a cold container whose configuration load fails", () => {
  const faults: [string, SsmFault | "deny" | "missing-config" | "missing-secrets" | "bad-json" | "no-credentials", RegExp][] = [
    ["throttling", { type: "ThrottlingException", message: "Rate exceeded" }, /ThrottlingException: Rate exceeded/],
    ["access denied", "deny", /AccessDeniedException: .*ssm:GetParameters/],
    ["an internal error", { type: "InternalServerError", status: 500, message: "boom" }, /InternalServerError: boom \(HTTP 500\)/],
    ["a dropped connection", "drop", /NetworkError/],
    ["a malformed answer", { raw: "{not json", status: 200 }, /MalformedAnswer/],
    ["no credentials in the environment", "no-credentials", /MissingCredentials/],
    ["a missing config parameter", "missing-config", /SSM parameter \/openhands\/prod\/edge\/config is missing/],
    ["a missing secrets parameter", "missing-secrets", /SSM parameter \/openhands\/prod\/edge\/secrets is missing/],
    ["malformed JSON in the secrets", "bad-json", /secrets: is not valid JSON/],
  ];

  it.each(
    faults,
  )("WHEN %s THEN 503 with Retry-After and a log line; the next request loads again and works", async (_what, fault, logged) => {
    ssm.put(SECRETS, JSON.stringify(secretsWithJwks()), "SecureString");
    let env: Record<string, string | undefined> = ssm.env;
    if (fault === "deny") ssm.allow = (name) => name !== SECRETS;
    else if (fault === "missing-config") ssm.delete(CONFIG);
    else if (fault === "missing-secrets") ssm.delete(SECRETS);
    else if (fault === "bad-json") ssm.put(SECRETS, '{"identitySigningKey":', "SecureString");
    else if (fault === "no-credentials") env = { ...ssm.env, AWS_ACCESS_KEY_ID: undefined };
    else ssm.faults.push(fault);
    const live = { env };
    const handler = createViewerRequestHandlerFromParameters({
      getParameters: (names) => ssmParameterSource({ env: live.env }).getParameters(names),
    });
    const first = asResponse(await handler(withSession(issuer.idToken()), FN));
    expect(first.status).toBe("503");
    expect(first.headers?.["retry-after"]?.[0]?.value).toBe("30");
    expect(bodyJson(first).error).toBe("unavailable");
    expect(errors.mock.calls.map((c) => String(c[0])).join("\n")).toMatch(logged);
    // The cause goes away (SSM recovers, the operator fixes the parameter): the very next request tries again.
    ssm.allow = () => true;
    ssm.put(CONFIG, JSON.stringify(testConfig(issuer.url, CLIENT_ID)));
    ssm.put(SECRETS, JSON.stringify(secretsWithJwks()), "SecureString");
    live.env = ssm.env;
    const calls = ssm.requests.length;
    expect(forwarded(await handler(withSession(issuer.idToken()), FN))).toBe("user-sub-1");
    expect(ssm.requests.length).toBe(calls + 1);
  });

  it(
    "WHEN concurrent first requests arrive during a throttled load THEN one " + "call for all of them, each answered 503, none crashes",
    async () => {
      ssm.put(SECRETS, JSON.stringify(secretsWithJwks()), "SecureString");
      ssm.faults.push({ type: "ThrottlingException", message: "Rate exceeded" });
      const handler = handlerFor();
      const answers = await Promise.all([1, 2, 3].map(() => handler(withSession(issuer.idToken()), FN)));
      expect(answers.map((a) => asResponse(a).status)).toEqual(["503", "503", "503"]);
      expect(ssm.requests).toHaveLength(1);
    },
  );
});
