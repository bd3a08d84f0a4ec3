// SSM Parameter Store (us-east-1) without the AWS SDK: one SigV4-signed GetParameters call on SSM's JSON 1.1 API.
// Signing is aws4fetch's AwsV4Signer; the request goes out through node:https (http-client.ts), the credentials are the ones
// the Lambda runtime puts in the environment. Loading the SDK's SSM client cost a cold start 0.1-1.3 s before any network.
import { AwsV4Signer } from "aws4fetch";
import { httpCall } from "./http-client";
import type { ParameterSource } from "./settings";

export const SSM_ENDPOINT = "https://ssm.us-east-1.amazonaws.com/";
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** SSM refused or could not be reached; `code` is SSM's error type (ThrottlingException, AccessDeniedException, ...) or ours. */
export class SsmError extends Error {
  override readonly name = "SsmError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`SSM GetParameters: ${code}: ${message}`);
  }
}

export interface SsmParameterSourceOptions {
  /** Where the credentials and an endpoint override come from. @default process.env (read on every call) */
  readonly env?: NodeJS.ProcessEnv;
  /** Deadline for the one request. @default 2000 */
  readonly timeoutMs?: number;
}

/**
 * The endpoint: SSM in us-east-1, or `AWS_ENDPOINT_URL_SSM` (the AWS-wide name for an endpoint override; tests point it at a
 * loopback stand-in). Plain http only for a loopback host, so that signed requests and decrypted values never travel in clear.
 */
function endpointFrom(env: NodeJS.ProcessEnv): string {
  const override = env.AWS_ENDPOINT_URL_SSM;
  if (!override) return SSM_ENDPOINT;
  let url: URL;
  try {
    url = new URL(override);
  } catch {
    throw new SsmError("InvalidEndpoint", `AWS_ENDPOINT_URL_SSM ${JSON.stringify(override.slice(0, 100))} is not a URL`);
  }
  // Credentials' signatures and decrypted keys in clear on the network: plain http is refused off loopback.
  if (!(url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname)))) {
    throw new SsmError(
      "InvalidEndpoint",
      `AWS_ENDPOINT_URL_SSM ${JSON.stringify(override.slice(0, 100))} is not https (plain http only on loopback)`,
    );
  }
  return url.toString();
}

/** The error type of an AWS JSON 1.1 error: `__type` (or `x-amzn-errortype`), without a `namespace#` prefix or `:detail` suffix. */
function errorType(body: Record<string, unknown>, header: string | undefined): string {
  const raw = typeof body.__type === "string" ? body.__type : (header ?? "");
  const type = raw.split(":")[0]!.split("#").pop()!.trim();
  return /^[A-Za-z][A-Za-z0-9]{0,99}$/.test(type) ? type : "UnknownError";
}

function parseBody(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * SSM GetParameters for up to 10 names with WithDecryption, in one signed request. Names SSM lists in `InvalidParameters`
 * (they do not exist, or the version/label does not) are absent from the result; every other failure throws an SsmError.
 * The role needs `ssm:GetParameters` on the names (and kms:Decrypt for a SecureString under a customer-managed key).
 */
export function ssmParameterSource(options: SsmParameterSourceOptions = {}): ParameterSource {
  return {
    async getParameters(names) {
      const env = options.env ?? process.env;
      const accessKeyId = env.AWS_ACCESS_KEY_ID;
      const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
      if (!accessKeyId || !secretAccessKey) {
        throw new SsmError(
          "MissingCredentials",
          "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not in the environment (the Lambda runtime sets them from the function's role)",
        );
      }
      const url = endpointFrom(env);
      const body = JSON.stringify({ Names: names, WithDecryption: true });
      const signer = new AwsV4Signer({
        method: "POST",
        url,
        headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonSSM.GetParameters" },
        body,
        accessKeyId,
        secretAccessKey,
        sessionToken: env.AWS_SESSION_TOKEN || undefined,
        service: "ssm",
        region: "us-east-1",
      });
      const signed = await signer.sign();
      const headers: Record<string, string> = {};
      signed.headers.forEach((value, name) => {
        headers[name] = value;
      });
      let answer: Awaited<ReturnType<typeof httpCall>>;
      try {
        answer = await httpCall(url, { method: "POST", headers, body, timeoutMs: options.timeoutMs ?? 2000 });
      } catch (error) {
        throw new SsmError("NetworkError", (error as Error).message);
      }
      const text = answer.body.toString("utf8");
      const parsed = parseBody(text);
      if (answer.status !== 200) {
        const type = errorType(parsed ?? {}, answer.headers["x-amzn-errortype"]);
        const message = parsed && typeof (parsed.message ?? parsed.Message) === "string" ? String(parsed.message ?? parsed.Message) : text;
        throw new SsmError(type, `${message.replace(/[^\x20-\x7e]/g, "?").slice(0, 300)} (HTTP ${answer.status})`);
      }
      if (!parsed || !Array.isArray(parsed.Parameters))
        throw new SsmError("MalformedAnswer", `the answer is not a GetParameters result: ${JSON.stringify(text.slice(0, 100))}`);
      const values = new Map<string, string>();
      for (const parameter of parsed.Parameters as unknown[]) {
        const { Name, Value } = (parameter ?? {}) as { Name?: unknown; Value?: unknown };
        if (typeof Name !== "string" || typeof Value !== "string")
          throw new SsmError("MalformedAnswer", "a parameter without a string Name and Value");
        if (names.includes(Name)) values.set(Name, Value);
      }
      return values;
    },
  };
}
