/**
 * The spawner's own health (GET /healthz): each dependency checked with a short bound, named in the answer.
 *   200 {status:"ok", checks:{docker, database, events}}       every dependency answers (Docker mode)
 *   200 {status:"ok", checks:{ecs, database, relay, sandboxApi}} the same in ECS mode (ECS answers a ListTasks of one task)
 *   503 {status:"degraded", checks:{...}}                        one or more do not; each check says which and why
 * The process answering at all is what "alive" means to the proxy and the watchdog (docs/operations.md).
 */

export interface CheckResult {
  ok: boolean;
  /** What failed, in words (absent when ok). */
  error?: string;
}

export interface HealthReport {
  status: "ok" | "degraded";
  checks: Record<string, CheckResult>;
}

export type Probe = () => Promise<void> | void;

/**
 * Runs the probes, each bounded by `timeoutMs`. A probe still running from an earlier call is not started again
 * (a hung dependency must not pile up connections); its call is reported as not answering until it settles.
 * Results are reused for `reuseMs`, so a flood of health requests costs one round of probes.
 */
export class HealthChecks {
  private readonly running = new Map<string, Promise<CheckResult>>();
  private last: { at: number; report: Promise<HealthReport> } | undefined;

  constructor(
    private readonly probes: Record<string, Probe>,
    private readonly timeoutMs: number,
    private readonly reuseMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  report(): Promise<HealthReport> {
    const at = this.now();
    if (this.last && at - this.last.at < this.reuseMs) return this.last.report;
    const report = this.run();
    this.last = { at, report };
    return report;
  }

  private async run(): Promise<HealthReport> {
    const names = Object.keys(this.probes);
    const results = await Promise.all(names.map((name) => this.check(name)));
    const checks = Object.fromEntries(names.map((name, i) => [name, results[i]!]));
    return { status: results.every((r) => r.ok) ? "ok" : "degraded", checks };
  }

  private check(name: string): Promise<CheckResult> {
    let work = this.running.get(name);
    if (!work) {
      work = Promise.resolve()
        .then(() => this.probes[name]!())
        .then(
          (): CheckResult => ({ ok: true }),
          (error: unknown): CheckResult => ({ ok: false, error: error instanceof Error ? error.message : String(error) }),
        );
      const settled = work.finally(() => this.running.delete(name));
      settled.catch(() => undefined);
      this.running.set(name, work);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<CheckResult>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, error: `no answer within ${this.timeoutMs} ms` }), this.timeoutMs);
    });
    return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
  }
}
