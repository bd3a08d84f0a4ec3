import type { PolicyCheck } from "../../types";
import { isTrue } from "../../graph";

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
];
