import type { PolicyCheck } from "../../types";
import { blocks, companions, isTrue } from "../../graph";

/** TLS policies that offer TLS 1.2+ with forward secrecy only (checkov CKV_AWS_103's accepted families). */
const STRONG_TLS_POLICY = /^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)/;

/** ALB, listeners, target groups and the ALB's regional certificate. */
export const LOAD_BALANCING_CHECKS: readonly PolicyCheck[] = [
  {
    id: "OHT_ALB_001",
    title: "ALB drops invalid HTTP header fields (CKV_AWS_131, AWS-0052)",
    resourceTypes: ["aws_lb", "aws_alb"],
    evaluate(r) {
      return isTrue(r.body.drop_invalid_header_fields) ? undefined : "drop_invalid_header_fields is not true (request smuggling)";
    },
  },
  {
    id: "OHT_ALB_002",
    title: "ALB is internal, reached only through the CloudFront VPC origin (AWS-0053)",
    resourceTypes: ["aws_lb", "aws_alb"],
    evaluate(r) {
      return isTrue(r.body.internal) ? undefined : "the load balancer is internet-facing";
    },
  },
  {
    id: "OHT_ALB_003",
    title: "ALB listeners use HTTPS (CKV_AWS_2, AWS-0054)",
    resourceTypes: ["aws_lb_listener", "aws_alb_listener"],
    evaluate(r) {
      if (r.body.protocol === "HTTPS") return undefined;
      const redirects = blocks(r.body.default_action).every((a) => a.type === "redirect" && blocks(a.redirect)[0]?.protocol === "HTTPS");
      return redirects ? undefined : `listener protocol ${r.body.protocol ?? "HTTP"} forwards without TLS`;
    },
  },
  {
    id: "OHT_ALB_004",
    title: "HTTPS listeners use a TLS 1.2+ forward-secrecy policy (CKV_AWS_103, AWS-0047)",
    resourceTypes: ["aws_lb_listener", "aws_alb_listener"],
    evaluate(r) {
      if (r.body.protocol !== "HTTPS") return undefined;
      return STRONG_TLS_POLICY.test(String(r.body.ssl_policy ?? ""))
        ? undefined
        : `ssl_policy ${r.body.ssl_policy ?? "(default)"} allows weak protocols`;
    },
  },
  {
    id: "OHT_ALB_005",
    title: "ALB desync mitigation is defensive or strictest (CKV_AWS_328)",
    resourceTypes: ["aws_lb", "aws_alb"],
    evaluate(r) {
      const mode = r.body.desync_mitigation_mode ?? "defensive";
      return mode === "defensive" || mode === "strictest" ? undefined : `desync_mitigation_mode is ${mode}`;
    },
  },
  {
    id: "OHT_ALB_006",
    title: "ALB has deletion protection (CKV_AWS_150)",
    resourceTypes: ["aws_lb", "aws_alb"],
    evaluate(r) {
      return isTrue(r.body.enable_deletion_protection) ? undefined : "enable_deletion_protection is not true";
    },
  },
  {
    id: "OHT_ALB_007",
    title: "ALB writes access logs (CKV_AWS_91)",
    resourceTypes: ["aws_lb", "aws_alb"],
    evaluate(r) {
      return isTrue(blocks(r.body.access_logs)[0]?.enabled) ? undefined : "access_logs is not enabled";
    },
  },
  {
    id: "OHT_ALB_008",
    title: "ALB idle timeout keeps WebSockets open (at least 300 s)",
    resourceTypes: ["aws_lb", "aws_alb"],
    evaluate(r) {
      const timeout = Number(r.body.idle_timeout ?? 60);
      return timeout >= 300 ? undefined : `idle_timeout ${timeout} s closes quiet WebSockets`;
    },
  },
  {
    id: "OHT_TG_001",
    title: "Target group health check is enabled on an explicit path with an exact matcher",
    resourceTypes: ["aws_lb_target_group", "aws_alb_target_group"],
    evaluate(r) {
      const check = blocks(r.body.health_check)[0];
      if (!check || check.enabled === false) return "no enabled health check";
      if (!check.path || check.path === "/") return "health check path is / (a SPA fallback answers 200 for anything)";
      return check.matcher ? undefined : "health check has no matcher";
    },
  },
  {
    id: "OHT_TG_002",
    title: "Target group forwards over HTTPS (CKV_AWS_378)",
    resourceTypes: ["aws_lb_target_group", "aws_alb_target_group"],
    evaluate(r) {
      return r.body.protocol === "HTTPS" ? undefined : `target protocol ${r.body.protocol}`;
    },
  },
  {
    id: "OHT_ALB_009",
    title: "The regional certificate of the ALB is DNS-validated and replaced before it is destroyed",
    resourceTypes: ["aws_acm_certificate"],
    evaluate(r) {
      if (r.body.validation_method !== "DNS")
        return `validation_method is ${r.body.validation_method ?? "unset"} (expected DNS, renewed automatically)`;
      if (!isTrue(blocks(r.body.lifecycle)[0]?.create_before_destroy))
        return "lifecycle.create_before_destroy is not true (a replacement would leave listeners without a certificate)";
      return companions(r, "aws_acm_certificate_validation").length ? undefined : "no aws_acm_certificate_validation waits for it";
    },
  },
];
