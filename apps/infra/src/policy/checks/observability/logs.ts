import type { PolicyCheck } from "../../types";
import { LOG_RETENTION_DAYS } from "../../../config/schema";

/** CloudWatch log groups. */
export const LOG_CHECKS: readonly PolicyCheck[] = [
  {
    id: "OHT_LOG_001",
    title: "Log groups have a retention (CKV_AWS_66)",
    resourceTypes: ["aws_cloudwatch_log_group"],
    evaluate(r) {
      const days = Number(r.body.retention_in_days ?? 0);
      return (LOG_RETENTION_DAYS as readonly number[]).includes(days)
        ? undefined
        : "retention_in_days is not set: logs are kept (and paid) forever";
    },
  },
  {
    id: "OHT_LOG_002",
    title: "Log groups are encrypted with a customer-managed key (CKV_AWS_158, AWS-0017)",
    resourceTypes: ["aws_cloudwatch_log_group"],
    evaluate: (r) => (r.body.kms_key_id ? undefined : "no kms_key_id"),
  },
];
