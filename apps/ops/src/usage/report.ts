/**
 * The LLM gateway's usage records (docs/CONTRACTS.md, "LLM gateway keys": one `llm_usage` JSON line per model call
 * with user, model, input_tokens, output_tokens, cost_usd) summed per UTC day and person.
 */
import type { LogEvent } from "./cloudwatch-logs";

export interface UsageRecord {
  readonly day: string;
  readonly user: string;
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly costUsd: number;
}

export interface UsageRow {
  readonly day: string;
  readonly user: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  readonly models: Set<string>;
}

const count = (value: unknown): number => (typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : 0);

/** The record of one log event, or undefined when it is not a well-formed llm_usage line (other lines share the group). */
export function usageRecord(event: LogEvent): UsageRecord | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(event.message);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== "object") return undefined;
  const r = parsed as Record<string, unknown>;
  if (r.event !== "llm_usage" || typeof r.user !== "string" || r.user === "") return undefined;
  return {
    day: new Date(event.timestamp).toISOString().slice(0, 10),
    user: r.user,
    model: typeof r.model === "string" ? r.model : "unknown",
    inputTokens: count(r.input_tokens),
    outputTokens: count(r.output_tokens),
    costUsd: count(r.cost_usd),
  };
}

/** One row per day and person, days in order, the bigger spender first within a day. */
export function summarise(records: Iterable<UsageRecord>): UsageRow[] {
  const rows = new Map<string, UsageRow>();
  for (const r of records) {
    const key = `${r.day}\n${r.user}`;
    const row = rows.get(key) ?? {
      day: r.day,
      user: r.user,
      calls: 0,
      inputTokens: 0,
      outputTokens: 0,
      costUsd: 0,
      models: new Set<string>(),
    };
    row.calls += 1;
    row.inputTokens += r.inputTokens;
    row.outputTokens += r.outputTokens;
    row.costUsd += r.costUsd;
    row.models.add(r.model);
    rows.set(key, row);
  }
  return [...rows.values()].sort((a, b) =>
    a.day === b.day ? b.costUsd - a.costUsd || a.user.localeCompare(b.user) : a.day < b.day ? -1 : 1,
  );
}

const money = (usd: number): string => `$${usd.toFixed(usd < 1 && usd > 0 ? 4 : 2)}`;
const grouped = (n: number): string => n.toLocaleString("en-US");

/** The per-day table, with a total per person and for everyone below it. */
export function usageTable(rows: readonly UsageRow[]): string {
  const header = ["DAY (UTC)", "USER", "CALLS", "INPUT TOKENS", "OUTPUT TOKENS", "COST (USD, est.)", "MODELS"];
  const line = (r: Pick<UsageRow, "calls" | "inputTokens" | "outputTokens" | "costUsd">, day: string, user: string, models: string) => [
    day,
    user,
    grouped(r.calls),
    grouped(r.inputTokens),
    grouped(r.outputTokens),
    money(r.costUsd),
    models,
  ];
  const body = rows.map((r) => line(r, r.day, r.user, [...r.models].sort().join(",")));
  const perUser = new Map<string, { calls: number; inputTokens: number; outputTokens: number; costUsd: number }>();
  for (const r of rows) {
    const t = perUser.get(r.user) ?? { calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 };
    t.calls += r.calls;
    t.inputTokens += r.inputTokens;
    t.outputTokens += r.outputTokens;
    t.costUsd += r.costUsd;
    perUser.set(r.user, t);
  }
  const totals = [...perUser.entries()].sort(([, a], [, b]) => b.costUsd - a.costUsd).map(([user, t]) => line(t, "total", user, ""));
  const all = [...perUser.values()].reduce(
    (sum, t) => ({
      calls: sum.calls + t.calls,
      inputTokens: sum.inputTokens + t.inputTokens,
      outputTokens: sum.outputTokens + t.outputTokens,
      costUsd: sum.costUsd + t.costUsd,
    }),
    { calls: 0, inputTokens: 0, outputTokens: 0, costUsd: 0 },
  );
  const table = [header, ...body, ...totals, line(all, "total", "everyone", "")];
  const widths = header.map((_, column) => Math.max(...table.map((row) => (row[column] ?? "").length)));
  const numeric = new Set([2, 3, 4, 5]);
  return table
    .map((row) =>
      row
        .map((cell, column) =>
          column === row.length - 1 ? cell : numeric.has(column) ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
        )
        .join("  ")
        .trimEnd(),
    )
    .map((text) => `${text}\n`)
    .join("");
}
