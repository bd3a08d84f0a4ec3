import { Construct } from "constructs";
import { Route53Zone } from "@cdktf/provider-aws/lib/route53-zone";
import type { PolicyStatement } from "../identity/host-role";

export interface SandboxZoneProps {
  /** The sandbox domain, `sandboxes.<name>-<environment>.internal`. */
  readonly domain: string;
  /** The VPC whose resolver answers for the zone (the tasks' and the host's). */
  readonly vpcId: string;
  readonly vpcRegion: string;
}

/** The one record the host writes: every sandbox name (`<p>-<slug>.<domain>` and the names derived from it). */
export const SANDBOX_RECORD_TYPE = "A";
/** The one change the host may make to it: UPSERT (never DELETE, never a CREATE of something else). */
export const SANDBOX_RECORD_ACTION = "UPSERT";

/**
 * `*.<domain>` as Route 53 writes it in `route53:ChangeResourceRecordSetsNormalizedRecordNames`: lower case, no trailing
 * dot, and every character other than a-z, 0-9, `-`, `_` and `.` as a backslash and three octal digits, so the `*` of the
 * wildcard label is `\052` (Route 53 Developer Guide, "Using IAM policy conditions for fine-grained access control",
 * section "Normalizing the Route 53 condition key values",
 * https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/specifying-rrset-conditions.html).
 */
export const normalizedWildcardName = (domain: string) => `\\052.${domain.toLowerCase().replace(/\.$/, "")}`;

/**
 * ECS mode: the Route 53 private hosted zone of the sandbox domain, associated with the VPC, so the names the users' apps
 * are told (`http://<route port>-<slug>.<sandbox domain>`) resolve inside the VPC only. Its one record, `*.<domain>` A
 * <host private address>, is the host's to write at boot (the address changes when the Auto Scaling group replaces the
 * host), so Terraform does not manage it, and `force_destroy` lets a destroy remove the zone with that record in it.
 */
export class SandboxZone extends Construct {
  readonly zoneId: string;
  readonly zoneArn: string;
  readonly domain: string;

  constructor(scope: Construct, id: string, props: SandboxZoneProps) {
    super(scope, id);
    const zone = new Route53Zone(this, "zone", {
      name: props.domain,
      comment: "Sandbox names of users' apps; the host writes the wildcard record at boot",
      vpc: [{ vpcId: props.vpcId, vpcRegion: props.vpcRegion }],
      forceDestroy: true,
    });
    this.zoneId = zone.zoneId;
    this.zoneArn = zone.arn;
    this.domain = props.domain;
  }

  /**
   * The host role's one Route 53 permission. DNS hijacking: with ChangeResourceRecordSets unconditioned the host could
   * repoint any name of any zone in the account (the app's public records included); here it may only UPSERT the A record
   * `*.<domain>` in this zone. The keys are multivalued (one value per change in the batch), so ForAllValues holds every
   * change to the pinned values, and the Null conditions refuse a request that carries none of them.
   */
  hostRecordStatement(): PolicyStatement {
    return {
      Sid: "SandboxZoneHostRecord",
      Effect: "Allow",
      Action: "route53:ChangeResourceRecordSets",
      Resource: this.zoneArn,
      Condition: {
        "ForAllValues:StringEquals": {
          "route53:ChangeResourceRecordSetsNormalizedRecordNames": [normalizedWildcardName(this.domain)],
          "route53:ChangeResourceRecordSetsRecordTypes": [SANDBOX_RECORD_TYPE],
          "route53:ChangeResourceRecordSetsActions": [SANDBOX_RECORD_ACTION],
        },
        Null: {
          "route53:ChangeResourceRecordSetsNormalizedRecordNames": "false",
          "route53:ChangeResourceRecordSetsRecordTypes": "false",
          "route53:ChangeResourceRecordSetsActions": "false",
        },
      },
    };
  }
}
