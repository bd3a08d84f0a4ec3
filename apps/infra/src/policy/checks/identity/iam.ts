import type { PolicyCheck, PolicyResource } from "../../types";
import { blocks, parsePolicy, referenceTo, resourcesOf, strings } from "../../graph";
import { SSM_CORE_ACTIONS } from "../../../constructs/identity/host-role";
import { ECS_CLUSTER_CONDITIONED_ACTIONS, ECS_RESOURCELESS_ACTIONS } from "../../../constructs/identity/spawner-ecs-permissions";
import {
  APP_BOUNDARY_EFS_ACTIONS,
  APP_BOUNDARY_OBJECT_ACTIONS,
  APP_EVENTS_PREFIX,
  SANDBOX_BOUNDARY_ACTIONS,
} from "../../../constructs/identity/task-roles";
import { APP_ROLE_PATH } from "../../../config/names";

interface Statement {
  readonly Sid?: string;
  readonly Effect?: string;
  readonly Action?: unknown;
  readonly NotAction?: unknown;
  readonly Resource?: unknown;
  readonly NotResource?: unknown;
  readonly Condition?: Record<string, unknown>;
}

const POLICY_HOLDERS = ["aws_iam_role_policy", "aws_iam_policy"];

/** Actions whose API takes no resource ARN: "*" is the only possible resource (IAM documents them so). */
const RESOURCELESS_ACTIONS = new Set<string>([
  ...SSM_CORE_ACTIONS,
  "cloudwatch:PutMetricData",
  "ecr:GetAuthorizationToken",
  ...ECS_RESOURCELESS_ACTIONS,
]);

/** Actions whose only resource is "*" but which must then carry a condition on this key (`ecs:cluster`). */
const CONDITION_SCOPED_ACTIONS = new Map<string, string>(ECS_CLUSTER_CONDITIONED_ACTIONS.map((a) => [a, "ecs:cluster"]));

/** Escalation actions that are acceptable only with a guard: the condition key that must pin them to one value. */
const GUARDED_ESCALATIONS: Readonly<Record<string, string>> = {
  "iam:passrole": "iam:PassedToService",
  "iam:createrole": "iam:PermissionsBoundary",
  "iam:putrolepolicy": "iam:PermissionsBoundary",
};

/** Exact-match operators: a guard written with a wildcard or an IfExists operator guards nothing. */
const EXACT_OPERATORS = new Set(["StringEquals", "ArnEquals"]);

/** Whether a statement pins `key` to literal values without wildcards, with one of `operators`. */
function pinned(s: Statement, key: string, operators: ReadonlySet<string> = EXACT_OPERATORS): boolean {
  return Object.entries(s.Condition ?? {}).some(
    ([operator, keys]) =>
      operators.has(operator) &&
      keys !== null &&
      typeof keys === "object" &&
      key in keys &&
      strings((keys as Record<string, unknown>)[key]).length > 0 &&
      strings((keys as Record<string, unknown>)[key]).every((v) => v && !v.includes("*")),
  );
}

/**
 * Route 53 record changes: the multivalued keys (one value per change of the batch) that must pin every change, with
 * ForAllValues:StringEquals, plus a Null condition on each (ForAllValues holds vacuously when a key is absent).
 */
const RECORD_CHANGE_KEYS = [
  "route53:ChangeResourceRecordSetsNormalizedRecordNames",
  "route53:ChangeResourceRecordSetsRecordTypes",
  "route53:ChangeResourceRecordSetsActions",
] as const;
const FOR_ALL_EXACT = new Set(["ForAllValues:StringEquals"]);

