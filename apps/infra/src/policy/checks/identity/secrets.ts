import type { PolicyCheck } from "../../types";
import { firstFailure, resourcesOf, strings } from "../../graph";

/** Parameter names that hold secrets. */
const SECRET_NAME = /(secret|password|key|token)/i;

/** Secrets Manager secrets and SSM parameters: containers only, no values in Terraform. */
export const SECRET_CHECKS: readonly PolicyCheck[] = [
  {
    id: "OHT_EDGE_001",
    title: "The edge secrets parameter is written once through value_wo: no key in cdktf.out or state, never overwritten",
    resourceTypes: ["aws_ssm_parameter"],
    evaluate(r) {
      if (!String(r.body.name ?? "").endsWith("/edge/secrets")) return undefined;
      const ignored = strings(r.body.lifecycle?.ignore_changes);
      return firstFailure(
        [r.body.type !== "SecureString", `type is ${String(r.body.type)}`],
        [r.body.value !== undefined || r.body.insecure_value !== undefined, "value is set: Terraform stores and re-reads it in state"],
        [r.body.value_wo !== '{"unset":true}', `value_wo is not the placeholder {"unset":true}`],
        [
          !ignored.includes("value") || !ignored.includes("value_wo_version"),
          "a later plan could write over the host's keys (ignore_changes)",
        ],
      );
    },
  },
  {
    id: "OHT_SEC_001",
    title: "No secret value is written by Terraform (no aws_secretsmanager_secret_version)",
    resourceTypes: ["aws_secretsmanager_secret_version"],
    evaluate: (r) =>
      r.body.secret_string !== undefined || r.body.secret_binary !== undefined || r.body.secret_string_wo !== undefined
        ? "a secret value is in the configuration (cdktf.out and state)"
        : undefined,
  },
  {
    id: "OHT_SEC_002",
    title: "Secrets stay restorable for at least 7 days after deletion",
    resourceTypes: ["aws_secretsmanager_secret"],
    evaluate(r) {
      const days = r.body.recovery_window_in_days === undefined ? 30 : Number(r.body.recovery_window_in_days);
      return days >= 7 ? undefined : `recovery_window_in_days is ${days}: a destroy deletes it for good`;
    },
  },
  {
    id: "OHT_SEC_003",
    title: "Secrets rotate automatically (CKV2_AWS_57, cdk-nag SMG4)",
    resourceTypes: ["aws_secretsmanager_secret"],
    evaluate: (r) =>
      Object.keys(resourcesOf(r.stackJson, "aws_secretsmanager_secret_rotation")).length ? undefined : "no rotation configured",
  },
  {
    id: "OHT_SSM_001",
    title: "SSM parameters named as secrets are SecureString and hold only a placeholder",
    resourceTypes: ["aws_ssm_parameter"],
    evaluate(r) {
      if (!SECRET_NAME.test(String(r.body.name ?? ""))) return undefined;
      if (r.body.type !== "SecureString") return `type is ${r.body.type}`;
      const value = String(r.body.value ?? r.body.insecure_value ?? "");
      return value.length > 40 && !value.includes("unset") ? "the value looks like real secret material" : undefined;
    },
  },
];
