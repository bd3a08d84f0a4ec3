import { Construct } from "constructs";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { FlowLog } from "@cdktf/provider-aws/lib/flow-log";
import { IamRole } from "@cdktf/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";

export interface VpcFlowLogProps {
  readonly namePrefix: string;
  readonly vpcId: string;
  /** Name of the log group, such as `/openhands/prod/vpc-flow-logs`. */
  readonly logGroupName: string;
  /** Log group retention in days. */
  readonly retentionDays: number;
}

/** VPC flow logs (all traffic, 10-minute aggregation) to a CloudWatch log group through a delivery role scoped to it. */
export class VpcFlowLog extends Construct {
  readonly logGroupName: string;
  readonly flowLogId: string;

  constructor(scope: Construct, id: string, props: VpcFlowLogProps) {
    super(scope, id);
    const logGroup = new CloudwatchLogGroup(this, "log-group", {
      name: props.logGroupName,
      retentionInDays: props.retentionDays,
    });
    const role = new IamRole(this, "delivery-role", {
      name: `${props.namePrefix}-flow-logs`,
      description: "VPC flow logs delivery to its log group",
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "vpc-flow-logs.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
    });
    new IamRolePolicy(this, "delivery-policy", {
      role: role.name,
      name: "write-flow-log-group",
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "WriteFlowLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            Resource: [logGroup.arn, `${logGroup.arn}:*`],
          },
        ],
      }),
    });
    const flowLog = new FlowLog(this, "flow-log", {
      vpcId: props.vpcId,
      trafficType: "ALL",
      logDestinationType: "cloud-watch-logs",
      logDestination: logGroup.arn,
      iamRoleArn: role.arn,
      maxAggregationInterval: 600,
    });
    this.logGroupName = logGroup.name;
    this.flowLogId = flowLog.id;
  }
}
