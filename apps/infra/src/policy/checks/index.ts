/**
 * The policy suite's checks, by domain; one file per service. Every check runs over every stack
 * (src/policy/index.ts), and a check that does not fit a resource is suppressed in src/policy/suppressions.ts.
 */
import type { PolicyCheck } from "../types";
import { AUTOSCALING_CHECKS } from "./compute/autoscaling";
import { EC2_CHECKS } from "./compute/ec2";
import { LOAD_BALANCING_CHECKS } from "./compute/load-balancing";
import { BACKUP_CHECKS } from "./data/backup";
import { EFS_CHECKS } from "./data/efs";
import { RDS_CHECKS } from "./data/rds";
import { S3_CHECKS } from "./data/s3";
import { ACM_CHECKS } from "./edge/acm";
import { CLOUDFRONT_CHECKS } from "./edge/cloudfront";
import { LAMBDA_EDGE_CHECKS } from "./edge/lambda-edge";
import { WAF_CHECKS } from "./edge/waf";
import { COGNITO_CHECKS } from "./identity/cognito";
import { IAM_CHECKS } from "./identity/iam";
import { SECRET_CHECKS } from "./identity/secrets";
import { SECURITY_GROUP_CHECKS } from "./network/security-groups";
import { VPC_ENDPOINT_CHECKS } from "./network/vpc-endpoints";
import { ALARM_CHECKS } from "./observability/alarms";
import { LOG_CHECKS } from "./observability/logs";

export const CHECK_DOMAINS = ["network", "data", "compute", "edge", "identity", "observability"] as const;
export type CheckDomain = (typeof CHECK_DOMAINS)[number];

/** Checks by the domain of the services they look at. */
export const CHECKS_BY_DOMAIN: Readonly<Record<CheckDomain, readonly PolicyCheck[]>> = {
  network: [...SECURITY_GROUP_CHECKS, ...VPC_ENDPOINT_CHECKS],
  data: [...S3_CHECKS, ...EFS_CHECKS, ...BACKUP_CHECKS, ...RDS_CHECKS],
  compute: [...EC2_CHECKS, ...AUTOSCALING_CHECKS, ...LOAD_BALANCING_CHECKS],
  edge: [...CLOUDFRONT_CHECKS, ...WAF_CHECKS, ...LAMBDA_EDGE_CHECKS, ...ACM_CHECKS],
  identity: [...IAM_CHECKS, ...COGNITO_CHECKS, ...SECRET_CHECKS],
  observability: [...LOG_CHECKS, ...ALARM_CHECKS],
};

/** Every check of the suite. */
export const ALL_CHECKS: readonly PolicyCheck[] = CHECK_DOMAINS.flatMap((domain) => CHECKS_BY_DOMAIN[domain]);
