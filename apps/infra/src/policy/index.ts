import { ALL_CHECKS } from "./checks";
import { runPolicy, type PolicyReport, type PolicySuite } from "./runner";
import { SUPPRESSIONS } from "./suppressions";
import type { TerraformJson } from "./types";

/** The whole suite: every check over every stack; where a check does not fit, a suppression says why. */
export const POLICY_SUITES: readonly PolicySuite[] = [{ checks: ALL_CHECKS }];

/** Runs the project's policy suite over synthesized stacks. */
export function checkDeployment(stacks: Readonly<Record<string, TerraformJson>>): PolicyReport {
  return runPolicy(stacks, POLICY_SUITES, SUPPRESSIONS);
}

export { ALL_CHECKS, CHECKS_BY_DOMAIN, CHECK_DOMAINS } from "./checks";
export { SUPPRESSIONS } from "./suppressions";
export { formatReport, loadSynthesizedStacks, runPolicy } from "./runner";
export type { PolicyFinding, PolicyReport, PolicySuite } from "./runner";
