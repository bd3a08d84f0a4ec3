import type { PolicyCheck } from "../../types";

/** Alarm topics and alarms. */
export const ALARM_CHECKS: readonly PolicyCheck[] = [
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
