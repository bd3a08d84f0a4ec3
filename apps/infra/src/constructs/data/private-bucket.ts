import { Construct } from "constructs";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketLoggingA as S3BucketLogging } from "@cdktf/provider-aws/lib/s3-bucket-logging";
import { S3BucketOwnershipControls } from "@cdktf/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktf/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktf/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { S3BucketVersioningA as S3BucketVersioning } from "@cdktf/provider-aws/lib/s3-bucket-versioning";

/** An extra bucket-policy statement (for example a service principal that writes logs). */
export type BucketPolicyStatement = Record<string, unknown>;

export interface PrivateBucketProps {
  /** Bucket name prefix; AWS appends a unique suffix. */
  readonly bucketPrefix: string;
  /** Days a replaced or deleted object version is kept before it expires. @default 90 */
  readonly noncurrentVersionDays?: number;
  /** Days after which current objects expire (log buckets). @default never */
  readonly expireAfterDays?: number;
  /** Allow `terraform destroy` to empty the bucket: only for rebuildable content. @default false */
  readonly forceDestroy?: boolean;
  /** Forbid destroying the bucket at all (Terraform `prevent_destroy`): for data. @default false */
  readonly preventDestroy?: boolean;
  /** Statements added to the TLS-only bucket policy, given the bucket's ARN. @default none */
  readonly extraPolicyStatements?: (bucketArn: string) => readonly BucketPolicyStatement[];
}

/**
 * An S3 bucket that cannot become public: all four public-access blocks, ACLs disabled (bucket owner
 * enforced), SSE-S3 encryption with bucket keys, versioning, a policy that refuses plain HTTP and TLS
 * below 1.2, noncurrent versions expiring, and incomplete multipart uploads aborted after a week.
 */
export class PrivateBucket extends Construct {
  readonly bucketName: string;
  readonly bucketArn: string;
  readonly bucketDomainName: string;
  /** The underlying bucket, for dependencies. */
  readonly bucket: S3Bucket;
  private readonly logPrefix: string;

  constructor(scope: Construct, id: string, props: PrivateBucketProps) {
    super(scope, id);
    const bucket = new S3Bucket(this, "bucket", {
      bucketPrefix: props.bucketPrefix,
      forceDestroy: props.forceDestroy ?? false,
      lifecycle: props.preventDestroy ? { preventDestroy: true } : undefined,
    });
    // Accidental exposure: no ACL, no bucket policy and no access point may ever make objects public.
    const publicAccess = new S3BucketPublicAccessBlock(this, "public-access", {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    // ACL-based grants (to other accounts or everyone): ACLs are disabled altogether.
    new S3BucketOwnershipControls(this, "ownership", {
      bucket: bucket.id,
      rule: { objectOwnership: "BucketOwnerEnforced" },
    });
    new S3BucketServerSideEncryptionConfigurationA(this, "encryption", {
      bucket: bucket.id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }],
    });
    const versioning = new S3BucketVersioning(this, "versioning", {
      bucket: bucket.id,
      versioningConfiguration: { status: "Enabled" },
    });
    // Eavesdropping and downgrade: requests over plain HTTP or TLS older than 1.2 are refused.
    new S3BucketPolicy(this, "policy", {
      bucket: bucket.id,
      dependsOn: [publicAccess],
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [bucket.arn, `${bucket.arn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
          {
            Sid: "DenyOldTls",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [bucket.arn, `${bucket.arn}/*`],
            Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } },
          },
          ...(props.extraPolicyStatements?.(bucket.arn) ?? []),
        ],
      }),
    });
    new S3BucketLifecycleConfiguration(this, "lifecycle", {
      bucket: bucket.id,
      dependsOn: [versioning],
      rule: [
        {
          id: "expire-noncurrent-versions",
          status: "Enabled",
          filter: [{ prefix: "" }],
          noncurrentVersionExpiration: [{ noncurrentDays: props.noncurrentVersionDays ?? 90 }],
          abortIncompleteMultipartUpload: [{ daysAfterInitiation: 7 }],
          ...(props.expireAfterDays ? { expiration: [{ days: props.expireAfterDays }] } : {}),
        },
      ],
    });
    this.bucket = bucket;
    this.logPrefix = props.bucketPrefix.replace(/-$/, "");
    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.bucketDomainName = bucket.bucketRegionalDomainName;
  }

  /** Sends this bucket's server access logs to `target` under `<bucket prefix>/`. */
  sendAccessLogsTo(target: PrivateBucket): void {
    new S3BucketLogging(this, "access-logs", {
      bucket: this.bucket.id,
      targetBucket: target.bucketName,
      targetPrefix: `${this.logPrefix}/`,
    });
  }
}
