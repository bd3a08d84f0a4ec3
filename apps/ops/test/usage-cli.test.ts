/**
 * `pnpm usage` against a stand-in of CloudWatch Logs' FilterLogEvents on loopback (no AWS account is reachable here).
 * The stand-in speaks the JSON 1.1 protocol of the Logs API, checks each request's Signature Version 4 with the AWS
 * SDK's own signer (@smithy/signature-v4, which the SDK's Cognito client uses), evaluates the subset of the filter
 * pattern syntax the command sends (`{ $.a = "x" && $.b = "y" }`) and answers in pages of two events.
 */
import { createHash, createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname } from "node:path";
import { runUsageCli } from "../src/usage/cli";

const sdkDir = dirname(require.resolve("@aws-sdk/client-cognito-identity-provider"));
/** The parts of the SDK's signer this test calls (@smithy/signature-v4 is a dependency of the SDK, not of this package). */
interface SdkSigner {
  sign(
    request: {
      method: string;
      protocol: string;
      hostname: string;
      port?: number;
      path: string;
      query: Record<string, string>;
      headers: Record<string, string>;
      body: string;
    },
    options: { signingDate: Date },
  ): Promise<{ headers: Record<string, string> }>;
}
const { SignatureV4 } = require(require.resolve("@smithy/signature-v4", { paths: [sdkDir] })) as {
  SignatureV4: new (options: {
    credentials: object;
    region: string;
    service: string;
    sha256: unknown;
    applyChecksum?: boolean;
  }) => SdkSigner;
};
/** The SDK's Sha256 constructor shape (as @smithy/hash-node implements it with node:crypto): an HMAC when given a secret. */
class Hash {
  private readonly hash;
  constructor(secret?: string | Uint8Array) {
    this.hash = secret === undefined ? createHash("sha256") : createHmac("sha256", Buffer.from(secret));
  }
  update(data: string | Uint8Array): void {
    this.hash.update(Buffer.from(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

const CREDENTIALS = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  sessionToken: "session-token-example",
};
const GROUP = "/openhands/prod/host";
const ADA = "45k4wvxolruzmox6";
const GRACE = "g6fitd2jhoj4bn3m";
const NOW = new Date("2026-12-02T12:00:00Z");
const at = (iso: string) => Date.parse(iso);
const usage = (user: string, input: number, output: number, cost: number, model = "eu.anthropic.claude-sonnet-4-5-20250929-v1:0") =>
  JSON.stringify({
    event: "llm_usage",
    status: "success",
    user,
    model,
    input_tokens: input,
    output_tokens: output,
    cost_usd: cost,
    call_type: "acompletion",
  });

const EVENTS = [
  { timestamp: at("2026-11-30T09:00:00Z"), message: usage(ADA, 1000, 200, 0.006) },
  { timestamp: at("2026-11-30T09:05:00Z"), message: 'INFO:     10.240.1.130:51234 - "POST /v1/chat/completions HTTP/1.1" 200 OK' },
  { timestamp: at("2026-11-30T10:00:00Z"), message: usage(GRACE, 5000, 1000, 0.03) },
  { timestamp: at("2026-12-01T08:00:00Z"), message: usage(ADA, 2000, 400, 0.012) },
  { timestamp: at("2026-12-01T08:30:00Z"), message: usage(ADA, 3000, 600, 0.018, "eu.anthropic.claude-haiku-4-5-20251001-v1:0") },
  { timestamp: at("2026-12-01T09:00:00Z"), message: JSON.stringify({ event: "llm_limit", user: ADA, limit: "requests_per_minute" }) },
  { timestamp: at("2026-11-01T09:00:00Z"), message: usage(GRACE, 9, 9, 9) },
];

interface Seen {
  readonly body: Record<string, unknown>;
  readonly signatureOk: boolean;
}

let server: Server;
let endpoint: string;
const seen: Seen[] = [];
let answerWith: { status: number; body: unknown } | undefined;

/** `{ $.a = "x" && $.b = "y" }` against a JSON message; anything else in the pattern is refused as the service would. */
function matches(pattern: string, message: string): boolean {
  const inner = /^\{\s*(.*?)\s*\}$/.exec(pattern)?.[1];
  if (inner === undefined) throw new Error(`unsupported pattern ${pattern}`);
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(message);
  } catch {
    return false;
  }
  return inner.split("&&").every((condition) => {
    const c = /^\s*\$\.([a-z_]+)\s*=\s*"([^"]*)"\s*$/.exec(condition);
    if (!c) throw new Error(`unsupported condition ${condition}`);
    return parsed[c[1]!] === c[2];
  });
}

