/**
 * `pnpm usage`: who spent what on the LLM gateway, per UTC day and person, from its usage records in the host log group
 * (CloudWatch Logs). The records carry no prompt or completion, so neither does this report.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { isUserSlug } from "@openhands-team/contracts";
import type { CliIo } from "../users/cli";
import { AwsFailure, EXIT, UsageError } from "../users/errors";
import { filterLogEvents, type AwsCredentials } from "./cloudwatch-logs";
import { summarise, usageRecord, usageTable, type UsageRecord } from "./report";

const PACKAGE_ROOT = (() => {
  let dir = __dirname;
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();
/** Where `pnpm synth` writes the compute stack; its `log_groups` output names the host log group. */
export const DEFAULT_COMPUTE_STACK_DIR = resolve(PACKAGE_ROOT, "../infra/cdktf.out/stacks/compute");
const DAY_MS = 86_400_000;
const iso = (ms: number): string => new Date(ms).toISOString();
const MAX_DAYS = 400;

const HELP = `Usage: pnpm usage [--since <when>] [--until <day>] [--user <slug>] [--json] [where options]

The LLM gateway's usage per UTC day and person: calls, input and output tokens and the estimated cost (LiteLLM's
price table), with a total per person. Read from the gateway's llm_usage records in the host log group; they hold
no prompt or completion.
  --since <when>   a day (2026-11-01, UTC) or a span back from now (7d, 36h); default 7d
  --until <day>    the last day included (UTC); default now
  --user <slug>    one person only: their user key (\`pnpm users list --json\` shows each person's slug)
  --json           the rows as JSON instead of a table

Where (the first one given wins):
  --log-group <name>   the host log group, like /openhands/prod/host
  --outputs <file>     JSON with the compute stack's log_groups output (\`terraform output -json\` in
                       apps/infra/cdktf.out/stacks/compute, or cdktf's --outputs-file)
  --stack-dir <dir>    run \`terraform output -json\` there (default: apps/infra/cdktf.out/stacks/compute)
  --region <region>    the deployment's main region (default: AWS_REGION or AWS_DEFAULT_REGION)
  --endpoint <url>     a CloudWatch Logs-compatible endpoint instead of AWS's
Credentials: the AWS SDK's usual chain (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, ...); the caller
needs logs:FilterLogEvents on the host log group.

Exit codes: 0 done; 2 bad arguments or unknown log group; 1 AWS failed (credentials, permissions, throttling, network).
`;

export interface UsageDependencies {
  readonly credentials?: (region: string) => Promise<AwsCredentials>;
  readonly now?: () => Date;
}

/** `--since`: a UTC day or a span back from now. */
export function parseSince(value: string, now: Date): number {
  const span = /^([1-9][0-9]{0,4})([dh])$/.exec(value);
  if (span) return now.getTime() - Number(span[1]) * (span[2] === "d" ? DAY_MS : 3_600_000);
  return parseDay(value, "--since");
}

function parseDay(value: string, option: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const at = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : Number.NaN;
  if (!match || Number.isNaN(at) || new Date(at).toISOString().slice(0, 10) !== value) {
    throw new UsageError(
      `${option} ${JSON.stringify(value)} is not a day like 2026-11-01${option === "--since" ? " or a span like 7d or 36h" : ""}`,
    );
  }
  return at;
}

const LOG_GROUP = /^[A-Za-z0-9_./#-]{1,512}$/;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d+$/;

/** The host log group in the shapes operators have: `terraform output -json`, cdktf's outputs file, or flat. */
export function hostLogGroupFromOutputs(outputs: unknown, where: string): string {
  const record = (v: unknown): Record<string, unknown> | undefined =>
    v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  const root = record(outputs);
  for (const candidate of [root?.log_groups, record(root?.compute)?.log_groups]) {
    const groups = record(record(candidate)?.value) ?? record(candidate);
    if (typeof groups?.host === "string" && groups.host !== "") return groups.host;
  }
  throw new UsageError(
    `no log_groups output with a host group in ${where}: deploy the compute stack first, or pass --log-group /<name>/<environment>/host`,
  );
}

function terraformOutputs(dir: string): Promise<unknown> {
  if (!existsSync(dir)) {
    return Promise.reject(
      new UsageError(`no compute stack in ${dir}: pass --log-group <name> or --outputs <file>, or run \`pnpm synth\` and deploy first`),
    );
  }
  return new Promise((resolvePromise, reject) => {
    execFile("terraform", ["output", "-json"], { cwd: dir, timeout: 120_000, maxBuffer: 4 << 20 }, (error, stdout) => {
      if (error) {
        const why = (error as NodeJS.ErrnoException).code === "ENOENT" ? "terraform is not installed" : error.message.split("\n")[0];
        reject(new UsageError(`terraform output -json in ${dir} failed (${why}): pass --log-group <name> instead`));
        return;
      }
      try {
        resolvePromise(JSON.parse(stdout));
      } catch {
        reject(new UsageError(`terraform output -json in ${dir} did not print JSON: pass --log-group <name> instead`));
      }
    });
  });
}

async function logGroupOf(values: Record<string, string | boolean | undefined>, baseDir: string): Promise<string> {
  let group: string;
  if (typeof values["log-group"] === "string") group = values["log-group"];
  else if (typeof values.outputs === "string") {
    const file = resolve(baseDir, values.outputs);
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, "utf8"));
    } catch (error) {
      throw new UsageError(`--outputs ${file}: cannot read it as JSON (${(error as Error).message})`);
    }
    group = hostLogGroupFromOutputs(parsed, file);
  } else {
    const dir = typeof values["stack-dir"] === "string" ? resolve(baseDir, values["stack-dir"]) : DEFAULT_COMPUTE_STACK_DIR;
    group = hostLogGroupFromOutputs(await terraformOutputs(dir), `terraform output -json in ${dir}`);
  }
  if (!LOG_GROUP.test(group))
    throw new UsageError(`${JSON.stringify(group)} is not a CloudWatch log group name (like /openhands/prod/host)`);
  return group;
}

