/**
 * Dated on-demand prices used by the estimate (AWS price list files and pricing pages as of 2026-11;
 * the newest sources read 2026-09).
 * Every price is us-east-1's: no dated source for another region's prices was read. Prices differ between
 * regions (often by 10-20 % in Europe and Asia), so the estimate marks each figure priced for a region the
 * table does not hold, instead of passing us-east-1's off as that region's. Add a region only from its
 * offer file (`https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/<offer>/current/<region>/index.json`),
 * with the file's publication date.
 * Confidence: V = verified against an AWS price file or Infracost golden test, 3P = third-party page
 * quoting AWS, K = AWS list price not re-verified in the notes, EST = derived.
 */
export const PRICE_TABLE_DATE = "2026-11";
export const PRICE_TABLE_REGION = "us-east-1";
/** Regions whose prices the table holds. */
export const PRICED_REGIONS: readonly string[] = [PRICE_TABLE_REGION];

/** What each confidence marker of the estimate means (printed as its legend). */
export const CONFIDENCE_LEGEND: Readonly<Record<Price["confidence"], string>> = {
  V: "verified against an AWS price list file or an Infracost golden test",
  "3P": "a dated third-party page quoting AWS",
  K: "an AWS list price, not re-verified",
  EST: "derived from a usage assumption (listed below)",
};

export interface Price {
  readonly usd: number;
  readonly unit: string;
  readonly confidence: "V" | "3P" | "K" | "EST";
  readonly source: string;
}

export const HOURS_PER_MONTH = 730;

/** On-demand $/hour by EC2 instance type. */
export const EC2_HOURLY: Readonly<Record<string, Price>> = {
  "m7g.large": { usd: 0.0816, unit: "hour", confidence: "V", source: "AWS price list AmazonEC2 us-east-1, 2026-09-25" },
  "m7g.xlarge": { usd: 0.1632, unit: "hour", confidence: "V", source: "AWS price list AmazonEC2 us-east-1, 2026-09-25" },
  "m7g.2xlarge": { usd: 0.3264, unit: "hour", confidence: "V", source: "AWS price list AmazonEC2 us-east-1, 2026-09-25" },
  "t4g.medium": { usd: 0.0336, unit: "hour", confidence: "K", source: "AWS list price" },
  "t4g.large": { usd: 0.0672, unit: "hour", confidence: "3P", source: "public price tables" },
  "t4g.xlarge": { usd: 0.1344, unit: "hour", confidence: "K", source: "AWS list price" },
  "c7g.large": { usd: 0.0725, unit: "hour", confidence: "K", source: "AWS list price" },
  "c7g.xlarge": { usd: 0.145, unit: "hour", confidence: "3P", source: "public price tables" },
  "c7g.2xlarge": { usd: 0.29, unit: "hour", confidence: "K", source: "AWS list price" },
  "m6g.xlarge": { usd: 0.154, unit: "hour", confidence: "3P", source: "public price tables" },
  // Not in the research notes: m7g sizes are priced linearly there ("xlarge = 2 x large", verified), so 4 x xlarge.
  "m7g.4xlarge": { usd: 0.6528, unit: "hour", confidence: "EST", source: "4 x m7g.xlarge (m7g prices are linear in size)" },
};

/**
 * Fargate (Linux, us-east-1). None of these is in the research notes (/work/shared/reference has no Fargate price);
 * they are the on-demand rates of the AWS Fargate pricing page, https://aws.amazon.com/fargate/pricing/, as quoted
 * with that page as their source by vantage.sh ("AWS Fargate Pricing Explained") and fortem.dev ("verified June 2026").
 * Fargate Spot has no fixed price (the page's "Current Spot price" table moves with supply and demand, 50-70 % below
 * on-demand per AWS). It runs ARM64 tasks on platform version 1.4.0 or later (Amazon ECS API Reference,
 * CapacityProviderStrategyItem: "FARGATE_SPOT supports Linux tasks with the ARM64 architecture on platform version 1.4.0
 * or later"; older copies of the Developer Guide still say X86_64 only), so sandboxes on Spot are priced at the ARM64
 * rate less an assumed discount.
 */
