import type { Construct } from "constructs";
import { S3Bucket } from "@cdktf/provider-aws/lib/s3-bucket";
import type { DeploymentConfig } from "../config/schema";
import { DeploymentStack } from "./deployment-stack";

/** Main region: the stateful resources, apart from compute so a compute change never plans a replacement here. */
export class DataStack extends DeploymentStack {
  readonly eventsBucketName: string;
  readonly eventsBucketArn: string;

  constructor(scope: Construct, config: DeploymentConfig) {
    super(scope, "data", { config, region: config.region });
    const events = new S3Bucket(this, "events", { bucketPrefix: `${this.names.prefix}-events-` });
    this.eventsBucketName = events.bucket;
    this.eventsBucketArn = events.arn;
  }
}
