import type { PolicyCheck, PolicyResource, TerraformJson } from "../../types";
import { blocks, cacheBehaviours, firstFailure, parsePolicy, referenceTo, referenced, resourcesOf, strings } from "../../graph";

/** Runtimes Lambda@Edge accepts that are not deprecated (checkov CKV_AWS_363). */
const EDGE_RUNTIMES = ["nodejs20.x", "nodejs22.x", "python3.12", "python3.13"];

/** Lambda functions of the stack that some distribution associates, with the events they serve. */
function edgeEvents(r: PolicyResource): string[] {
  const needle = referenceTo(r);
  return Object.values(resourcesOf(r.stackJson, "aws_cloudfront_distribution")).flatMap((d) =>
    cacheBehaviours(d).flatMap((b) =>
      blocks(b.body.lambda_function_association)
        .filter((a) => String(a.lambda_arn).startsWith(needle))
        .map((a) => String(a.event_type)),
    ),
  );
}

/** Lambda@Edge functions (a function counts as one when a distribution associates it). */
export const LAMBDA_EDGE_CHECKS: readonly PolicyCheck[] = [
  {
    id: "OHT_LE_001",
    title: "Lambda@Edge functions: supported runtime, x86_64, published versions (CKV_AWS_363)",
    resourceTypes: ["aws_lambda_function"],
    evaluate(r) {
      if (edgeEvents(r).length === 0) return undefined;
      const arch = strings(r.body.architectures);
      return firstFailure(
        [!EDGE_RUNTIMES.includes(String(r.body.runtime)), `runtime ${String(r.body.runtime)} is not one Lambda@Edge supports`],
        [arch.some((a) => a !== "x86_64"), `architectures ${arch.join(", ")}: Lambda@Edge runs x86_64 only`],
        [r.body.publish !== true, "publish is not true: CloudFront needs a numbered version"],
      );
    },
  },
  {
    id: "OHT_LE_002",
    title: "Lambda@Edge functions use nothing Lambda@Edge refuses: environment, VPC, layers, DLQ (CKV_AWS_117, CKV_AWS_173)",
    resourceTypes: ["aws_lambda_function"],
    evaluate(r) {
      if (edgeEvents(r).length === 0) return undefined;
      const refused = ["environment", "vpc_config", "layers", "dead_letter_config", "image_uri"].filter((k) => r.body[k] !== undefined);
      return refused.length ? `sets ${refused.join(", ")}` : undefined;
    },
  },
  {
    id: "OHT_LE_003",
    title: "Viewer-event functions stay within 128 MB and 5 seconds",
    resourceTypes: ["aws_lambda_function"],
    evaluate(r) {
      if (!edgeEvents(r).some((e) => e.startsWith("viewer-"))) return undefined;
      return firstFailure(
        [Number(r.body.memory_size ?? 128) > 128, `memory_size ${String(r.body.memory_size)} MB`],
        [Number(r.body.timeout ?? 3) > 5, `timeout ${String(r.body.timeout)} s`],
      );
    },
  },
  {
    id: "OHT_LE_004",
    title: "Lambda@Edge roles trust lambda and edgelambda, and read only named SSM parameters",
    resourceTypes: ["aws_lambda_function"],
    evaluate(r) {
      if (edgeEvents(r).length === 0) return undefined;
      const role = referenced(r, r.body.role, "aws_iam_role");
      if (!role) return "its role is not in this stack";
      const trust = parsePolicy(role.assume_role_policy);
      const principals = (trust?.Statement as TerraformJson[] | undefined)?.flatMap((s) => strings(s.Principal?.Service)) ?? [];
      const untrusted = ["lambda.amazonaws.com", "edgelambda.amazonaws.com"].filter((p) => !principals.includes(p));
      if (untrusted.length) return `the role does not trust ${untrusted.join(", ")}`;
      const roleName = /\$\{aws_iam_role\.([A-Za-z0-9_-]+)\./.exec(String(r.body.role))![1];
      const policies = Object.values(resourcesOf(r.stackJson, "aws_iam_role_policy")).filter((p) =>
        String(p.role).includes(`aws_iam_role.${roleName}.`),
      );
      for (const policy of policies) {
        for (const statement of (parsePolicy(policy.policy)?.Statement as TerraformJson[] | undefined) ?? []) {
          const actions = strings(statement.Action);
          if (!actions.some((a) => a.toLowerCase().startsWith("ssm:"))) continue;
          // A wildcard parameter would let the edge read every secret of the account.
          const broad = strings(statement.Resource).find((res) => res.includes("*"));
          if (broad) return `reads SSM parameters through a wildcard: ${broad}`;
        }
      }
      return undefined;
    },
  },
];
