import { Construct } from "constructs";
import { Route53Record } from "@cdktf/provider-aws/lib/route53-record";

export interface AliasRecordsProps {
  /** Zone that holds `name`. */
  readonly zoneId: string;
  /** Record name, such as openhands.example.com or *.runtime.example.com. */
  readonly name: string;
  /** Domain name of the target (a CloudFront distribution). */
  readonly targetDomainName: string;
  /** Hosted zone id of the target. */
  readonly targetZoneId: string;
  /** Publish the AAAA record too (the target serves IPv6). @default true */
  readonly ipv6?: boolean;
}

/** Alias records A and (when the target serves IPv6) AAAA for one name: IPv4 and IPv6 viewers reach the same target. */
export class AliasRecords extends Construct {
  readonly fqdns: readonly string[];

  constructor(scope: Construct, id: string, props: AliasRecordsProps) {
    super(scope, id);
    const types = props.ipv6 === false ? (["A"] as const) : (["A", "AAAA"] as const);
    this.fqdns = types.map(
      (type) =>
        new Route53Record(this, type.toLowerCase(), {
          zoneId: props.zoneId,
          name: props.name,
          type,
          alias: { name: props.targetDomainName, zoneId: props.targetZoneId, evaluateTargetHealth: false },
        }).fqdn,
    );
  }
}