/** What a route53:ChangeResourceRecordSets statement lacks of its guard, or undefined when it is guarded. */
function recordChangeGap(s: Statement): string | undefined {
  if (strings(s.Resource).length === 0 || strings(s.Resource).some((r) => r.includes("*"))) return "on zones it does not name";
  const loose = RECORD_CHANGE_KEYS.filter((key) => !pinned(s, key, FOR_ALL_EXACT));
  if (loose.length) return `without pinning ${loose.join(", ")} (ForAllValues:StringEquals, literal values)`;
  const present = (s.Condition?.Null ?? {}) as Record<string, unknown>;
  const unchecked = RECORD_CHANGE_KEYS.filter((key) => present[key] !== "false");
  if (unchecked.length) return `without a Null "false" condition on ${unchecked.join(", ")}`;
  const actions = (s.Condition?.["ForAllValues:StringEquals"] as Record<string, unknown>)["route53:ChangeResourceRecordSetsActions"];
  if (strings(actions).includes("DELETE")) return "with DELETE among the allowed actions";
  return undefined;
}

/** Whether a statement names its resources (no "*" alone). */
const named = (s: Statement) => strings(s.Resource).length > 0 && !strings(s.Resource).includes("*");

/** Whether an escalation action in this statement carries its guard (and names its resources). */
function guarded(s: Statement, action: string): boolean {
  const key = GUARDED_ESCALATIONS[action.toLowerCase()];
  return key !== undefined && pinned(s, key) && named(s);
}

/** Every Allow statement in the stack's identity policies, with the resource that holds it. */
function stackAllowStatements(r: PolicyResource): Statement[] {
  return [...POLICY_HOLDERS, "aws_iam_role"].flatMap((type) =>
    Object.values(resourcesOf(r.stackJson, type)).flatMap(
      (body) => allowStatements({ stack: r.stack, type, name: "", body, stackJson: r.stackJson }) ?? [],
    ),
  );
}

/** Statements that pin `iam:PermissionsBoundary` to a value containing `needle`. */
function pinningStatements(r: PolicyResource, needle: string): Statement[] {
  return stackAllowStatements(r).filter((s) =>
    Object.values(s.Condition ?? {}).some(
      (keys) =>
        keys !== null &&
        typeof keys === "object" &&
        strings((keys as Record<string, unknown>)["iam:PermissionsBoundary"]).some((v) => v.includes(needle)),
    ),
  );
}

/**
 * Which roles an aws_iam_policy bounds: undefined when it is no permissions boundary; "app" when it bounds only the roles
 * the spawner creates under `/oh-app/`; "sandbox" otherwise (the sandbox roles, a role that names it, or roles anywhere:
 * the strictest rules).
 */
function boundaryKind(r: PolicyResource): "app" | "sandbox" | undefined {
  const needle = referenceTo(r);
  const roles = Object.values(resourcesOf(r.stackJson, "aws_iam_role"));
  const namedByRole = roles.some((role) => String(role.permissions_boundary ?? "").includes(needle));
  const pinning = pinningStatements(r, needle);
  if (!namedByRole && pinning.length === 0) return undefined;
  const appRoles = `:role${APP_ROLE_PATH}`;
  const onlyAppRoles = pinning.every((s) => strings(s.Resource).length > 0 && strings(s.Resource).every((res) => res.includes(appRoles)));
  return !namedByRole && onlyAppRoles ? "app" : "sandbox";
}

/** Whether every resource of a statement is named without a wildcard. */
const exactResources = (s: Statement) => strings(s.Resource).length > 0 && strings(s.Resource).every((res) => !res.includes("*"));

/** Whether every resource of a statement is `<one bucket>/users/*`. */
const eventsPrefixResources = (s: Statement) =>
  strings(s.Resource).length > 0 &&
  strings(s.Resource).every((res) => res.endsWith(`/${APP_EVENTS_PREFIX}*`) && !res.slice(0, -1).includes("*") && !res.startsWith("/"));

/** Whether s3:ListBucket is conditioned on a key prefix under users/ (without it, it lists every key of the bucket). */
function listsUsersPrefixOnly(s: Statement): boolean {
  return Object.entries(s.Condition ?? {}).some(([operator, keys]) => {
    if (!["StringLike", "StringEquals"].includes(operator) || keys === null || typeof keys !== "object") return false;
    const prefixes = strings((keys as Record<string, unknown>)["s3:prefix"]);
    return prefixes.length > 0 && prefixes.every((v) => v.startsWith(APP_EVENTS_PREFIX));
  });
}

