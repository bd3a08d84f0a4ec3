import type { PolicyCheck } from "../../types";
import { blocks } from "../../graph";

const OPEN = new Set(["0.0.0.0/0", "::/0"]);

/** Security groups and their rules: described, separate rules, nothing open to the internet. */
export const SECURITY_GROUP_CHECKS: readonly PolicyCheck[] = [
  {
    id: "OHT_SG_001",
    title: "Security groups and their rules carry a description (CKV_AWS_23, AWS-0124)",
    resourceTypes: [
      "aws_security_group",
      "aws_vpc_security_group_ingress_rule",
      "aws_vpc_security_group_egress_rule",
      "aws_security_group_rule",
    ],
    evaluate(r) {
      if (!String(r.body.description ?? "").trim()) return "no description";
      const inline = [...blocks(r.body.ingress), ...blocks(r.body.egress)].filter((rule) => !String(rule.description ?? "").trim());
      return inline.length ? "an inline rule has no description" : undefined;
    },
  },
  {
    id: "OHT_SG_002",
    title: "No ingress from the whole internet (CKV_AWS_24, CKV_AWS_25, CKV_AWS_260, CKV_AWS_277, AWS-0107)",
    resourceTypes: ["aws_security_group", "aws_vpc_security_group_ingress_rule", "aws_security_group_rule"],
    evaluate(r) {
      const rules =
        r.type === "aws_security_group"
          ? blocks(r.body.ingress)
          : r.type === "aws_security_group_rule" && r.body.type !== "ingress"
            ? []
            : [r.body];
      const open = rules.some((rule) =>
        [rule.cidr_ipv4, rule.cidr_ipv6, ...(rule.cidr_blocks ?? []), ...(rule.ipv6_cidr_blocks ?? [])].some((c) => OPEN.has(c)),
      );
      return open ? "ingress from 0.0.0.0/0 or ::/0" : undefined;
    },
  },
  {
    id: "OHT_SG_003",
    title: "No unrestricted egress (CKV_AWS_382, AWS-0104)",
    resourceTypes: ["aws_security_group", "aws_vpc_security_group_egress_rule", "aws_security_group_rule"],
    evaluate(r) {
      const rules =
        r.type === "aws_security_group"
          ? blocks(r.body.egress)
          : r.type === "aws_security_group_rule" && r.body.type !== "egress"
            ? []
            : [r.body];
      const open = rules.some(
        (rule) =>
          String(rule.ip_protocol ?? rule.protocol) === "-1" &&
          [rule.cidr_ipv4, rule.cidr_ipv6, ...(rule.cidr_blocks ?? [])].some((c) => OPEN.has(c)),
      );
      return open ? "all protocols to 0.0.0.0/0" : undefined;
    },
  },
  {
    id: "OHT_SG_004",
    title: "Security groups declare rules as separate resources, not inline blocks (each rule reviewable and described)",
    resourceTypes: ["aws_security_group"],
    evaluate: (r) => (blocks(r.body.ingress).length || blocks(r.body.egress).length ? "inline ingress/egress blocks" : undefined),
  },
];
