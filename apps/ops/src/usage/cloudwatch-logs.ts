/**
 * Reads the LLM gateway's usage records from CloudWatch Logs (FilterLogEvents, the JSON 1.1 protocol of the Logs API).
 * Credentials come from the AWS SDK's default chain (the one `pnpm users` uses: AWS_PROFILE, SSO, environment keys,
 * ...); the request is signed with Signature Version 4 here, because this package carries the SDK's Cognito client and
 * not its CloudWatch Logs client (test/usage-cli.test.ts holds the signature to the SDK's own signer).
 */
import { createHash, createHmac } from "node:crypto";
import { CognitoIdentityProviderClient } from "@aws-sdk/client-cognito-identity-provider";
import { AwsFailure, UsageError } from "../users/errors";

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface SignableRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const sha256 = (data: string): string => createHash("sha256").update(data, "utf8").digest("hex");
const hmac = (key: Buffer | string, data: string): Buffer => createHmac("sha256", key).update(data, "utf8").digest();

/** RFC 3986 encoding as SigV4 wants it (every character but unreserved ones). */
function encode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Adds `x-amz-date`, `x-amz-content-sha256`, the session token and `authorization` (AWS4-HMAC-SHA256) to the headers.
 * `now` is the signing time.
 */
export function signRequest(
  request: SignableRequest,
  credentials: AwsCredentials,
  region: string,
  service: string,
  now: Date,
): Record<string, string> {
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {
    ...request.headers,
    host: request.url.host,
    "x-amz-date": amzDate,
    "x-amz-content-sha256": sha256(request.body),
    ...(credentials.sessionToken ? { "x-amz-security-token": credentials.sessionToken } : {}),
  };
  const names = Object.keys(headers)
    .map((name) => name.toLowerCase())
    .sort();
  const lower = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
  const canonicalHeaders = names.map((name) => `${name}:${String(lower[name]).trim().replace(/\s+/g, " ")}\n`).join("");
  const signedHeaders = names.join(";");
  const query = [...request.url.searchParams.entries()]
    .map(([k, v]) => [encode(k), encode(v)] as const)
    .sort(([a, x], [b, y]) => (a === b ? (x < y ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const path =
    request.url.pathname
      .split("/")
      .map((segment) => encode(decodeURIComponent(segment)))
      .join("/") || "/";
  const canonicalRequest = [request.method, path, query, canonicalHeaders, signedHeaders, sha256(request.body)].join("\n");
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256(canonicalRequest)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${credentials.secretAccessKey}`, day), region), service), "aws4_request");
  const signature = createHmac("sha256", key).update(stringToSign, "utf8").digest("hex");
  return {
    ...headers,
    authorization:
      `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, ` + `Signature=${signature}`,
  };
}

/** The SDK's default credential chain, as `pnpm users` resolves it. */
export async function defaultCredentials(region: string): Promise<AwsCredentials> {
  const client = new CognitoIdentityProviderClient({ region });
  try {
    const resolved = await client.config.credentials();
    return {
      accessKeyId: resolved.accessKeyId,
      secretAccessKey: resolved.secretAccessKey,
      ...(resolved.sessionToken ? { sessionToken: resolved.sessionToken } : {}),
    };
  } catch (error) {
    throw new AwsFailure(
      `no AWS credentials found (${(error as Error).message.split("\n")[0]}): set AWS_PROFILE (after \`aws sso login\`) or ` +
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; the caller needs logs:FilterLogEvents on the host log group",
    );
  } finally {
    client.destroy();
  }
}

export interface FilterQuery {
  readonly logGroupName: string;
  readonly startTime: number;
  readonly endTime: number;
  readonly filterPattern: string;
}

export interface LogEvent {
  readonly timestamp: number;
  readonly message: string;
}

export interface LogsReaderOptions {
  readonly region: string;
  /** A CloudWatch Logs-compatible endpoint instead of AWS's (tests). */
  readonly endpoint?: string;
  readonly credentials: () => Promise<AwsCredentials>;
  /** At most this many pages (FilterLogEvents answers up to 10,000 events or 1 MB a page). @default 500 */
  readonly maxPages?: number;
  readonly now?: () => Date;
}

/** Every event of the query, page after page (FilterLogEvents' nextToken). */
export async function* filterLogEvents(query: FilterQuery, options: LogsReaderOptions): AsyncGenerator<LogEvent> {
  const url = new URL(options.endpoint ?? `https://logs.${options.region}.amazonaws.com/`);
  const credentials = await options.credentials();
  const maxPages = options.maxPages ?? 500;
  let nextToken: string | undefined;
  for (let page = 0; page < maxPages; page += 1) {
    const body = JSON.stringify({ ...query, ...(nextToken ? { nextToken } : {}) });
    const headers = signRequest(
      {
        method: "POST",
        url,
        headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "Logs_20140328.FilterLogEvents" },
        body,
      },
      credentials,
      options.region,
      "logs",
      options.now?.() ?? new Date(),
    );
    let reply: Response;
    try {
      reply = await fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(30_000) });
    } catch (error) {
      throw new AwsFailure(
        `could not reach CloudWatch Logs at ${url.origin} (${(error as Error).message}): check the network, --region or --endpoint`,
      );
    }
    const text = await reply.text();
    let answer: { events?: Array<{ timestamp?: number; message?: string }>; nextToken?: string; __type?: string; message?: string };
    try {
      answer = JSON.parse(text);
    } catch {
      throw new AwsFailure(`CloudWatch Logs answered ${reply.status} with a body that is not JSON`);
    }
    if (!reply.ok) throw explainLogsError(reply.status, answer, query.logGroupName, options.region);
    for (const event of answer.events ?? []) {
      if (typeof event.timestamp === "number" && typeof event.message === "string")
        yield { timestamp: event.timestamp, message: event.message };
    }
    nextToken = answer.nextToken;
    if (!nextToken) return;
  }
  throw new UsageError(`more than ${maxPages} pages of usage records: ask for a shorter period (--since, --until) or one person (--user)`);
}

function explainLogsError(
  status: number,
  answer: { __type?: string; message?: string; Message?: string },
  group: string,
  region: string,
): Error {
  const type = (answer.__type ?? "").split("#").pop() ?? "";
  const message = answer.message ?? (answer as { Message?: string }).Message ?? "";
  switch (type) {
    case "ResourceNotFoundException":
      return new UsageError(
        `log group ${group} not found in ${region}: check --log-group and --region (the compute stack's log_groups output names it)`,
      );
    case "InvalidParameterException":
      return new UsageError(`CloudWatch Logs refused the query: ${message}`);
    case "AccessDeniedException":
    case "UnrecognizedClientException":
    case "InvalidSignatureException":
    case "ExpiredTokenException":
      return new AwsFailure(`AWS refused FilterLogEvents (${type}): ${message}. The credentials need logs:FilterLogEvents on ${group}`);
    case "ThrottlingException":
      return new AwsFailure("CloudWatch Logs is throttling FilterLogEvents: try again in a minute, or ask for a shorter period");
    default:
      return new AwsFailure(`FilterLogEvents failed with ${status}${type ? ` ${type}` : ""}${message ? `: ${message}` : ""}`);
  }
}
