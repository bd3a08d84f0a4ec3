import { Construct } from "constructs";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { HOST_LOG_GROUPS, type HostLogGroupKey } from "../../config/names";

export interface HostLogGroupsProps {
  /** Name of each log group, `/<name>/<environment>/<service>`. */
  readonly logGroupName: (key: HostLogGroupKey) => string;
  readonly retentionDays: number;
}

/**
 * The host's log groups, created before the host boots: Docker's awslogs driver and the CloudWatch agent do
 * not create groups (and the host role may not), so a missing group would lose the first boot's logs.
 */
export class HostLogGroups extends Construct {
  readonly names: Readonly<Record<HostLogGroupKey, string>>;
  readonly arns: Readonly<Record<HostLogGroupKey, string>>;

  constructor(scope: Construct, id: string, props: HostLogGroupsProps) {
    super(scope, id);
    const names = {} as Record<HostLogGroupKey, string>;
    const arns = {} as Record<HostLogGroupKey, string>;
    for (const key of HOST_LOG_GROUPS) {
      const group = new CloudwatchLogGroup(this, key, { name: props.logGroupName(key), retentionInDays: props.retentionDays });
      names[key] = group.name;
      arns[key] = group.arn;
    }
    this.names = names;
    this.arns = arns;
  }
}
