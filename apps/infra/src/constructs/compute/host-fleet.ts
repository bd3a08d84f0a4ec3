import { Construct } from "constructs";
import { Fn, TerraformLocal } from "cdktf";
import { AutoscalingGroup } from "@cdktf/provider-aws/lib/autoscaling-group";
import { AutoscalingSchedule } from "@cdktf/provider-aws/lib/autoscaling-schedule";
import { LaunchTemplate } from "@cdktf/provider-aws/lib/launch-template";

/** AL2023 arm64, resolved by EC2 at launch from AWS's public SSM parameter (no AMI lookup at plan time). */
export const AL2023_ARM64_AMI = "resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64";
/** Seconds from launch to the first ELB health check that counts: boot, packages, image pulls, compose up. */
export const HEALTH_CHECK_GRACE_SECONDS = 900;
/** Device name of the Docker data volume; the host bundle formats and mounts it at /var/lib/docker. */
export const DOCKER_VOLUME_DEVICE = "/dev/xvdb";

export interface OfficeHours {
  /** IANA time zone. */
  readonly timeZone: string;
  /** Cron expression (minute hour day-of-month month day-of-week) when the host starts. */
  readonly start: string;
  /** Cron expression when the host stops. */
  readonly stop: string;
}

export interface HostFleetProps {
  readonly namePrefix: string;
  /** A Graviton instance type. */
  readonly instanceType: string;
  readonly minSize: number;
  readonly maxSize: number;
  readonly rootVolumeGiB: number;
  readonly dockerVolumeGiB: number;
  readonly subnetIds: readonly string[];
  readonly securityGroupId: string;
  readonly instanceProfileArn: string;
  /** Cloud-config text (may hold Terraform expressions); gzipped and base64-encoded here. */
  readonly userData: string;
  readonly targetGroupArn: string;
  /** Stop the host outside these hours. @default always on */
  readonly officeHours?: OfficeHours;
}

/**
 * The host: a launch template (Graviton, AL2023 arm64, IMDSv2 only, encrypted gp3 volumes, user data from
 * packages/bootstrap-scripts) and an Auto Scaling group that replaces a host failing the ALB health check.
 *
 * IMDS hop limit 2: each user's OpenHands app container needs the instance role for S3 (one network hop more
 * than the host); the host firewall keeps sandboxes off 169.254.169.254 (packages/bootstrap-scripts README, the firewall).
 *
 * Instance refresh: a new launch template version (new bundle, new settings) replaces the host, terminating
 * the old one first. Two hosts at once would run the same users twice against the same EFS directories and
 * databases, so the refresh accepts a short outage instead (min healthy 0 %, max healthy 100 %).
 */
export class HostFleet extends Construct {
  readonly launchTemplateId: string;
  readonly launchTemplateLatestVersion: number;
  readonly autoScalingGroupName: string;
  readonly autoScalingGroupArn: string;

  constructor(scope: Construct, id: string, props: HostFleetProps) {
    super(scope, id);
    const tags = { Name: `${props.namePrefix}-host` };
    // A local holds the cloud-config text: as a function argument, its quotes would need escaping by hand.
    const userData = new TerraformLocal(this, "user-data", props.userData);
    const template = new LaunchTemplate(this, "template", {
      name: `${props.namePrefix}-host`,
      description: "OpenHands host",
      imageId: AL2023_ARM64_AMI,
      instanceType: props.instanceType,
      updateDefaultVersion: true,
      iamInstanceProfile: { arn: props.instanceProfileArn },
      vpcSecurityGroupIds: [props.securityGroupId],
      userData: Fn.base64gzip(userData.asString),
      ebsOptimized: "true",
      monitoring: { enabled: false },
      // Credential theft through SSRF: IMDSv1's unauthenticated GETs are refused (tokens required).
      metadataOptions: {
        httpEndpoint: "enabled",
        httpTokens: "required",
        httpPutResponseHopLimit: 2,
        instanceMetadataTags: "disabled",
      },
      // Data exposure from a detached or snapshotted volume: every volume is encrypted.
      blockDeviceMappings: [
        {
          deviceName: "/dev/xvda",
          ebs: { volumeType: "gp3", volumeSize: props.rootVolumeGiB, encrypted: "true", deleteOnTermination: "true" },
        },
        {
          deviceName: DOCKER_VOLUME_DEVICE,
          ebs: { volumeType: "gp3", volumeSize: props.dockerVolumeGiB, encrypted: "true", deleteOnTermination: "true" },
        },
      ],
      tagSpecifications: [
        { resourceType: "instance", tags },
        { resourceType: "volume", tags },
      ],
    });
    const group = new AutoscalingGroup(this, "group", {
      name: `${props.namePrefix}-host`,
      minSize: props.minSize,
      maxSize: props.maxSize,
      desiredCapacity: props.minSize === 0 ? 1 : props.minSize,
      vpcZoneIdentifier: [...props.subnetIds],
      launchTemplate: { id: template.id, version: Fn.tostring(template.latestVersion) },
      targetGroupArns: [props.targetGroupArn],
      healthCheckType: "ELB",
      healthCheckGracePeriod: HEALTH_CHECK_GRACE_SECONDS,
      defaultInstanceWarmup: HEALTH_CHECK_GRACE_SECONDS,
      terminationPolicies: ["OldestLaunchTemplate", "OldestInstance"],
      enabledMetrics: ["GroupInServiceInstances", "GroupDesiredCapacity", "GroupTerminatingInstances", "GroupPendingInstances"],
      instanceRefresh: {
        strategy: "Rolling",
        preferences: { minHealthyPercentage: 0, maxHealthyPercentage: 100, instanceWarmup: String(HEALTH_CHECK_GRACE_SECONDS) },
      },
      tag: [{ key: "Name", value: `${props.namePrefix}-host`, propagateAtLaunch: true }],
      // The office-hours schedule moves these; Terraform must not move them back at the next apply.
      lifecycle: props.officeHours ? { ignoreChanges: ["desired_capacity", "min_size"] } : { ignoreChanges: ["desired_capacity"] },
    });
    if (props.officeHours) {
      new AutoscalingSchedule(this, "office-hours-start", {
        scheduledActionName: `${props.namePrefix}-start`,
        autoscalingGroupName: group.name,
        recurrence: props.officeHours.start,
        timeZone: props.officeHours.timeZone,
        minSize: props.minSize,
        maxSize: props.maxSize,
        desiredCapacity: Math.max(props.minSize, 1),
      });
      new AutoscalingSchedule(this, "office-hours-stop", {
        scheduledActionName: `${props.namePrefix}-stop`,
        autoscalingGroupName: group.name,
        recurrence: props.officeHours.stop,
        timeZone: props.officeHours.timeZone,
        minSize: 0,
        maxSize: props.maxSize,
        desiredCapacity: 0,
      });
    }
    this.launchTemplateId = template.id;
    this.launchTemplateLatestVersion = template.latestVersion;
    this.autoScalingGroupName = group.name;
    this.autoScalingGroupArn = group.arn;
  }
}