/** What an app boundary's statement allows beyond the docker app's events and EFS client actions, as findings. */
function appBoundaryExcess(s: Statement, i: number): string[] {
  if (s.NotAction !== undefined) return [`${label(s, i)} uses NotAction`];
  if (s.NotResource !== undefined) return [`${label(s, i)} uses NotResource`];
  const objects = new Set<string>(APP_BOUNDARY_OBJECT_ACTIONS);
  const efs = new Set<string>(APP_BOUNDARY_EFS_ACTIONS);
  return strings(s.Action).flatMap((a) => {
    if (objects.has(a)) return eventsPrefixResources(s) ? [] : [`${label(s, i)} allows ${a} outside <events bucket>/${APP_EVENTS_PREFIX}*`];
    if (a === "s3:ListBucket") {
      if (!exactResources(s)) return [`${label(s, i)} allows ${a} on a wildcard resource`];
      return listsUsersPrefixOnly(s) ? [] : [`${label(s, i)} allows ${a} without an s3:prefix condition under ${APP_EVENTS_PREFIX}`];
    }
    if (efs.has(a)) return exactResources(s) ? [] : [`${label(s, i)} allows ${a} on a wildcard resource`];
    return [`${label(s, i)} allows ${a}`];
  });
}

/** What a sandbox boundary's statement allows beyond the two EFS client actions on a named file system, as findings. */
function sandboxBoundaryExcess(s: Statement, i: number): string[] {
  if (s.NotAction !== undefined) return [`${label(s, i)} uses NotAction`];
  if (s.NotResource !== undefined) return [`${label(s, i)} uses NotResource`];
  const allowed = new Set<string>(SANDBOX_BOUNDARY_ACTIONS);
  const excess = strings(s.Action)
    .filter((a) => !allowed.has(a))
    .map((a) => `${label(s, i)} allows ${a}`);
  return exactResources(s) ? excess : [...excess, `${label(s, i)} names a wildcard resource`];
}

/** Actions that let a principal grant itself more than it was given. */
const ESCALATION_ACTIONS = [
  "iam:passrole",
  "iam:createpolicyversion",
  "iam:setdefaultpolicyversion",
  "iam:attachrolepolicy",
  "iam:attachuserpolicy",
  "iam:putrolepolicy",
  "iam:putuserpolicy",
  "iam:createaccesskey",
  "iam:updateassumerolepolicy",
  "iam:createrole",
  "sts:assumerole",
];

/** Allow statements of the identity policies a resource carries; undefined when a policy is not literal JSON. */
function allowStatements(r: PolicyResource): Statement[] | undefined {
  const texts = [r.body.policy, ...blocks(r.body.inline_policy).map((p) => p.policy)].filter((t) => t !== undefined);
  const statements: Statement[] = [];
  for (const text of texts) {
    const doc = parsePolicy(text);
    if (!doc) return undefined;
    statements.push(...(blocks(doc.Statement) as Statement[]));
  }
  return statements.filter((s) => s.Effect === "Allow");
}

const label = (s: Statement, i: number) => s.Sid ?? `statement ${i}`;

