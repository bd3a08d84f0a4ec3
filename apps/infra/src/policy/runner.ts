import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { PolicyCheck, PolicyResource, PolicySuppression, TerraformJson } from "./types";

/** A group of checks and the stacks it covers (all stacks when `stacks` is absent). */
export interface PolicySuite {
  readonly checks: readonly PolicyCheck[];
  readonly stacks?: readonly string[];
}

export type FindingStatus = "pass" | "fail" | "suppressed";

export interface PolicyFinding {
  readonly checkId: string;
  readonly title: string;
  /** `<stack>.<type>.<name>` */
  readonly resource: string;
  readonly status: FindingStatus;
  readonly message?: string;
  readonly justification?: string;
}

export interface PolicyReport {
  readonly findings: readonly PolicyFinding[];
  readonly failures: readonly PolicyFinding[];
  readonly suppressed: readonly PolicyFinding[];
  readonly passed: number;
  /** Suppressions that matched no failing finding (stale exceptions). */
  readonly unusedSuppressions: readonly PolicySuppression[];
  /** Suppressions that are not acceptable (unknown check, no real justification). */
  readonly invalidSuppressions: readonly { readonly suppression: PolicySuppression; readonly reason: string }[];
}

/** A written reason, not a placeholder: at least this many characters. */
export const MIN_JUSTIFICATION = 40;

function glob(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );
}

/** Reads every `stacks/<id>/cdk.tf.json` of a cdktf output folder. */
export function loadSynthesizedStacks(outdir: string): Record<string, TerraformJson> {
  const stacksDir = join(outdir, "stacks");
  if (!existsSync(stacksDir)) throw new Error(`${stacksDir} does not exist (run pnpm synth first)`);
  const stacks: Record<string, TerraformJson> = {};
  for (const id of readdirSync(stacksDir).sort()) {
    const file = join(stacksDir, id, "cdk.tf.json");
    if (existsSync(file)) stacks[id] = JSON.parse(readFileSync(file, "utf8")) as TerraformJson;
  }
  return stacks;
}

/** Runs every suite over the stacks' resources and applies the suppressions. */
export function runPolicy(
  stacks: Readonly<Record<string, TerraformJson>>,
  suites: readonly PolicySuite[],
  suppressions: readonly PolicySuppression[],
): PolicyReport {
  const knownIds = new Set(suites.flatMap((s) => s.checks.map((c) => c.id)));
  const invalidSuppressions = suppressions.flatMap((suppression) => {
    if (!knownIds.has(suppression.checkId)) return [{ suppression, reason: `unknown check ${suppression.checkId}` }];
    if (suppression.justification.trim().length < MIN_JUSTIFICATION)
      return [{ suppression, reason: "the justification is too short to say why" }];
    return [];
  });
  const valid = suppressions.filter((s) => !invalidSuppressions.some((i) => i.suppression === s));
  const used = new Set<PolicySuppression>();
  const findings: PolicyFinding[] = [];
  for (const suite of suites) {
    for (const [stack, stackJson] of Object.entries(stacks)) {
      if (suite.stacks && !suite.stacks.includes(stack)) continue;
      for (const check of suite.checks) {
        for (const type of check.resourceTypes) {
          for (const [name, body] of Object.entries((stackJson.resource?.[type] ?? {}) as Record<string, TerraformJson>)) {
            const resource: PolicyResource = { stack, type, name, body, stackJson };
            const id = `${stack}.${type}.${name}`;
            let message: string | undefined;
            try {
              message = check.evaluate(resource);
            } catch (err) {
              message = `the check could not read the resource: ${err instanceof Error ? err.message : String(err)}`;
            }
            if (message === undefined) {
              findings.push({ checkId: check.id, title: check.title, resource: id, status: "pass" });
              continue;
            }
            const tags = (body.tags ?? {}) as Record<string, unknown>;
            const suppression = valid.find(
              (s) =>
                s.checkId === check.id && glob(s.resource).test(id) && (!s.onlyTagged || tags[s.onlyTagged.key] === s.onlyTagged.value),
            );
            if (suppression) used.add(suppression);
            findings.push({
              checkId: check.id,
              title: check.title,
              resource: id,
              status: suppression ? "suppressed" : "fail",
              message,
              ...(suppression ? { justification: suppression.justification } : {}),
            });
          }
        }
      }
    }
  }
  return {
    findings,
    failures: findings.filter((f) => f.status === "fail"),
    suppressed: findings.filter((f) => f.status === "suppressed"),
    passed: findings.filter((f) => f.status === "pass").length,
    unusedSuppressions: valid.filter((s) => !used.has(s)),
    invalidSuppressions,
  };
}

/** A readable summary: one line per failure and per suppression, then the counts. */
export function formatReport(report: PolicyReport): string {
  const lines = [
    ...report.failures.map((f) => `FAIL ${f.checkId} ${f.resource}: ${f.message}`),
    ...report.suppressed.map((f) => `SKIP ${f.checkId} ${f.resource}: ${f.justification}`),
    ...report.invalidSuppressions.map((i) => `BAD  suppression ${i.suppression.checkId} ${i.suppression.resource}: ${i.reason}`),
    ...report.unusedSuppressions.map((s) => `STALE suppression ${s.checkId} ${s.resource} matches no failure`),
    `${report.passed} passed, ${report.failures.length} failed, ${report.suppressed.length} suppressed ` +
      `(${new Set(report.findings.map((f) => f.checkId)).size} checks applied)`,
  ];
  return lines.join("\n");
}