export const FARGATE_PRICES = {
  armVcpuHour: { usd: 0.03238, unit: "vCPU-hour (ARM64)", confidence: "3P", source: "https://aws.amazon.com/fargate/pricing/" },
  armGbHour: { usd: 0.00356, unit: "GB-hour (ARM64)", confidence: "3P", source: "https://aws.amazon.com/fargate/pricing/" },
} satisfies Record<string, Price>;

/** Fargate Spot's discount on the on-demand rates assumed by the estimate: the low end of AWS's 50-70 %. */
export const FARGATE_SPOT_DISCOUNT = 0.5;

export const PRICES = {
  ebsGp3: { usd: 0.08, unit: "GB-month", confidence: "V", source: "Infracost golden ebs_volume_test" },
  albHour: { usd: 0.0225, unit: "hour", confidence: "V", source: "Infracost golden lb_test" },
  albLcuHour: { usd: 0.008, unit: "LCU-hour", confidence: "V", source: "Infracost golden lb_test" },
  interfaceEndpointHour: { usd: 0.01, unit: "endpoint-AZ-hour", confidence: "V", source: "Infracost golden vpc_endpoint_test" },
  publicIpv4Hour: { usd: 0.005, unit: "address-hour", confidence: "V", source: "AWS Networking blog, Feb 2024" },
  natHour: { usd: 0.045, unit: "hour", confidence: "V", source: "Infracost golden nat_gateway_test" },
  natGb: { usd: 0.045, unit: "GB processed", confidence: "V", source: "Infracost golden nat_gateway_test" },
  auroraAcuHour: { usd: 0.12, unit: "ACU-hour", confidence: "V", source: "Infracost golden rds_cluster_instance_test" },
  auroraStorage: { usd: 0.1, unit: "GB-month", confidence: "V", source: "Infracost golden" },
  auroraIoMillion: { usd: 0.2, unit: "1M requests", confidence: "V", source: "Infracost golden" },
  efsStandard: { usd: 0.3, unit: "GB-month", confidence: "V", source: "Infracost golden efs_file_system_test" },
  s3Standard: { usd: 0.023, unit: "GB-month", confidence: "V", source: "Infracost golden s3_bucket_test" },
  secret: { usd: 0.4, unit: "secret-month", confidence: "V", source: "Infracost golden" },
  logsIngestGb: { usd: 0.5, unit: "GB ingested", confidence: "V", source: "Infracost golden cloudwatch_log_group_test" },
  alarm: { usd: 0.1, unit: "alarm-month", confidence: "K", source: "AWS list price, standard resolution" },
  dashboard: { usd: 3, unit: "dashboard-month", confidence: "K", source: "AWS list price, beyond 3 free" },
  wafAcl: { usd: 5, unit: "web ACL-month", confidence: "V", source: "Infracost golden wafv2_web_acl_test" },
  wafRule: { usd: 1, unit: "rule-month", confidence: "V", source: "Infracost golden wafv2_web_acl_test" },
  wafRequestsMillion: { usd: 0.6, unit: "1M requests", confidence: "V", source: "Infracost golden wafv2_web_acl_test" },
  lambdaEdgePerFunction: {
    usd: 1.83,
    unit: "2M viewer requests at 128 MB, 50 ms",
    confidence: "EST",
    source: "research notes, section 1.4",
  },
  cloudFront: {
    usd: 0,
    unit: "month within the free tier (1 TB, 10M requests)",
    confidence: "V",
    source: "CloudFront pricing page, 2026-09",
  },
  cognito: { usd: 0, unit: "month up to 10,000 MAU (Essentials)", confidence: "V", source: "Cognito pricing, 2026-09" },
  route53Queries: { usd: 0.4, unit: "1M queries", confidence: "K", source: "AWS list price" },
} satisfies Record<string, Price>;

/** The reference deployment's monthly cost, as its README states it (before Bedrock tokens). */
export const REFERENCE_MONTHLY = { low: 375, high: 420 } as const;
