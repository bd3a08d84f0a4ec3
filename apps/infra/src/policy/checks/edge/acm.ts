import type { PolicyCheck } from "../../types";

/** ACM certificates. */
export const ACM_CHECKS: readonly PolicyCheck[] = [
  {
    id: "OHT_ACM_001",
    title: "Certificates are DNS-validated (renewal needs no one to click an e-mail)",
    resourceTypes: ["aws_acm_certificate"],
    evaluate: (r) => (r.body.validation_method === "DNS" ? undefined : `validation_method is ${String(r.body.validation_method)}`),
  },
];
