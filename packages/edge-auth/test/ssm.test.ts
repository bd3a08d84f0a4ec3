// The SDK-free SSM client (src/shared/ssm.ts) against the SSM stand-in (harness/ssm-stand-in.ts), and the stand-in's own
// strictness: a fake kinder than SSM would let a broken signer pass.
import { request } from "node:http";
import { startSsmStandIn, type SsmStandIn } from "../harness/ssm-stand-in";
import { SsmError, ssmParameterSource } from "../src/shared/ssm";

const CONFIG = "/openhands/prod/edge/config";
const SECRETS = "/openhands/prod/edge/secrets";
let ssm: SsmStandIn;

beforeEach(async () => {
  ssm = await startSsmStandIn();
  ssm.put(CONFIG, '{"version":1}');
  ssm.put(SECRETS, '{"nonceKey":"n"}', "SecureString");
});
afterEach(() => ssm.close());

const source = (env: Record<string, string | undefined> = ssm.env) => ssmParameterSource({ env });

async function rejection(promise: Promise<unknown>): Promise<SsmError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SsmError);
  return error as SsmError;
}

function rawPost(headers: Record<string, string>, body: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(ssm.endpoint, { method: "POST", headers }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("GIVEN the SDK-free SSM client", () => {
  it(
    "WHEN it reads both parameters THEN one signed GetParameters call with " +
      "WithDecryption, SigV4 for us-east-1/ssm, and the decrypted values",
    async () => {
      const values = await source().getParameters([CONFIG, SECRETS]);
      expect([...values]).toEqual([
        [CONFIG, '{"version":1}'],
        [SECRETS, '{"nonceKey":"n"}'],
      ]);
      expect(ssm.requests).toHaveLength(1);
      const [call] = ssm.requests;
      expect(call).toMatchObject({ target: "AmazonSSM.GetParameters", names: [CONFIG, SECRETS], withDecryption: true, outcome: "200" });
      expect(call!.authorization).toMatch(
        new RegExp(
          `^AWS4-HMAC-SHA256 Credential=${ssm.credentials.accessKeyId}/\\d{8}/us-east-1/ssm/aws4_request, ` +
            `SignedHeaders=host;x-amz-date;x-amz-security-token;x-amz-target, Signature=[0-9a-f]{64}$`,
        ),
      );
    },
  );

  it("WHEN a name does not exist THEN SSM lists it in InvalidParameters and it is simply absent", async () => {
    ssm.delete(SECRETS);
    const values = await source().getParameters([CONFIG, SECRETS]);
    expect([...values.keys()]).toEqual([CONFIG]);
  });

  it.each([
    ["ThrottlingException", { type: "ThrottlingException", message: "Rate exceeded" }, /ThrottlingException: Rate exceeded \(HTTP 400\)/],
    [
      "InternalServerError",
      { type: "InternalServerError", status: 500, message: "internal" },
      /InternalServerError: internal \(HTTP 500\)/,
    ],
    [
      "a namespaced __type",
      {
        raw: JSON.stringify({
          __type: "com.amazon.coral.service#ExpiredTokenException",
          message: "The security token included in the request is expired",
        }),
        status: 400,
      },
      /^SSM GetParameters: ExpiredTokenException: The security token/,
    ],
    ["a 200 that is not JSON", { raw: "<html>proxy</html>", status: 200 }, /MalformedAnswer/],
    ["a 200 without Parameters", { raw: "{}", status: 200 }, /MalformedAnswer/],
    ["a parameter without a Value", { raw: JSON.stringify({ Parameters: [{ Name: CONFIG }] }), status: 200 }, /MalformedAnswer/],
    ["an error body that is not JSON", { raw: "Service Unavailable", status: 503 }, /UnknownError: Service Unavailable \(HTTP 503\)/],
    ["a dropped connection", "drop" as const, /NetworkError/],
  ])("WHEN SSM answers %s THEN an SsmError that says so", async (_what, fault, message) => {
    ssm.faults.push(fault);
    expect((await rejection(source().getParameters([CONFIG]))).message).toMatch(message);
  });

  it("WHEN the role may not read a name THEN AccessDeniedException names the action and resource", async () => {
    ssm.allow = (name) => name !== SECRETS;
    const error = await rejection(source().getParameters([CONFIG, SECRETS]));
    expect(error.code).toBe("AccessDeniedException");
    expect(error.message).toContain(
      `not authorized to perform: ssm:GetParameters on resource: arn:aws:ssm:us-east-1:123456789012:parameter${SECRETS}`,
    );
  });

  it("WHEN the credentials are missing, wrong or lack their session token THEN no call, or SSM's refusal", async () => {
    expect((await rejection(source({ ...ssm.env, AWS_SECRET_ACCESS_KEY: undefined }).getParameters([CONFIG]))).code).toBe(
      "MissingCredentials",
    );
    expect(ssm.requests).toHaveLength(0);
    expect((await rejection(source({ ...ssm.env, AWS_SECRET_ACCESS_KEY: "wrong" }).getParameters([CONFIG]))).code).toBe(
      "InvalidSignatureException",
    );
    expect((await rejection(source({ ...ssm.env, AWS_ACCESS_KEY_ID: "AKIAOTHER" }).getParameters([CONFIG]))).code).toBe(
      "UnrecognizedClientException",
    );
    expect((await rejection(source({ ...ssm.env, AWS_SESSION_TOKEN: undefined }).getParameters([CONFIG]))).code).toBe(
      "UnrecognizedClientException",
    );
  });

  it("WHEN the endpoint override is plain http off loopback THEN refused before anything is signed or sent", async () => {
    const error = await rejection(source({ ...ssm.env, AWS_ENDPOINT_URL_SSM: "http://ssm.example.test/" }).getParameters([CONFIG]));
    expect(error.code).toBe("InvalidEndpoint");
    expect((await rejection(source({ ...ssm.env, AWS_ENDPOINT_URL_SSM: "not a url" }).getParameters([CONFIG]))).code).toBe(
      "InvalidEndpoint",
    );
  });

  it("WHEN nothing answers in time THEN a NetworkError after the deadline", async () => {
    ssm.delayMs = 500;
    const error = await rejection(ssmParameterSource({ env: ssm.env, timeoutMs: 50 }).getParameters([CONFIG]));
    expect(error.message).toMatch(/NetworkError: no answer within 50 ms/);
  });
});

describe("GIVEN the SSM stand-in (it must refuse what SSM refuses)", () => {
  const json = { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonSSM.GetParameters" };

  it("WHEN a request is unsigned THEN MissingAuthenticationTokenException with __type", async () => {
    const answer = await rawPost(json, JSON.stringify({ Names: [CONFIG] }));
    expect(answer).toEqual({
      status: 400,
      body: { __type: "MissingAuthenticationTokenException", message: "Missing Authentication Token" },
    });
  });

  it("WHEN the Authorization header is malformed or the signature wrong THEN IncompleteSignature / InvalidSignature", async () => {
    expect((await rawPost({ ...json, Authorization: "AWS4-HMAC-SHA256 Credential=x" }, "{}")).body.__type).toBe(
      "IncompleteSignatureException",
    );
    const date = new Date().toISOString().replace(/[:-]|\.\d{3}/g, "");
    const forged =
      `AWS4-HMAC-SHA256 Credential=${ssm.credentials.accessKeyId}/${date.slice(0, 8)}/us-east-1/ssm/aws4_request, ` +
      `SignedHeaders=host;x-amz-date;x-amz-security-token;x-amz-target, Signature=${"0".repeat(64)}`;
    const answer = await rawPost(
      { ...json, Authorization: forged, "X-Amz-Date": date, "X-Amz-Security-Token": ssm.credentials.sessionToken! },
      JSON.stringify({ Names: [CONFIG] }),
    );
    expect(answer.body.__type).toBe("InvalidSignatureException");
  });

  it("WHEN a signed request names more than 10 parameters or none THEN ValidationException", async () => {
    const names = Array.from({ length: 11 }, (_, i) => `/p${i}`);
    expect((await rejection(source().getParameters(names))).code).toBe("ValidationException");
    expect((await rejection(source().getParameters([]))).code).toBe("ValidationException");
  });

  it("WHEN a SecureString is read without decryption THEN its ciphertext, not the value", async () => {
    const { createHash, createHmac } = await import("node:crypto");
    // A second, independent signature (node:crypto) for a WithDecryption:false request.
    const body = JSON.stringify({ Names: [SECRETS], WithDecryption: false });
    const date = new Date().toISOString().replace(/[:-]|\.\d{3}/g, "");
    const host = new URL(ssm.endpoint).host;
    const token = ssm.credentials.sessionToken!;
    const canonical = [
      "POST",
      "/",
      "",
      `host:${host}\nx-amz-date:${date}\nx-amz-security-token:${token}\nx-amz-target:AmazonSSM.GetParameters\n`,
      "host;x-amz-date;x-amz-security-token;x-amz-target",
      createHash("sha256").update(body).digest("hex"),
    ].join("\n");
    const scope = `${date.slice(0, 8)}/us-east-1/ssm/aws4_request`;
    const toSign = ["AWS4-HMAC-SHA256", date, scope, createHash("sha256").update(canonical).digest("hex")].join("\n");
    const h = (k: string | Buffer, d: string) => createHmac("sha256", k).update(d).digest();
    const key = h(h(h(h(`AWS4${ssm.credentials.secretAccessKey}`, date.slice(0, 8)), "us-east-1"), "ssm"), "aws4_request");
    const authorization =
      `AWS4-HMAC-SHA256 Credential=${ssm.credentials.accessKeyId}/${scope}, SignedHeaders=host;x-amz-date;x-amz-security-token;` +
      `x-amz-target, Signature=${h(key, toSign).toString("hex")}`;
    const answer = await rawPost({ ...json, Authorization: authorization, "X-Amz-Date": date, "X-Amz-Security-Token": token }, body);
    expect(answer.status).toBe(200);
    const [parameter] = answer.body.Parameters as { Value: string; Type: string }[];
    expect(parameter!.Type).toBe("SecureString");
    expect(parameter!.Value).not.toContain("nonceKey");
    const wrongTarget = await rawPost(
      {
        ...json,
        "X-Amz-Target": "AmazonSSM.GetParameter",
        Authorization: authorization,
        "X-Amz-Date": date,
        "X-Amz-Security-Token": token,
      },
      body,
    );
    expect(wrongTarget.body.__type).toBe("InvalidSignatureException");
  });
});
