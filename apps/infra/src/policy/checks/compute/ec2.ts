import type { PolicyCheck } from "../../types";
import { blocks, isTrue } from "../../graph";

/** Patterns of secret material that must never sit in user data. */
const SECRET_IN_TEXT: readonly [RegExp, string][] = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a private key"],
  [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/, "an AWS access key id"],
  [/(password|passwd|secret|token|api[_-]?key)\s*[=:]\s*["']?[A-Za-z0-9/+_=-]{8,}/i, "a credential assignment"],
];

/** The user data text: a literal, or the local it reads through `base64gzip(local.x)`. */
function userDataText(body: Record<string, any>, stackJson: Record<string, any>): string {
  const raw = String(body.user_data ?? "");
  const local = /local\.([A-Za-z0-9_-]+)/.exec(raw)?.[1];
  return local !== undefined ? String(stackJson.locals?.[local] ?? "") : raw;
}

/** Launch templates: IMDSv2, encrypted gp3 volumes, no public IP, no secret in user data. */
export const EC2_CHECKS: readonly PolicyCheck[] = [
  {
    id: "OHT_EC2_001",
    title: "Launch template requires IMDSv2 tokens (CKV_AWS_79, AWS-0130)",
    resourceTypes: ["aws_launch_template"],
    evaluate(r) {
      const options = blocks(r.body.metadata_options)[0];
      return options?.http_tokens === "required" ? undefined : `http_tokens is ${options?.http_tokens ?? "optional (default)"}`;
    },
  },
  {
    id: "OHT_EC2_002",
    title: "Launch template keeps the IMDS hop limit at 1 (CKV_AWS_341)",
    resourceTypes: ["aws_launch_template"],
    evaluate(r) {
      const hops = Number(blocks(r.body.metadata_options)[0]?.http_put_response_hop_limit ?? 1);
      return hops <= 1 ? undefined : `http_put_response_hop_limit is ${hops}: containers one hop away reach the instance role`;
    },
  },
  {
    id: "OHT_EC2_003",
    title: "Launch template encrypts every EBS volume (CKV_AWS_8, AWS-0131)",
    resourceTypes: ["aws_launch_template"],
    evaluate(r) {
      const devices = blocks(r.body.block_device_mappings);
      if (!devices.length) return "no block_device_mappings: the AMI's defaults decide encryption";
      const plain = devices.filter((d) => !isTrue(blocks(d.ebs)[0]?.encrypted)).map((d) => d.device_name);
      return plain.length ? `unencrypted volumes ${plain.join(", ")}` : undefined;
    },
  },
  {
    id: "OHT_EC2_004",
    title: "Launch template volumes are gp3",
    resourceTypes: ["aws_launch_template"],
    evaluate(r) {
      const other = blocks(r.body.block_device_mappings)
        .filter((d) => blocks(d.ebs)[0]?.volume_type !== "gp3")
        .map((d) => d.device_name);
      return other.length ? `volumes ${other.join(", ")} are not gp3` : undefined;
    },
  },
  {
    id: "OHT_EC2_005",
    title: "Launch template assigns no public IP (CKV_AWS_88, AWS-0009)",
    resourceTypes: ["aws_launch_template"],
    evaluate(r) {
      const publicNic = blocks(r.body.network_interfaces).find((n) => isTrue(n.associate_public_ip_address));
      return publicNic ? "a network interface associates a public IP" : undefined;
    },
  },
  {
    id: "OHT_EC2_006",
    title: "Launch template user data holds no secret (CKV_AWS_46, AWS-0129)",
    resourceTypes: ["aws_launch_template"],
    evaluate(r) {
      const text = userDataText(r.body, r.stackJson);
      const found = SECRET_IN_TEXT.find(([pattern]) => pattern.test(text));
      return found ? `user data contains ${found[1]}` : undefined;
    },
  },
  {
    id: "OHT_EC2_007",
    title: "Launch template attaches an instance profile (CKV2_AWS_41)",
    resourceTypes: ["aws_launch_template"],
    evaluate(r) {
      const profile = blocks(r.body.iam_instance_profile)[0];
      return profile?.arn || profile?.name ? undefined : "no iam_instance_profile";
    },
  },
  {
    id: "OHT_EC2_008",
    title: "Launch template enables detailed monitoring (CKV_AWS_126)",
    resourceTypes: ["aws_launch_template"],
    evaluate(r) {
      return isTrue(blocks(r.body.monitoring)[0]?.enabled) ? undefined : "detailed monitoring is off";
    },
  },
];
