import { TLS_OPTIONAL_TAG } from "../constructs/data/aurora-database";
import type { PolicySuppression } from "./types";

/**
 * The suite's one list of deliberate exceptions, over all six stacks. `resource` is `<stack>.<type>.<name>`, where `*`
 * matches any run of characters (cdktf appends a hash to every name). Each says why the check does not fit there.
 */
export const SUPPRESSIONS: readonly PolicySuppression[] = [
  {
    checkId: "OHT_S3_007",
    resource: "data.aws_s3_bucket.access-logs_bucket_*",
    justification: "This is the access-log bucket itself: a bucket cannot log to itself, and logging it elsewhere only moves the problem.",
  },
  {
    checkId: "OHT_S3_007",
    resource: "compute.aws_s3_bucket.artifacts_bucket_*",
    justification:
      "Holds only the content-addressed host bundle, rebuilt from the repository on every synth and read by the host role alone; " +
      "there is nothing to audit per request.",
  },
  {
    checkId: "OHT_S3_008",
    resource: "compute.aws_s3_bucket.artifacts_bucket_*",
    justification:
      "Build artifacts only (the host bundle is re-uploaded from cdktf.out by every apply); destroying the compute stack must not " +
      "stall on old bundle versions.",
  },
  {
    checkId: "OHT_ALB_006",
    resource: "compute.aws_lb.*",
    justification:
      "The ALB is stateless and Terraform recreates it identically; deletion protection would block compute replacements and " +
      "destroy, while the data it fronts lives in the protected data stack.",
  },
  {
    checkId: "OHT_ALB_007",
    resource: "compute.aws_lb.*",
    justification:
      "Every request is logged twice already: by the proxy on the host (CloudWatch log group /<name>/<env>/proxy) and, when " +
      "edge.accessLogs is on, by CloudFront; ALB logs would add a third S3 sink.",
  },
  {
    checkId: "OHT_TG_002",
    resource: "compute.aws_lb_target_group.*",
    justification:
      "TLS ends at the internal ALB; the hop to the proxy stays inside the VPC, the host admits only the ALB's group, and the " +
      "proxy trusts nothing but the edge's HMAC-signed identity.",
  },
  {
    checkId: "OHT_EC2_002",
    resource: "compute.aws_launch_template.*",
    justification:
      "Each user's OpenHands app container needs the instance role for S3 events (one network hop past the host); the host " +
      "firewall keeps sandboxes off 169.254.169.254 (packages/bootstrap-scripts README, the firewall).",
  },
  {
    checkId: "OHT_EC2_008",
    resource: "compute.aws_launch_template.*",
    justification:
      "Basic 5-minute EC2 metrics suffice for the host alarms (status checks are 1-minute and free); detailed monitoring would add " +
      "about $2.10 a month per host for no alarm that needs it.",
  },
  {
    checkId: "OHT_SG_003",
    resource: "network.aws_vpc_security_group_egress_rule.security-groups_host-to-anywhere_*",
    justification:
      "The host pulls images, calls Bedrock and AWS APIs, and the agents clone repositories and install packages over arbitrary " +
      "ports through NAT; the host firewall, not the group, narrows what sandboxes reach.",
  },
  {
    checkId: "OHT_RDS_010",
    resource: "data.aws_rds_cluster.*",
    // Only a cluster synthesized for a pair before 1.8.0 carries the tag; from 1.8.0 TLS is forced and the check must pass.
    onlyTagged: TLS_OPTIONAL_TAG,
    justification:
      "OpenHands 1.7 runs its migrations through pg8000 without SSL arguments and reads no SSL setting, so forced TLS stops it; " +
      "the cluster is private, not public, and admits the host's group alone (see AuroraDatabase).",
  },
  {
    checkId: "OHT_IAM_006",
    resource: "data.aws_iam_role_policy_attachment.backup_role-AWSBackupServiceRolePolicyFor*",
    justification:
      "AWS Backup's own service-role policies: AWS maintains them as the service's backup and restore needs change, and the role " +
      "is assumable by backup.amazonaws.com only.",
  },
  {
    checkId: "OHT_LOG_002",
    resource: "*",
    justification:
      "Log groups are encrypted at rest with CloudWatch's own key; a customer key costs $1 a month plus requests, needs the " +
      "account id in its key policy (unknown to an offline plan), and the logs carry no secrets.",
  },
  {
    checkId: "OHT_SNS_001",
    resource: "monitoring.aws_sns_topic.*",
    justification:
      "CloudWatch alarms cannot publish to a topic under the AWS-managed aws/sns key, a customer key would need the account id in " +
      "its policy, and the notifications carry alarm names and metrics only.",
  },
  {
    checkId: "OHT_SEC_003",
    resource: "compute.aws_secretsmanager_secret.*",
    justification:
      "The host generates these keys on first boot; rotating the identity-signing key or the database password key needs the edge, " +
      'proxy and every user database to switch together, which docs/operations.md, "Rotating secrets", describes.',
  },
  {
    checkId: "OHT_CF_011",
    resource: "edge.aws_cloudfront_distribution.*",
    justification:
      "Access logs are opt-in (edge.accessLogs: true delivers them to CloudWatch Logs without query strings or cookies); by " +
      "default WAF's sampled requests and CloudFront's metrics cover a small team at no log cost.",
  },
  {
    checkId: "OHT_WAF_005",
    resource: "edge.aws_wafv2_web_acl.*",
    justification:
      "WAF request logs come with edge.accessLogs: true (cookies, authorization and query strings redacted); by default sampled " +
      "requests and per-rule metrics are kept.",
  },
];