async function expectedAuthorization(headers: Record<string, string>, body: string, url: URL): Promise<string> {
  const signer = new SignatureV4({ credentials: CREDENTIALS, region: "eu-central-1", service: "logs", sha256: Hash, applyChecksum: true });
  const date = headers["x-amz-date"]!;
  const signingDate = new Date(
    `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
  );
  // as the service does: only the headers the request says it signed (fetch adds others, such as accept and user-agent)
  const names = (/SignedHeaders=([^,]+)/.exec(headers.authorization ?? "")?.[1] ?? "").split(";");
  const unsigned = Object.fromEntries(names.map((name) => [name, headers[name] ?? ""]));
  const signed = await signer.sign(
    {
      method: "POST",
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      headers: unsigned,
      body,
      query: {},
    },
    { signingDate },
  );
  return signed.headers.authorization ?? "";
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      void (async () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
        const signatureOk = headers.authorization === (await expectedAuthorization(headers, text, new URL(endpoint)));
        const body = JSON.parse(text) as Record<string, unknown>;
        seen.push({ body, signatureOk });
        const reply = (status: number, payload: unknown) => {
          res.writeHead(status, { "content-type": "application/x-amz-json-1.1" });
          res.end(JSON.stringify(payload));
        };
        if (req.headers["x-amz-target"] !== "Logs_20140328.FilterLogEvents") return reply(400, { __type: "UnknownOperationException" });
        if (!signatureOk)
          return reply(403, { __type: "InvalidSignatureException", message: "The request signature we calculated does not match" });
        if (answerWith) return reply(answerWith.status, answerWith.body);
        if (body.logGroupName !== GROUP)
          return reply(400, { __type: "ResourceNotFoundException", message: "The specified log group does not exist." });
        const found = EVENTS.filter(
          (e) =>
            e.timestamp >= (body.startTime as number) &&
            e.timestamp <= (body.endTime as number) &&
            matches(body.filterPattern as string, e.message),
        ).sort((a, b) => a.timestamp - b.timestamp);
        const offset = Number(body.nextToken ?? 0);
        const page = found.slice(offset, offset + 2);
        reply(200, {
          events: page.map((e, i) => ({ ...e, logStreamName: "openhands-team-llm-gateway-1", eventId: String(offset + i) })),
          ...(offset + 2 < found.length ? { nextToken: String(offset + 2) } : {}),
        });
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});
beforeEach(() => {
  seen.length = 0;
  answerWith = undefined;
});

async function usageCli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await runUsageCli(
    argv,
    { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {}, cwd: __dirname },
    { credentials: async () => CREDENTIALS, now: () => NOW },
  );
  return { code, stdout, stderr };
}
const where = ["--log-group", GROUP, "--region", "eu-central-1"];

describe("GIVEN the LLM gateway's records in the host log group", () => {
  it("WHEN an operator asks for the last 7 days THEN a row per day and person, totals per person and for all, every page", async () => {
    const run = await usageCli(...where, "--endpoint", endpoint);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^DAY \(UTC\)\s+USER\s+CALLS\s+INPUT TOKENS\s+OUTPUT TOKENS\s+COST \(USD, est\.\)\s+MODELS$/);
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/).slice(0, 6))).toEqual([
      ["2026-11-30", GRACE, "1", "5,000", "1,000", "$0.0300"],
      ["2026-11-30", ADA, "1", "1,000", "200", "$0.0060"],
      ["2026-12-01", ADA, "2", "5,000", "1,000", "$0.0300"],
      ["total", ADA, "3", "6,000", "1,200", "$0.0360"],
      ["total", GRACE, "1", "5,000", "1,000", "$0.0300"],
      ["total", "everyone", "4", "11,000", "2,200", "$0.0660"],
    ]);
    expect(lines[3]).toContain("eu.anthropic.claude-haiku-4-5-20251001-v1:0,eu.anthropic.claude-sonnet-4-5-20250929-v1:0");
    // four records in pages of two: two requests, each signed as the SDK signs, for the last 7 days
    expect(seen.map((s) => s.signatureOk)).toEqual([true, true]);
    expect(seen[0]!.body).toEqual({
      logGroupName: GROUP,
      startTime: NOW.getTime() - 7 * 86_400_000,
      endTime: NOW.getTime() - 1,
      filterPattern: '{ $.event = "llm_usage" }',
    });
  });

  it("WHEN --user, --since and --until are given THEN only that person's calls of those days, in JSON with --json", async () => {
    const run = await usageCli(...where, "--endpoint", endpoint, "--user", ADA, "--since", "2026-12-01", "--until", "2026-12-01", "--json");
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.rows).toEqual([
      {
        day: "2026-12-01",
        user: ADA,
        calls: 2,
        inputTokens: 5000,
        outputTokens: 1000,
        costUsd: 0.03,
        models: expect.arrayContaining([expect.stringContaining("haiku")]),
      },
    ]);
    expect(seen[0]!.body).toMatchObject({
      startTime: Date.parse("2026-12-01T00:00:00Z"),
      endTime: Date.parse("2026-12-02T00:00:00Z") - 1,
      filterPattern: `{ $.event = "llm_usage" && $.user = "${ADA}" }`,
    });
  });

  it("WHEN the period has no calls THEN it says so", async () => {
    const run = await usageCli(...where, "--endpoint", endpoint, "--since", "2025-01-01", "--until", "2025-01-31");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^no model calls in \/openhands\/prod\/host between 2025-01-01T00:00:00.000Z and 2025-02-01T00:00:00.000Z/);
  });

  it("WHEN the log group is named in the compute stack's outputs THEN that group is read", async () => {
    const { writeFileSync, mkdtempSync } = await import("node:fs");
    const file = `${mkdtempSync("/tmp/oh-usage-")}/outputs.json`;
    writeFileSync(file, JSON.stringify({ log_groups: { value: { host: GROUP, proxy: "/openhands/prod/proxy" } } }));
    const run = await usageCli("--outputs", file, "--region", "eu-central-1", "--endpoint", endpoint);
    expect(run.code).toBe(0);
    expect(seen[0]!.body.logGroupName).toBe(GROUP);
  });
});

describe("GIVEN bad input or a failing AWS", () => {
  // Filter-pattern injection: a --user that is not a slug never reaches the pattern.
  it.each([
    ["a user that would widen the pattern", ["--user", `${ADA}" || $.event = "llm_usage`], /--user .* is not a user key/],
    ["a bad day", ["--since", "2026-02-30"], /--since "2026-02-30" is not a day like 2026-11-01 or a span/],
    ["since after until", ["--since", "2026-12-01", "--until", "2026-11-01"], /--since is not before --until/],
    ["a period over 400 days", ["--since", "2024-01-01", "--until", "2026-01-01"], /longer than 400 days/],
    ["an unknown option", ["--color"], /Unknown option '--color'/],
    ["a bad region", ["--region", "Frankfurt"], /--region "Frankfurt" is not an AWS region/],
  ])("WHEN %s THEN exit 2 with a message naming it, and nothing is sent", async (_name, extra, message) => {
    const run = await usageCli("--log-group", GROUP, "--region", "eu-central-1", "--endpoint", endpoint, ...extra);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(seen).toEqual([]);
  });

  it("WHEN no region is known THEN exit 2 naming --region", async () => {
    const run = await usageCli("--log-group", GROUP, "--endpoint", endpoint);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--region");
  });

  it("WHEN the log group does not exist THEN exit 2 naming it and where its name comes from", async () => {
    const run = await usageCli("--log-group", "/openhands/nope/host", "--region", "eu-central-1", "--endpoint", endpoint);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("log group /openhands/nope/host not found in eu-central-1");
  });

  it.each([
    ["AccessDeniedException", 400, /AWS refused FilterLogEvents \(AccessDeniedException\).*logs:FilterLogEvents/],
    ["ThrottlingException", 400, /throttling/],
    ["ServiceUnavailableException", 503, /FilterLogEvents failed with 503 ServiceUnavailableException/],
  ])("WHEN CloudWatch Logs answers %s THEN exit 1 with what to do", async (type, status, message) => {
    answerWith = { status, body: { __type: `com.amazonaws.logs#${type}`, message: "denied" } };
    const run = await usageCli(...where, "--endpoint", endpoint);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
  });

  it("WHEN nothing answers at the endpoint THEN exit 1, not a crash", async () => {
    const run = await usageCli(...where, "--endpoint", "http://127.0.0.1:1/");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("could not reach CloudWatch Logs");
  });
});
