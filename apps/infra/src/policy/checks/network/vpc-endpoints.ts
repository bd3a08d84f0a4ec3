import type { PolicyCheck } from "../../types";
import { isTrue, strings } from "../../graph";

/** VPC endpoints. */
export const VPC_ENDPOINT_CHECKS: readonly PolicyCheck[] = [
  {
    id: "OHT_VPCE_001",
    title: "Interface endpoints use private DNS and a security group",
    resourceTypes: ["aws_vpc_endpoint"],
    evaluate(r) {
      if (r.body.vpc_endpoint_type !== "Interface") return undefined;
      if (!isTrue(r.body.private_dns_enabled)) return "private_dns_enabled is not true (clients would still resolve the public endpoint)";
      return (r.body.security_group_ids ?? []).length ? undefined : "no security group";
    },
  },
  {
    id: "OHT_VPCE_002",
    title: "Gateway endpoints are associated with route tables (without them no traffic uses the endpoint)",
    resourceTypes: ["aws_vpc_endpoint"],
    evaluate(r) {
      if (r.body.vpc_endpoint_type !== "Gateway") return undefined;
      return strings(r.body.route_table_ids).length ? undefined : "no route_table_ids: the endpoint carries no traffic";
    },
  },
];
