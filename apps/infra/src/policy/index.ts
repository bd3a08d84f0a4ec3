import { EDGE_CHECKS, EDGE_SUPPRESSIONS } from "./checks/edge";
import { MAIN_CHECKS } from "./checks/main";
import { runPolicy, type PolicyReport, type PolicySuite } from "./runner";
import { MAIN_SUPPRESSIONS } from "./suppressions";
import type { PolicyCheck, PolicySuppression, TerraformJson } from "./types";

/** The main-region stacks, which the main checks cover. */
export const MAIN_STACKS = ["network", "data", "compute", "monitoring"] as const;

/** The whole suite: main-region checks over the main-region stacks, edge checks over every stack. */
export const POLICY_SUITES: readonly PolicySuite[] = [
  { checks: MAIN_CHECKS, stacks: MAIN_STACKS },
  { checks: EDGE_CHECKS },
];

export const ALL_CHECKS: readonly PolicyCheck[] = [...MAIN_CHECKS, ...EDGE_CHECKS];
export const ALL_SUPPRESSIONS: readonly PolicySuppression[] = [...MAIN_SUPPRESSIONS, ...EDGE_SUPPRESSIONS];

/** Runs the project's policy suite over synthesized stacks. */
export function checkDeployment(stacks: Readonly<Record<string, TerraformJson>>): PolicyReport {
  return runPolicy(stacks, POLICY_SUITES, ALL_SUPPRESSIONS);
}

export { formatReport, loadSynthesizedStacks, runPolicy } from "./runner";
export type { PolicyFinding, PolicyReport, PolicySuite } from "./runner";
