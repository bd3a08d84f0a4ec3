import type { PolicyCheck } from "../../types";
import { blocks } from "../../graph";

/** Auto Scaling groups. */
export const AUTOSCALING_CHECKS: readonly PolicyCheck[] = [
  {
    id: "OHT_ASG_001",
    title: "Auto Scaling group replaces hosts that fail the load balancer's health check (CKV2_AWS_15)",
    resourceTypes: ["aws_autoscaling_group"],
    evaluate(r) {
      if (r.body.health_check_type !== "ELB") return `health_check_type is ${r.body.health_check_type ?? "EC2"}`;
      return (r.body.target_group_arns ?? []).length ? undefined : "no target group: the ELB health check has nothing to report";
    },
  },
  {
    id: "OHT_ASG_002",
    title: "Auto Scaling group launches the template's latest version (CKV_AWS_315)",
    resourceTypes: ["aws_autoscaling_group"],
    evaluate(r) {
      const template = blocks(r.body.launch_template)[0];
      if (!template) return "no launch_template (launch configurations are deprecated)";
      return String(template.version ?? "").includes("latest_version") || template.version === "$Latest"
        ? undefined
        : `launch template version ${template.version ?? "(default)"} does not follow template changes`;
    },
  },
  {
    id: "OHT_ASG_003",
    title: "Auto Scaling group refreshes instances when the launch template changes",
    resourceTypes: ["aws_autoscaling_group"],
    evaluate(r) {
      return blocks(r.body.instance_refresh)[0]?.strategy === "Rolling" ? undefined : "no instance_refresh block";
    },
  },
  {
    id: "OHT_ASG_004",
    title: "Auto Scaling group health check grace period covers a boot (at least 300 s)",
    resourceTypes: ["aws_autoscaling_group"],
    evaluate(r) {
      const grace = Number(r.body.health_check_grace_period ?? 300);
      return grace >= 300 ? undefined : `health_check_grace_period ${grace} s replaces hosts before they finish booting`;
    },
  },
];
