import { Construct } from "constructs";
import { CloudwatchLogGroup } from "@cdktf/provider-aws/lib/cloudwatch-log-group";
import { EcsCluster } from "@cdktf/provider-aws/lib/ecs-cluster";
import { EcsClusterCapacityProviders } from "@cdktf/provider-aws/lib/ecs-cluster-capacity-providers";

export interface UserTaskClusterProps {
  /** `<name>-<environment>-users`. */
  readonly clusterName: string;
  /** `/<name>/<environment>/tasks`. */
  readonly logGroupName: string;
  readonly retentionDays: number;
}

/**
 * ECS mode: the cluster users' apps and sandboxes run in, with the Fargate and Fargate Spot capacity providers (default
 * FARGATE; the spawner asks for FARGATE_SPOT for sandboxes), and the one log group of their tasks. The spawner
 * registers the task definitions and runs the tasks; nothing here runs a task.
 */
export class UserTaskCluster extends Construct {
  readonly clusterArn: string;
  readonly clusterName: string;
  readonly logGroupName: string;
  readonly logGroupArn: string;

  constructor(scope: Construct, id: string, props: UserTaskClusterProps) {
    super(scope, id);
    const cluster = new EcsCluster(this, "cluster", { name: props.clusterName });
    new EcsClusterCapacityProviders(this, "capacity-providers", {
      clusterName: cluster.name,
      capacityProviders: ["FARGATE", "FARGATE_SPOT"],
      defaultCapacityProviderStrategy: [{ capacityProvider: "FARGATE", weight: 1, base: 0 }],
    });
    // Created before any task: the awslogs driver does not create groups, and the execution role may not.
    const logs = new CloudwatchLogGroup(this, "task-logs", { name: props.logGroupName, retentionInDays: props.retentionDays });
    this.clusterArn = cluster.arn;
    this.clusterName = cluster.name;
    this.logGroupName = logs.name;
    this.logGroupArn = logs.arn;
  }
}
