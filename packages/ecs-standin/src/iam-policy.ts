/**
 * The part of IAM's policy evaluation the stand-in needs to decide whether a task's role may mount an EFS access point
 * (and whether ECS may assume it): identity policies, a permissions boundary, and the trust policy, evaluated as the
 * IAM User Guide's "Policy evaluation logic" describes for one account: an explicit Deny anywhere wins; otherwise an
 * Allow in an identity policy is needed, and, when the role has a permissions boundary, an Allow in the boundary too.
 *
 * Condition operators (IAM User Guide, "IAM JSON policy elements: Condition operators"): String*, Arn*, Bool and Null,
 * with `IfExists`. Anything else (numeric, date, IP operators, ForAnyValue/ForAllValues) is not evaluated: an Allow
 * statement using it does not apply and a Deny statement using it does, so the stand-in never grants more than IAM.
 */
import { wildcardMatch } from "./aws-protocol";

export interface PolicyRequest {
  readonly action: string;
  readonly resource: string;
  /** Condition keys (lower-case lookups, as IAM's keys are case-insensitive) and their values. */
  readonly context: Readonly<Record<string, string>>;
  /** For trust policies: the service principal asking (e.g. ecs-tasks.amazonaws.com). */
  readonly servicePrincipal?: string;
}

type Statement = Record<string, unknown>;

export type Decision = "allow" | "explicit-deny" | "implicit-deny";

function list(value: unknown): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** The statements of a policy document (JSON text); a document that is not JSON has none. */
export function statementsOf(document: string): Statement[] {
  try {
    const parsed = JSON.parse(document) as { Statement?: unknown };
    const statements = parsed.Statement;
    const items = Array.isArray(statements) ? statements : statements ? [statements] : [];
    return items.filter((item): item is Statement => typeof item === "object" && item !== null);
  } catch {
    return [];
  }
}

function matchesAny(patterns: string[], value: string, ignoreCase: boolean): boolean {
  return patterns.some((pattern) => wildcardMatch(pattern, value, ignoreCase));
}

/** Whether the statement's Action/NotAction, Resource/NotResource and Principal cover the request. */
function covers(statement: Statement, request: PolicyRequest): boolean {
  const actionOk =
    statement.Action !== undefined
      ? matchesAny(list(statement.Action), request.action, true)
      : statement.NotAction !== undefined && !matchesAny(list(statement.NotAction), request.action, true);
  if (!actionOk) return false;
  if (request.servicePrincipal !== undefined) {
    const principal = statement.Principal as { Service?: unknown } | undefined;
    return principal !== undefined && list(principal.Service).includes(request.servicePrincipal);
  }
  if (statement.Resource !== undefined) return matchesAny(list(statement.Resource), request.resource, false);
  return statement.NotResource !== undefined && !matchesAny(list(statement.NotResource), request.resource, false);
}

/** true: the condition holds; false: it does not; undefined: an operator the stand-in does not evaluate. */
function conditionHolds(condition: unknown, context: PolicyRequest["context"]): boolean | undefined {
  if (condition === undefined) return true;
  if (typeof condition !== "object" || condition === null) return undefined;
  for (const [rawOperator, block] of Object.entries(condition)) {
    if (typeof block !== "object" || block === null) return undefined;
    const ifExists = rawOperator.endsWith("IfExists");
    const operator = ifExists ? rawOperator.slice(0, -"IfExists".length) : rawOperator;
    for (const [key, expected] of Object.entries(block)) {
      const values = list(expected);
      const actual = context[key.toLowerCase()];
      if (operator === "Null") {
        const wantsAbsent = values.some((value) => value.toLowerCase() === "true");
        if ((actual === undefined) !== wantsAbsent) return false;
        continue;
      }
      if (actual === undefined) {
        if (ifExists) continue;
        return false;
      }
      const holds = compare(operator, values, actual);
      if (holds === undefined) return undefined;
      if (!holds) return false;
    }
  }
  return true;
}

function compare(operator: string, values: string[], actual: string): boolean | undefined {
  switch (operator) {
    case "StringEquals":
    case "ArnEquals":
      return values.includes(actual);
    case "StringNotEquals":
    case "ArnNotEquals":
      return !values.includes(actual);
    case "StringEqualsIgnoreCase":
      return values.some((value) => value.toLowerCase() === actual.toLowerCase());
    case "StringNotEqualsIgnoreCase":
      return !values.some((value) => value.toLowerCase() === actual.toLowerCase());
    case "StringLike":
    case "ArnLike":
      return matchesAny(values, actual, false);
    case "StringNotLike":
    case "ArnNotLike":
      return !matchesAny(values, actual, false);
    case "Bool":
      return values.some((value) => value.toLowerCase() === actual.toLowerCase());
    default:
      return undefined;
  }
}

/** One policy's verdict on a request. */
export function evaluatePolicy(document: string, request: PolicyRequest): Decision {
  let allowed = false;
  for (const statement of statementsOf(document)) {
    if (!covers(statement, request)) continue;
    const holds = conditionHolds(statement.Condition, request.context);
    if (statement.Effect === "Deny" && holds !== false) return "explicit-deny";
    if (statement.Effect === "Allow" && holds === true) allowed = true;
  }
  return allowed ? "allow" : "implicit-deny";
}

/** A role's verdict: its identity policies, then its permissions boundary when it has one. */
export function evaluateRole(identityPolicies: string[], boundary: string | undefined, request: PolicyRequest): Decision {
  const verdicts = identityPolicies.map((document) => evaluatePolicy(document, request));
  const boundaryVerdict = boundary === undefined ? "allow" : evaluatePolicy(boundary, request);
  if (verdicts.includes("explicit-deny") || boundaryVerdict === "explicit-deny") return "explicit-deny";
  return verdicts.includes("allow") && boundaryVerdict === "allow" ? "allow" : "implicit-deny";
}
