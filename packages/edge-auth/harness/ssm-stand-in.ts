// SSM Parameter Store on loopback: a contract fake of SSM's JSON 1.1 API as the AWS Systems Manager API Reference describes it
// (GetParameters: Names 1-10, WithDecryption, Parameters in alphabetical order, InvalidParameters for names it does not hold;
// errors as HTTP 400/500 with a JSON body {"__type", "message"} and x-amzn-ErrorType). It is never kinder than SSM: it checks the
// SigV4 signature itself (an implementation of its own, not the signer's), the scope us-east-1/ssm, the clock skew, the session
// token, X-Amz-Target and the content type, and it refuses names outside the role's policy (`allow`) with AccessDeniedException.
// The edge bundles, their tests, the local CloudFront harness and the bench all read their parameters from it.
import { createHash, createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface SsmCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Temporary credentials (a Lambda role's) carry a session token, which must then come as X-Amz-Security-Token. */
  readonly sessionToken?: string;
}

/** What the stand-in answers instead of the operation: an SSM error, a raw answer (malformed bodies), or a dropped connection. */
export type SsmFault =
  | { readonly type: string; readonly status?: number; readonly message?: string }
  | { readonly raw: string; readonly status: number }
  | "drop";

export interface SsmRequestRecord {
  readonly target: string;
  readonly names: readonly string[];
  readonly withDecryption: boolean;
  readonly authorization: string;
  /** What the stand-in answered: 200, or the error type. */
  readonly outcome: string;
}

export interface SsmStandInOptions {
  /** Credentials whose signatures it accepts. @default a fixed test key pair with a session token (see `credentials`) */
  readonly credentials?: SsmCredentials;
  /** Milliseconds added before each answer (a stand-in for the distance to us-east-1). @default 0 */
  readonly delayMs?: number;
  /** The role's policy: names outside it make the whole call fail with AccessDeniedException, as IAM does. @default all */
  readonly allow?: (name: string) => boolean;
}

export interface SsmStandIn {
  /** `http://127.0.0.1:<port>/`, for AWS_ENDPOINT_URL_SSM. */
  readonly endpoint: string;
  readonly credentials: SsmCredentials;
  /** The environment the Lambda runtime would give the function: credentials and the endpoint override. */
  readonly env: Record<string, string>;
  /** Every request, oldest first. */
  readonly requests: SsmRequestRecord[];
  /** Answers for the next requests, in order, before the operation runs. */
  readonly faults: SsmFault[];
  delayMs: number;
  allow: (name: string) => boolean;
  put(name: string, value: string, type?: "String" | "SecureString"): void;
  delete(name: string): void;
  close(): Promise<void>;
}

const DEFAULT_CREDENTIALS: SsmCredentials = {
  accessKeyId: "ASIASTANDIN0EXAMPLE1",
  secretAccessKey: "stand-in-secret-access-key/0123456789abcdef",
  sessionToken: "stand-in-session-token",
};
const ACCOUNT = "123456789012";
const MAX_SKEW_MS = 15 * 60 * 1000;
const JSON_TYPE = "application/x-amz-json-1.1";

class SsmFailure extends Error {
  constructor(
    readonly type: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const sha256Hex = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data).digest();

// RFC 3986 encoding of a path segment or query component, as SigV4's canonical request wants it.
const encode = (value: string) => encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** A SigV4 Authorization header: the credential scope (key id, date, region, service), the signed headers and the signature. */
const SIGV4_AUTHORIZATION = new RegExp(
  [
    String.raw`^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, ?`,
    "SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$",
  ].join(""),
);

/** Checks a SigV4 Authorization header against the request, the way AWS does (the errors and their wording are AWS's). */
function verifySignature(req: IncomingMessage, body: Buffer, credentials: SsmCredentials, now: number): void {
  const authorization = req.headers.authorization;
  if (!authorization) throw new SsmFailure("MissingAuthenticationTokenException", 400, "Missing Authentication Token");
  const match = SIGV4_AUTHORIZATION.exec(authorization);
  if (!match)
    throw new SsmFailure(
      "IncompleteSignatureException",
      400,
      `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization=${authorization.slice(0, 60)}`,
    );
  const [, keyId, day, region, service, signedHeaderList, signature] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (keyId !== credentials.accessKeyId)
    throw new SsmFailure("UnrecognizedClientException", 400, "The security token included in the request is invalid.");
  if (region !== "us-east-1" || service !== "ssm")
    throw new SsmFailure(
      "InvalidSignatureException",
      400,
      `Credential should be scoped to a valid region and service: ${region}/${service}`,
    );
  const amzDate = String(req.headers["x-amz-date"] ?? "");
  const dateMatch = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!dateMatch)
    throw new SsmFailure(
      "IncompleteSignatureException",
      400,
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
    );
  const signedAt = Date.UTC(+dateMatch[1]!, +dateMatch[2]! - 1, +dateMatch[3]!, +dateMatch[4]!, +dateMatch[5]!, +dateMatch[6]!);
  if (Math.abs(now - signedAt) > MAX_SKEW_MS)
    throw new SsmFailure(
      "InvalidSignatureException",
      400,
      `Signature expired: ${amzDate} is now earlier or later than the allowed 15 minutes.`,
    );
  if (amzDate.slice(0, 8) !== day)
    throw new SsmFailure(
      "InvalidSignatureException",
      400,
      "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP",
    );
  const signedHeaders = signedHeaderList.split(";");
  // SigV4 requires host and every x-amz-* header present to be signed.
  for (const name of ["host", ...Object.keys(req.headers).filter((h) => h.startsWith("x-amz-"))]) {
    if (!signedHeaders.includes(name))
      throw new SsmFailure("InvalidSignatureException", 400, `'${name}' must be a 'SignedHeader' in the AWS Authorization.`);
  }
  const token = req.headers["x-amz-security-token"];
  if (credentials.sessionToken !== undefined ? token !== credentials.sessionToken : token !== undefined) {
    throw new SsmFailure("UnrecognizedClientException", 400, "The security token included in the request is invalid.");
  }
  const url = new URL(req.url ?? "/", "http://stand-in");
  const path = url.pathname
    .split("/")
    .map((segment) => encode(decodeURIComponent(segment)))
    .join("/");
  const query = [...url.searchParams]
    .map(([k, v]) => `${encode(k)}=${encode(v)}`)
    .sort()
    .join("&");
  const headerLines = signedHeaders.map((name) => {
    const value = req.headers[name];
    return `${name}:${(Array.isArray(value) ? value.join(",") : (value ?? "")).trim().replace(/\s+/g, " ")}`;
  });
  const canonical = [req.method, path, query, `${headerLines.join("\n")}\n`, signedHeaderList, sha256Hex(body)].join("\n");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonical)].join("\n");
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), service), "aws4_request");
  const expected = hmac(signingKey, stringToSign);
  if (!timingSafeEqual(expected, Buffer.from(signature, "hex"))) {
    throw new SsmFailure(
      "InvalidSignatureException",
      400,
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing " +
        "method. Consult the service documentation for details.",
    );
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export async function startSsmStandIn(options: SsmStandInOptions = {}): Promise<SsmStandIn> {
  const credentials = options.credentials ?? DEFAULT_CREDENTIALS;
  const store = new Map<string, { value: string; type: "String" | "SecureString"; version: number; modified: number }>();

  const getParameters = (input: Record<string, unknown>): Record<string, unknown> => {
    const names = input.Names;
    if (
      !Array.isArray(names) ||
      names.length < 1 ||
      names.length > 10 ||
      !names.every((n) => typeof n === "string" && n.length >= 1 && n.length <= 2048)
    ) {
      throw new SsmFailure(
        "ValidationException",
        400,
        "1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length less than or equal to " +
          "10 and greater than or equal to 1",
      );
    }
    if (input.WithDecryption !== undefined && typeof input.WithDecryption !== "boolean")
      throw new SsmFailure("SerializationException", 400, "Start of structure or map found where not expected.");
    const denied = (names as string[]).find((name) => !stand.allow(name));
    if (denied !== undefined) {
      throw new SsmFailure(
        "AccessDeniedException",
        400,
        `User: arn:aws:sts::${ACCOUNT}:assumed-role/edge-role/fn is not authorized to perform: ssm:GetParameters on resource: ` +
          `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter${denied} because no identity-based policy allows the ssm:GetParameters action`,
      );
    }
    const unique = [...new Set(names as string[])];
    const found = unique.filter((name) => store.has(name)).sort();
    return {
      Parameters: found.map((name) => {
        const p = store.get(name)!;
        const value =
          p.type === "SecureString" && input.WithDecryption !== true ? Buffer.from(`kms:${p.value}`).toString("base64") : p.value;
        return {
          Name: name,
          Type: p.type,
          Value: value,
          Version: p.version,
          LastModifiedDate: p.modified / 1000,
          ARN: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter${name}`,
          DataType: "text",
        };
      }),
      InvalidParameters: unique.filter((name) => !store.has(name)),
    };
  };

  const answerError = (res: ServerResponse, failure: SsmFailure) => {
    res.writeHead(failure.status, { "content-type": JSON_TYPE, "x-amzn-requestid": randomUUID(), "x-amzn-errortype": `${failure.type}:` });
    res.end(JSON.stringify({ __type: failure.type, message: failure.message }));
  };

  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    const target = String(req.headers["x-amz-target"] ?? "");
    let input: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(body.toString("utf8") || "{}");
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) input = parsed as Record<string, unknown>;
    } catch {
      input = {};
    }
    const record = (outcome: string) =>
      stand.requests.push({
        target,
        names: Array.isArray(input.Names) ? (input.Names as string[]) : [],
        withDecryption: input.WithDecryption === true,
        authorization: String(req.headers.authorization ?? ""),
        outcome,
      });
    if (stand.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, stand.delayMs));
    const fault = stand.faults.shift();
    if (fault === "drop") {
      record("drop");
      req.socket.destroy();
      return;
    }
    if (fault && "raw" in fault) {
      record(`raw ${fault.status}`);
      res.writeHead(fault.status, { "content-type": JSON_TYPE }).end(fault.raw);
      return;
    }
    try {
      if (fault) throw new SsmFailure(fault.type, fault.status ?? 400, fault.message ?? fault.type);
      if (req.method !== "POST" || (req.url ?? "/") !== "/") throw new SsmFailure("UnknownOperationException", 400, "");
      verifySignature(req, body, credentials, Date.now());
      if (!String(req.headers["content-type"] ?? "").startsWith(JSON_TYPE)) throw new SsmFailure("UnknownOperationException", 400, "");
      if (target !== "AmazonSSM.GetParameters") throw new SsmFailure("UnknownOperationException", 400, "");
      if (!body.length || Object.keys(input).length === 0) throw new SsmFailure("SerializationException", 400, "");
      const result = getParameters(input);
      record("200");
      res.writeHead(200, { "content-type": JSON_TYPE, "x-amzn-requestid": randomUUID() }).end(JSON.stringify(result));
    } catch (error) {
      const failure = error instanceof SsmFailure ? error : new SsmFailure("InternalServerError", 500, String(error));
      record(failure.type);
      answerError(res, failure);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

  const stand: SsmStandIn = {
    endpoint,
    credentials,
    env: {
      AWS_ENDPOINT_URL_SSM: endpoint,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      ...(credentials.sessionToken !== undefined ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
      AWS_REGION: "us-east-1",
    },
    requests: [],
    faults: [],
    delayMs: options.delayMs ?? 0,
    allow: options.allow ?? (() => true),
    put(name, value, type = "String") {
      const previous = store.get(name);
      store.set(name, { value, type, version: (previous?.version ?? 0) + 1, modified: Date.now() });
    },
    delete(name) {
      store.delete(name);
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return stand;
}
