import type { PolicyCheck } from "../../types";
import { blocks, companions, isTrue, parsePolicy } from "../../graph";

const BUCKET = ["aws_s3_bucket"];

/** S3 buckets: private, encrypted, versioned, TLS only, logged. */
export const S3_CHECKS: readonly PolicyCheck[] = [
  {
    id: "OHT_S3_001",
    title: "S3 bucket blocks every form of public access (checkov CKV_AWS_53-56, CKV2_AWS_6; trivy AWS-0086/0087/0091/0093)",
    resourceTypes: BUCKET,
    evaluate(r) {
      const block = companions(r, "aws_s3_bucket_public_access_block", "bucket")[0];
      if (!block) return "no aws_s3_bucket_public_access_block for the bucket";
      const off = ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"].filter(
        (k) => !isTrue(block[k]),
      );
      return off.length ? `public access block leaves ${off.join(", ")} off` : undefined;
    },
  },
  {
    id: "OHT_S3_002",
    title: "S3 bucket disables ACLs with BucketOwnerEnforced (CKV2_AWS_65)",
    resourceTypes: BUCKET,
    evaluate(r) {
      const owner = companions(r, "aws_s3_bucket_ownership_controls", "bucket")[0];
      const setting = blocks(owner?.rule)[0]?.object_ownership;
      return setting === "BucketOwnerEnforced" ? undefined : `object ownership is ${setting ?? "not set"} (expected BucketOwnerEnforced)`;
    },
  },
  {
    id: "OHT_S3_003",
    title: "S3 bucket has default server-side encryption configured (CKV_AWS_19, AWS-0088)",
    resourceTypes: BUCKET,
    evaluate(r) {
      const sse = companions(r, "aws_s3_bucket_server_side_encryption_configuration", "bucket")[0];
      const algorithm = blocks(sse?.rule).map((rule) => blocks(rule.apply_server_side_encryption_by_default)[0]?.sse_algorithm)[0];
      return algorithm === "AES256" || algorithm === "aws:kms" || algorithm === "aws:kms:dsse"
        ? undefined
        : "no default encryption configuration";
    },
  },
  {
    id: "OHT_S3_004",
    title: "S3 bucket versioning is enabled (CKV_AWS_21, AWS-0090)",
    resourceTypes: BUCKET,
    evaluate(r) {
      const versioning = companions(r, "aws_s3_bucket_versioning", "bucket")[0];
      const status = blocks(versioning?.versioning_configuration)[0]?.status;
      return status === "Enabled" ? undefined : `versioning is ${status ?? "not configured"}`;
    },
  },
  {
    id: "OHT_S3_005",
    title: "S3 bucket policy denies requests without TLS (CKV_AWS_379, cdk-nag S10)",
    resourceTypes: BUCKET,
    evaluate(r) {
      const denies = companions(r, "aws_s3_bucket_policy", "bucket")
        .flatMap((p) => (parsePolicy(p.policy)?.Statement ?? []) as any[])
        .filter((s) => s.Effect === "Deny" && s.Condition?.Bool?.["aws:SecureTransport"] === "false");
      return denies.length ? undefined : "no bucket policy statement denies aws:SecureTransport = false";
    },
  },
  {
    id: "OHT_S3_006",
    title: "S3 bucket lifecycle expires noncurrent versions and aborts incomplete uploads (CKV2_AWS_61, CKV_AWS_300)",
    resourceTypes: BUCKET,
    evaluate(r) {
      const rules = companions(r, "aws_s3_bucket_lifecycle_configuration", "bucket")
        .flatMap((c) => blocks(c.rule))
        .filter((rule) => rule.status === "Enabled");
      if (!rules.some((rule) => blocks(rule.noncurrent_version_expiration).length)) return "no enabled rule expires noncurrent versions";
      if (!rules.some((rule) => blocks(rule.abort_incomplete_multipart_upload).length))
        return "no enabled rule aborts incomplete multipart uploads";
      return undefined;
    },
  },
  {
    id: "OHT_S3_007",
    title: "S3 bucket has server access logging (CKV_AWS_18, AWS-0089)",
    resourceTypes: BUCKET,
    evaluate(r) {
      return companions(r, "aws_s3_bucket_logging", "bucket").length ? undefined : "no aws_s3_bucket_logging for the bucket";
    },
  },
  {
    id: "OHT_S3_008",
    title: "S3 bucket cannot be emptied by terraform destroy (force_destroy off)",
    resourceTypes: BUCKET,
    evaluate(r) {
      return isTrue(r.body.force_destroy) ? "force_destroy is on: destroy deletes every object" : undefined;
    },
  },
];