/** Runs `pnpm usage ...`; answers the exit code. */
export async function runUsageCli(argv: readonly string[], io: CliIo, deps: UsageDependencies = {}): Promise<number> {
  const args = argv[0] === "--" ? argv.slice(1) : [...argv];
  try {
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({
        args,
        allowPositionals: false,
        strict: true,
        options: {
          since: { type: "string" },
          until: { type: "string" },
          user: { type: "string" },
          json: { type: "boolean" },
          "log-group": { type: "string" },
          outputs: { type: "string" },
          "stack-dir": { type: "string" },
          region: { type: "string" },
          endpoint: { type: "string" },
          help: { type: "boolean", short: "h" },
        },
      });
    } catch (error) {
      throw new UsageError(`${(error as Error).message} (see \`pnpm usage --help\`)`);
    }
    const values = parsed.values as Record<string, string | boolean | undefined>;
    if (values.help) {
      io.stdout(HELP);
      return EXIT.ok;
    }
    const now = deps.now?.() ?? new Date();
    const since = parseSince(typeof values.since === "string" ? values.since : "7d", now);
    const until = typeof values.until === "string" ? parseDay(values.until, "--until") + DAY_MS : now.getTime();
    if (since >= until)
      throw new UsageError(
        `--since is not before --until: nothing to report (${new Date(since).toISOString()} .. ${new Date(until).toISOString()})`,
      );
    if (until - since > MAX_DAYS * DAY_MS)
      throw new UsageError(`the period is longer than ${MAX_DAYS} days: ask for a shorter one with --since and --until`);
    const user = values.user;
    // Filter-pattern injection: only a well-formed slug goes into the pattern.
    if (user !== undefined && (typeof user !== "string" || !isUserSlug(user))) {
      throw new UsageError(
        `--user ${JSON.stringify(user)} is not a user key (16 characters of a-z and 2-7; ` +
          "`pnpm users list --json` shows each person's slug)",
      );
    }
    const region = (typeof values.region === "string" ? values.region : undefined) ?? io.env.AWS_REGION ?? io.env.AWS_DEFAULT_REGION;
    if (!region) throw new UsageError("no region: pass --region <the deployment's main region> (or set AWS_REGION)");
    if (!REGION.test(region)) throw new UsageError(`--region ${JSON.stringify(region)} is not an AWS region (like eu-central-1)`);
    const endpoint = typeof values.endpoint === "string" ? values.endpoint : undefined;
    if (endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(endpoint))
      throw new UsageError(`--endpoint ${JSON.stringify(endpoint)} is not an http(s) URL`);
    const logGroupName = await logGroupOf(values, io.env.INIT_CWD || io.cwd);

    const records: UsageRecord[] = [];
    const events = filterLogEvents(
      {
        logGroupName,
        startTime: since,
        endTime: until - 1,
        filterPattern: user ? `{ $.event = "llm_usage" && $.user = "${user}" }` : '{ $.event = "llm_usage" }',
      },
      {
        region,
        ...(endpoint ? { endpoint } : {}),
        ...(deps.credentials ? { credentials: () => deps.credentials!(region) } : {}),
      },
    );
    for await (const event of events) {
      const record = usageRecord(event);
      if (record && (!user || record.user === user)) records.push(record);
    }
    const rows = summarise(records);
    if (values.json) {
      const json = rows.map((r) => ({
        day: r.day,
        user: r.user,
        calls: r.calls,
        inputTokens: r.inputTokens,
        outputTokens: r.outputTokens,
        costUsd: r.costUsd,
        models: [...r.models].sort(),
      }));
      io.stdout(`${JSON.stringify({ logGroupName, since: iso(since), until: iso(until), rows: json }, null, 2)}\n`);
    } else if (rows.length === 0) {
      io.stdout(`no model calls${user ? ` by ${user}` : ""} in ${logGroupName} between ${iso(since)} and ${iso(until)}\n`);
    } else {
      io.stdout(usageTable(rows));
    }
    return EXIT.ok;
  } catch (error) {
    if (error instanceof UsageError || error instanceof AwsFailure) {
      io.stderr(`pnpm usage: ${error.message}\n`);
      return error.exitCode;
    }
    io.stderr(`pnpm usage: unexpected failure: ${(error as Error)?.message ?? String(error)}\n`);
    return EXIT.awsFailure;
  }
}
