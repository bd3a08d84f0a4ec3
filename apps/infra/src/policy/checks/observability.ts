import type { PolicyCheck } from "../types";
import { LOG_RETENTION_DAYS } from "../../config/schema";

/** Log groups, alarm topics and alarms. */
export const OBSERVABILITY_CHECKS: readonly PolicyCheck[] = [
  {
    id: "OHT_LOG_001",
    title: "Log groups have a retention (CKV_AWS_66)",
    resourceTypes: ["aws_cloudwatch_log_group"],
    evaluate(r) {
      const days = Number(r.body.retention_in_days ?? 0);
      return (LOG_RETENTION_DAYS as readonly number[]).includes(days) ? undefined : "retention_in_days is not set: logs are kept (and paid) forever";
    },
  },
  {
    id: "OHT_LOG_002",
    title: "Log groups are encrypted with a customer-managed key (CKV_AWS_158, AWS-0017)",
    resourceTypes: ["aws_cloudwatch_log_group"],
    evaluate: (r) => (r.body.kms_key_id ? undefined : "no kms_key_id"),
  },
  {
    id: "OHT_SNS_001",
    title: "SNS topics are encrypted at rest (CKV_AWS_26, AWS-0095)",
    resourceTypes: ["aws_sns_topic"],
    evaluate: (r) => (r.body.kms_master_key_id ? undefined : "no kms_master_key_id"),
  },
  {
    id: "OHT_CW_001",
    title: "Alarms notify someone when they fire and when they recover",
    resourceTypes: ["aws_cloudwatch_metric_alarm"],
    evaluate(r) {
      if (r.body.actions_enabled === false) return "actions_enabled is false";
      if (!(r.body.alarm_actions ?? []).length) return "no alarm_actions";
      return (r.body.ok_actions ?? []).length ? undefined : "no ok_actions (nobody learns that it recovered)";
    },
  },
];
