import { Construct } from "constructs";
import { CloudfrontVpcOrigin } from "@cdktf/provider-aws/lib/cloudfront-vpc-origin";

export interface AlbVpcOriginProps {
  /** Name of the VPC origin. */
  readonly name: string;
  /** ARN of the internal ALB (main region). */
  readonly albArn: string;
  /** Its DNS name: the origin's domain name in the distributions. */
  readonly albDnsName: string;
}

/**
 * A CloudFront VPC origin for the internal ALB: CloudFront reaches the ALB through its own network interfaces
 * in the VPC, so the ALB has no public address and no shared secret header to guess. HTTPS only, TLS 1.2;
 * WebSockets pass since May 2026.
 */
export class AlbVpcOrigin extends Construct {
  readonly vpcOriginId: string;
  readonly vpcOriginArn: string;
  readonly domainName: string;

  constructor(scope: Construct, id: string, props: AlbVpcOriginProps) {
    super(scope, id);
    const origin = new CloudfrontVpcOrigin(this, "origin", {
      vpcOriginEndpointConfig: [
        {
          name: props.name,
          arn: props.albArn,
          httpPort: 80,
          httpsPort: 443,
          // Encrypted inside the VPC too: nothing on the path sees cookies or identity headers in clear.
          originProtocolPolicy: "https-only",
          originSslProtocols: [{ items: ["TLSv1.2"], quantity: 1 }],
        },
      ],
      // Creating a VPC origin deploys network interfaces and takes up to about 15 minutes.
      timeouts: { create: "30m", update: "30m", delete: "30m" },
    });
    this.vpcOriginId = origin.id;
    this.vpcOriginArn = origin.arn;
    this.domainName = props.albDnsName;
  }
}
