import { Construct } from "constructs";
import { TerraformIterator, Token } from "cdktf";
import { AcmCertificate } from "@cdktf/provider-aws/lib/acm-certificate";
import { AcmCertificateValidation } from "@cdktf/provider-aws/lib/acm-certificate-validation";
import { Route53Record } from "@cdktf/provider-aws/lib/route53-record";

export interface DnsValidatedCertificateProps {
  /** The certificate's first name. */
  readonly domainName: string;
  /** Further names, such as a runtime wildcard. @default none */
  readonly subjectAlternativeNames?: readonly string[];
  /** The Route 53 zone that proves each name (every name of the certificate must have one). */
  readonly zoneIdByDomain: Readonly<Record<string, string>>;
  /**
   * `own`: this construct writes the validation records. `shared`: another stack owns them (ACM asks for the same
   * record for a name in every region of an account), and this certificate only waits for its validation: two
   * stacks writing one record means destroying either deletes the record the other needs to renew. @default "own"
   */
  readonly validationRecords?: "own" | "shared";
}

/**
 * An ACM certificate in the stack's region (us-east-1 for CloudFront and Cognito), DNS-validated with one
 * record per name in that name's zone, or, for names whose records another stack owns (`validationRecords:
 * "shared"`), waiting on those records. ACM uses the same validation record for a name in every region of an
 * account; exactly one stack writes it.
 */
export class DnsValidatedCertificate extends Construct {
  /** ARN of the issued certificate: referencing it waits for validation. */
  readonly certificateArn: string;
  readonly names: readonly string[];

  constructor(scope: Construct, id: string, props: DnsValidatedCertificateProps) {
    super(scope, id);
    this.names = [props.domainName, ...(props.subjectAlternativeNames ?? [])];
    const unzoned = this.names.filter((name) => !props.zoneIdByDomain[name]);
    if (unzoned.length > 0) {
      throw new Error(
        `DnsValidatedCertificate ${id}: no Route 53 zone for ${unzoned.join(", ")} (every name needs the zone that proves it)`,
      );
    }
    const certificate = new AcmCertificate(this, "certificate", {
      domainName: props.domainName,
      subjectAlternativeNames: props.subjectAlternativeNames ? [...props.subjectAlternativeNames] : undefined,
      validationMethod: "DNS",
      keyAlgorithm: "RSA_2048",
      lifecycle: { createBeforeDestroy: true },
    });
    if (props.validationRecords === "shared") {
      this.certificateArn = new AcmCertificateValidation(this, "validation-wait", { certificateArn: certificate.arn }).certificateArn;
      return;
    }
    // One record per name, keyed by the name: the keys are known when planning (the validation values are not),
    // so a plan works before the certificate exists.
    const address = `${certificate.terraformResourceType}.${certificate.friendlyUniqueId}`;
    const option = (attribute: string) =>
      Token.asString(`\${{ for o in ${address}.domain_validation_options : o.domain_name => o.${attribute} }[each.key]}`);
    const zone = TerraformIterator.fromMap(Object.fromEntries(this.names.map((name) => [name, props.zoneIdByDomain[name]!])));
    const records = new Route53Record(this, "validation", {
      forEach: zone,
      zoneId: zone.value,
      name: option("resource_record_name"),
      type: option("resource_record_type"),
      records: [option("resource_record_value")],
      ttl: 300,
      allowOverwrite: true,
    });
    const validation = new AcmCertificateValidation(this, "validation-wait", {
      certificateArn: certificate.arn,
      dependsOn: [records],
    });
    this.certificateArn = validation.certificateArn;
  }
}
