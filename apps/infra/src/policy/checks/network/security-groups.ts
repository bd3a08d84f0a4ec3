import type { PolicyCheck } from "../../types";
import { blocks, referenced } from "../../graph";

/** Groups of users' tasks (ECS mode), by the suffix of their names: only the host's group may open them. */
const TASK_GROUP = /-(apps|sandboxes)$/;
/** The host's group, by the suffix of its name. */
const HOST_GROUP = /-host$/;

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
    id: "OHT_SG_005",
    title: "The groups of users' app and sandbox tasks admit the host's group and nothing else (cross-user access, edge bypass)",
    resourceTypes: ["aws_security_group", "aws_vpc_security_group_ingress_rule", "aws_security_group_rule"],
    evaluate(r) {
      if (r.type === "aws_security_group") {
        return TASK_GROUP.test(String(r.body.name ?? "")) && blocks(r.body.ingress).length
          ? `${String(r.body.name)} has inline ingress (expected only rules from the host's group)`
          : undefined;
      }
      if (r.type === "aws_security_group_rule" && r.body.type !== "ingress") return undefined;
      const target = referenced(r, r.body.security_group_id, "aws_security_group");
      if (!target || !TASK_GROUP.test(String(target.name ?? ""))) return undefined;
      const sourceRef = r.body.referenced_security_group_id ?? r.body.source_security_group_id;
      const source = referenced(r, sourceRef, "aws_security_group");
      const other = [r.body.cidr_ipv4, r.body.cidr_ipv6, r.body.prefix_list_id, ...(r.body.cidr_blocks ?? [])].filter(Boolean);
      if (other.length) return `${String(target.name)} admits ${other.join(", ")} (expected only the host's group)`;
      if (source && HOST_GROUP.test(String(source.name ?? ""))) return undefined;
      const what = source ? String(source.name) : String(sourceRef ?? "an unknown source");
      return `${String(target.name)} admits ${what} (expected only the host's group)`;
    },
  },
  {
    id: "OHT_SG_004",
    title: "Security groups declare rules as separate resources, not inline blocks (each rule reviewable and described)",
    resourceTypes: ["aws_security_group"],
    evaluate: (r) => (blocks(r.body.ingress).length || blocks(r.body.egress).length ? "inline ingress/egress blocks" : undefined),
  },
];