/** IAM roles and policies: no wildcard action, no "*" resource where one can be named, no escalation, trusted services only. */
export const IAM_CHECKS: readonly PolicyCheck[] = [
  {
    id: "OHT_IAM_001",
    title: "IAM policies are literal JSON documents that the suite can read",
    resourceTypes: [...POLICY_HOLDERS, "aws_iam_role"],
    evaluate: (r) => (allowStatements(r) ? undefined : "a policy is an expression, not literal JSON: it cannot be checked"),
  },
  {
    id: "OHT_IAM_002",
    title: "IAM Allow statements name their actions: no wildcard, no NotAction (CKV_AWS_63, CKV_AWS_49, AWS-0057)",
    resourceTypes: [...POLICY_HOLDERS, "aws_iam_role"],
    evaluate(r) {
      const bad = (allowStatements(r) ?? []).flatMap((s, i) =>
        s.NotAction !== undefined
          ? [`${label(s, i)} uses NotAction`]
          : strings(s.Action)
              .filter((a) => a.includes("*"))
              .map((a) => `${label(s, i)} allows ${a}`),
      );
      return bad.length ? bad.join("; ") : undefined;
    },
  },
  {
    id: "OHT_IAM_003",
    title: 'IAM Allow statements name their resources: "*" only for actions without resources (CKV_AWS_355, CKV_AWS_356)',
    resourceTypes: [...POLICY_HOLDERS, "aws_iam_role"],
    evaluate(r) {
      const bad = (allowStatements(r) ?? []).flatMap((s, i) => {
        if (s.NotResource !== undefined) return [`${label(s, i)} uses NotResource`];
        if (!strings(s.Resource).includes("*")) return [];
        const unbound = strings(s.Action).filter((a) => CONDITION_SCOPED_ACTIONS.has(a) && !pinned(s, CONDITION_SCOPED_ACTIONS.get(a)!));
        if (unbound.length)
          return [`${label(s, i)} allows ${unbound.join(", ")} on "*" without a ${CONDITION_SCOPED_ACTIONS.get(unbound[0]!)} condition`];
        const scoped = strings(s.Action).filter((a) => !RESOURCELESS_ACTIONS.has(a) && !CONDITION_SCOPED_ACTIONS.has(a));
        if (scoped.length) return [`${label(s, i)} allows ${scoped.join(", ")} on "*"`];
        if (strings(s.Action).includes("cloudwatch:PutMetricData") && !JSON.stringify(s.Condition ?? {}).includes("cloudwatch:namespace")) {
          return [`${label(s, i)} allows cloudwatch:PutMetricData in every namespace`];
        }
        return [];
      });
      return bad.length ? bad.join("; ") : undefined;
    },
  },
  {
    id: "OHT_IAM_004",
    title: "IAM policies grant no privilege-escalation action, unless guarded as OHT_IAM_007/008 demand (CKV_AWS_107-111, CKV2_AWS_40)",
    resourceTypes: [...POLICY_HOLDERS, "aws_iam_role"],
    evaluate(r) {
      const found = (allowStatements(r) ?? []).flatMap((s) =>
        strings(s.Action).filter((a) => ESCALATION_ACTIONS.includes(a.toLowerCase()) && !guarded(s, a)),
      );
      return found.length ? `allows ${[...new Set(found)].join(", ")}` : undefined;
    },
  },
  {
    id: "OHT_IAM_005",
    title: "IAM roles are assumable by an AWS service only, never by an account or a wildcard (CKV_AWS_60, CKV_AWS_61)",
    resourceTypes: ["aws_iam_role"],
    evaluate(r) {
      const doc = parsePolicy(r.body.assume_role_policy);
      if (!doc) return "assume_role_policy is not literal JSON";
      const bad = (blocks(doc.Statement) as Statement[] & { Principal?: unknown }[])
        .filter((s: any) => s.Effect === "Allow")
        .filter((s: any) => s.Principal === "*" || s.Principal?.AWS !== undefined || s.Principal?.Federated !== undefined);
      return bad.length ? "a statement trusts a non-service principal" : undefined;
    },
  },
  {
    id: "OHT_IAM_006",
    title: "Roles carry customer policies, not AWS-managed ones (cdk-nag IAM4)",
    resourceTypes: ["aws_iam_role_policy_attachment"],
    evaluate(r) {
      return /:iam::aws:policy\//.test(String(r.body.policy_arn ?? ""))
        ? `attaches the AWS-managed ${String(r.body.policy_arn).split("/").pop()}`
        : undefined;
    },
  },
  {
    id: "OHT_IAM_007",
    title: "iam:CreateRole and iam:PutRolePolicy only on named roles and only with an iam:PermissionsBoundary condition (escalation)",
    resourceTypes: [...POLICY_HOLDERS, "aws_iam_role"],
    evaluate(r) {
      // A role made without the boundary could be given any permission, then passed to a task: the spawner's way out.
      const bad = (allowStatements(r) ?? []).flatMap((s, i) =>
        strings(s.Action)
          .filter((a) => ["iam:createrole", "iam:putrolepolicy"].includes(a.toLowerCase()) || a.toLowerCase() === "iam:*")
          .filter((a) => !guarded(s, a))
          .map((a) => `${label(s, i)} allows ${a} without pinning iam:PermissionsBoundary on named roles`),
      );
      return bad.length ? bad.join("; ") : undefined;
    },
  },
  {
    id: "OHT_IAM_008",
    title: "iam:PassRole only on named roles and only with an iam:PassedToService condition (CKV_AWS_286, role hijacking)",
    resourceTypes: [...POLICY_HOLDERS, "aws_iam_role"],
    evaluate(r) {
      // A role passed to any service (EC2, Lambda) runs the caller's code with the role's permissions.
      const bad = (allowStatements(r) ?? []).flatMap((s, i) =>
        strings(s.Action)
          .filter((a) => a.toLowerCase() === "iam:passrole")
          .filter((a) => !guarded(s, a))
          .map((a) => `${label(s, i)} allows ${a} without pinning iam:PassedToService on named roles`),
      );
      return bad.length ? bad.join("; ") : undefined;
    },
  },
  {
    id: "OHT_IAM_009",
    title:
      "The per-user task roles' permissions boundaries: sandboxes EFS ClientMount and ClientWrite only; " +
      "apps their S3 events under users/ and the three EFS client actions only",
    resourceTypes: ["aws_iam_policy"],
    evaluate(r) {
      const kind = boundaryKind(r);
      if (!kind) return undefined;
      const statements = allowStatements(r);
      if (!statements) return "the boundary is not literal JSON";
      if (kind === "app") {
        // Credential abuse from an app: its role's credentials sit in the app's task, so the boundary is what they can do.
        const bad = statements.flatMap(appBoundaryExcess);
        const allowed = [...APP_BOUNDARY_OBJECT_ACTIONS, "s3:ListBucket"].join(", ");
        return bad.length
          ? `the app roles' permissions boundary allows more than ${allowed} under ${APP_EVENTS_PREFIX} and ` +
              `${APP_BOUNDARY_EFS_ACTIONS.join(", ")} on the file system: ${bad.join("; ")}`
          : undefined;
      }
      // Credential abuse from a sandbox: its role's credentials sit in the sandbox, so the boundary is what they can do.
      const bad = statements.flatMap(sandboxBoundaryExcess);
      return bad.length
        ? `the permissions boundary allows more than ${SANDBOX_BOUNDARY_ACTIONS.join(" and ")}: ${bad.join("; ")}`
        : undefined;
    },
  },
  {
    id: "OHT_IAM_010",
    title: "route53:ChangeResourceRecordSets only on named zones, every change pinned to names, record types and actions",
    resourceTypes: [...POLICY_HOLDERS, "aws_iam_role"],
    evaluate(r) {
      // DNS hijacking: an unconditioned grant repoints any name of any zone (the app's public records among them).
      const bad = (allowStatements(r) ?? []).flatMap((s, i) =>
        strings(s.Action)
          .filter((a) => a.toLowerCase() === "route53:changeresourcerecordsets")
          .flatMap((a) => {
            const gap = recordChangeGap(s);
            return gap ? [`${label(s, i)} allows ${a} ${gap}`] : [];
          }),
      );
      return bad.length ? bad.join("; ") : undefined;
    },
  },
];
