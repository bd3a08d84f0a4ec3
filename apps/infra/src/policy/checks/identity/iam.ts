import type { PolicyCheck, PolicyResource } from "../../types";
import { blocks, parsePolicy, strings } from "../../graph";
import { SSM_CORE_ACTIONS } from "../../../constructs/identity/host-role";

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
const RESOURCELESS_ACTIONS = new Set<string>([...SSM_CORE_ACTIONS, "cloudwatch:PutMetricData"]);

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
        const scoped = strings(s.Action).filter((a) => !RESOURCELESS_ACTIONS.has(a));
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
    title: "IAM policies grant no privilege-escalation action (CKV_AWS_107-111, CKV2_AWS_40)",
    resourceTypes: [...POLICY_HOLDERS, "aws_iam_role"],
    evaluate(r) {
      const found = (allowStatements(r) ?? []).flatMap((s) =>
        strings(s.Action).filter((a) => ESCALATION_ACTIONS.includes(a.toLowerCase())),
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
];
