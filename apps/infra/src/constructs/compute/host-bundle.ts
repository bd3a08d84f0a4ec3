import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Construct } from "constructs";
import { AssetType, TerraformAsset } from "cdktf";
import { S3Object } from "@cdktf/provider-aws/lib/s3-object";
import { deterministicZip, sha256Hex } from "./deterministic-zip";

export interface HostBundleProps {
  /** Folder of the built host bundle (`HOST_BUNDLE_DIR` of @openhands-team/bootstrap-scripts). */
  readonly bundleDir: string;
  /** Artifacts bucket (name). */
  readonly bucketName: string;
  /** Artifacts bucket (ARN). */
  readonly bucketArn: string;
  /** Key prefix in the bucket. @default "host-bundle/" */
  readonly keyPrefix?: string;
}

/**
 * The host bundle as a zip in the artifacts bucket under a content-addressed key
 * (`host-bundle/<sha256>.zip`): a new bundle is a new key and a new user data, so a new launch template
 * version, which starts an instance refresh; an unchanged bundle changes nothing.
 */
export class HostBundle extends Construct {
  /** Hex SHA-256 of the zip, checked by the user data before anything runs. */
  readonly sha256: string;
  readonly key: string;
  readonly s3Uri: string;
  /** ARN of the object, for the host's read permission. */
  readonly objectArn: string;

  constructor(scope: Construct, id: string, props: HostBundleProps) {
    super(scope, id);
    if (!existsSync(join(props.bundleDir, "install.sh"))) {
      throw new Error(
        `the host bundle ${props.bundleDir} has no install.sh: build @openhands-team/bootstrap-scripts first (pnpm exec turbo run ` +
          `build --filter=@openhands-team/infra...)`,
      );
    }
    const zip = deterministicZip(props.bundleDir);
    this.sha256 = sha256Hex(zip);
    const staging = join(tmpdir(), "openhands-team-host-bundle");
    mkdirSync(staging, { recursive: true });
    const file = join(staging, `${this.sha256}.zip`);
    writeFileSync(file, zip);
    const asset = new TerraformAsset(this, "archive", { path: file, type: AssetType.FILE, assetHash: this.sha256 });
    this.key = `${props.keyPrefix ?? "host-bundle/"}${this.sha256}.zip`;
    const object = new S3Object(this, "object", {
      bucket: props.bucketName,
      key: this.key,
      source: asset.path,
      sourceHash: this.sha256,
      contentType: "application/zip",
    });
    this.s3Uri = `s3://${object.bucket}/${object.key}`;
    this.objectArn = `${props.bucketArn}/${this.key}`;
  }
}
