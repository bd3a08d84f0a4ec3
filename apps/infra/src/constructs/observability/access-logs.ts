import { Construct } from "constructs";
import { CloudwatchLogDelivery } from "@cdktf/provider-aws/lib/cloudwatch-log-delivery";
import { CloudwatchLogDeliveryDestination } from "@cdktf/provider-aws/lib/cloudwatch-log-delivery-destination";
import { CloudwatchLogDeliverySource } from "@cdktf/provider-aws/lib/cloudwatch-log-delivery-source";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";

/**
 * The fields of each access log record. Left out on purpose: the query string (runtime URLs can carry session
 * keys), cookies and the referrer (which can hold either).
 */
export const ACCESS_LOG_FIELDS = [
  "date",
  "time",
  "x-edge-location",
  "c-ip",
  "cs-method",
  "x-host-header",
  "cs-uri-stem",
  "sc-status",
  "sc-bytes",
  "cs-bytes",
  "time-taken",
  "time-to-first-byte",
  "x-edge-result-type",
  "x-edge-detailed-result-type",
  "x-edge-request-id",
  "cs-protocol",
  "cs-protocol-version",
  "ssl-protocol",
  "cs(User-Agent)",
  "sc-content-type",
] as const;

export interface DistributionAccessLogsProps {
  /** Log group name, such as /openhands/prod/cloudfront. */
  readonly logGroupName: string;
  /** @default 30 */
  readonly retentionDays?: number;
  /** Distributions to log, by a short name each (part of the delivery source name). */
  readonly distributions: Readonly<Record<string, string>>;
  /** Prefix of the delivery names. */
  readonly namePrefix: string;
}

/**
 * CloudFront standard access logs (v2) into a CloudWatch log group in us-east-1: no S3 bucket with ACLs, a
 * retention like every other log, and only the fields above.
 */
export class DistributionAccessLogs extends Construct {
  readonly logGroupName: string;

  constructor(scope: Construct, id: string, props: DistributionAccessLogsProps) {
    super(scope, id);
    const group = new CloudwatchLogGroup(this, "log-group", { name: props.logGroupName, retentionInDays: props.retentionDays ?? 30 });
    const destination = new CloudwatchLogDeliveryDestination(this, "destination", {
      name: `${props.namePrefix}-cloudfront`,
      outputFormat: "json",
      deliveryDestinationConfiguration: [{ destinationResourceArn: group.arn }],
    });
    for (const [name, arn] of Object.entries(props.distributions)) {
      const source = new CloudwatchLogDeliverySource(this, `${name}-source`, {
        name: `${props.namePrefix}-${name}`,
        logType: "ACCESS_LOGS",
        resourceArn: arn,
      });
      new CloudwatchLogDelivery(this, `${name}-delivery`, {
        deliverySourceName: source.name,
        deliveryDestinationArn: destination.arn,
        recordFields: [...ACCESS_LOG_FIELDS],
      });
    }
    this.logGroupName = props.logGroupName;
  }
}
