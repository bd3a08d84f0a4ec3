import type { PolicyCheck } from "../../types";
import { blocks } from "../../graph";

/** AWS Backup plans. */
export const BACKUP_CHECKS: readonly PolicyCheck[] = [
  {
    id: "OHT_BAK_001",
    title: "AWS Backup plan keeps recovery points at least 7 days",
    resourceTypes: ["aws_backup_plan"],
    evaluate(r) {
      const short = blocks(r.body.rule).filter((rule) => !(Number(blocks(rule.lifecycle)[0]?.delete_after) >= 7));
      return short.length ? `rule ${short.map((s) => s.rule_name).join(", ")} keeps points under 7 days (or forever unbounded)` : undefined;
    },
  },
];
