/**
 * Where each user's start is, for the starting page (docs/CONTRACTS.md, `GET /v1/users/<slug>/start`): the stage it
 * is in, since when, the id of the request that began it (an admin finds every log line of the start by it), how
 * it failed, and how long recent starts took. Memory only: after a spawner restart the page shows the stages of
 * the next start, and the typical duration comes back with the first starts.
 */
import { randomBytes } from "node:crypto";

/** The steps of a start, in order (Spawner.startUser). */
export const START_STAGES = [
  "waiting",
  "database",
  "folders",
  "network",
  "docker-api",
  "relay",
  "container",
  "health",
  "settings",
] as const;
export type StartStage = (typeof START_STAGES)[number];

/** Durations of this many recent successful starts make the typical duration. */
const RECENT_STARTS = 20;
/** At most this many users' start records are kept (a flood of slugs cannot grow the map without end). */
const MAX_RECORDS = 10_000;
/** A request id the proxy passes on (nginx's $request_id is 32 hex digits); anything else is replaced. */
const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface StartReport {
  /** idle: no start known; starting; running: the app answers; failed: the last start failed. */
  state: "idle" | "starting" | "running" | "failed";
  /** The stage a start is in, or the one it failed in. */
  stage: StartStage | null;
  stages: readonly StartStage[];
  /** When the start began, unix milliseconds. */
  startedAt: number | null;
  elapsedMs: number | null;
  /** Median duration of the recent successful starts on this host; null before the first. */
  typicalMs: number | null;
  recentStarts: number;
  /** The id of the request that began the start; the spawner's log lines of that start carry it. */
  requestId: string | null;
  /** Only when failed: what failed, for the logs and an admin (the page shows words of its own and the request id). */
  failure: { stage: StartStage; message: string } | null;
}

interface StartRecord {
  state: "starting" | "failed";
  stage: StartStage;
  startedAt: number;
  endedAt?: number;
  requestId: string;
  message?: string;
}

/** The request id to log and report: the caller's when it is well formed, a fresh one otherwise. */
export function startRequestId(candidate: unknown): string {
  return typeof candidate === "string" && REQUEST_ID.test(candidate) ? candidate : randomBytes(16).toString("hex");
}

export class StartProgress {
  private readonly records = new Map<string, StartRecord>();
  private readonly durations: number[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** A start of `slug` begins (it may still wait for a cull of the same user to finish). */
  begin(slug: string, requestId: string): void {
    this.records.delete(slug);
    if (this.records.size >= MAX_RECORDS) {
      const oldest = this.records.keys().next().value;
      if (oldest !== undefined) this.records.delete(oldest);
    }
    this.records.set(slug, { state: "starting", stage: "waiting", startedAt: this.now(), requestId });
  }

  enter(slug: string, stage: StartStage): void {
    const record = this.records.get(slug);
    if (record?.state === "starting") record.stage = stage;
  }

  /** The request id of the start in progress (or the last failed one). */
  requestId(slug: string): string | undefined {
    return this.records.get(slug)?.requestId;
  }

  /** The start ended with the app healthy; `fresh` when a container was started (its duration counts). */
  succeed(slug: string, fresh: boolean): void {
    const record = this.records.get(slug);
    if (!record) return;
    this.records.delete(slug);
    if (!fresh) return;
    this.durations.push(this.now() - record.startedAt);
    if (this.durations.length > RECENT_STARTS) this.durations.shift();
  }

  fail(slug: string, message: string): void {
    const record = this.records.get(slug);
    if (!record) return;
    record.state = "failed";
    record.message = message;
    record.endedAt = this.now();
  }

  /** The start did not happen after all (refused for capacity): nothing to report. */
  drop(slug: string): void {
    this.records.delete(slug);
  }

  typicalMs(): number | null {
    if (this.durations.length === 0) return null;
    const sorted = [...this.durations].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle]! : Math.round((sorted[middle - 1]! + sorted[middle]!) / 2);
  }

  /** @param running the user's app runs and has been seen healthy */
  report(slug: string, running: boolean): StartReport {
    const base = { stages: START_STAGES, typicalMs: this.typicalMs(), recentStarts: this.durations.length };
    const record = this.records.get(slug);
    if (running && record?.state !== "starting") {
      return { ...base, state: "running", stage: null, startedAt: null, elapsedMs: null, requestId: null, failure: null };
    }
    if (!record) return { ...base, state: "idle", stage: null, startedAt: null, elapsedMs: null, requestId: null, failure: null };
    return {
      ...base,
      state: record.state,
      stage: record.stage,
      startedAt: record.startedAt,
      elapsedMs: (record.endedAt ?? this.now()) - record.startedAt,
      requestId: record.requestId,
      failure: record.state === "failed" ? { stage: record.stage, message: record.message ?? "" } : null,
    };
  }
}
