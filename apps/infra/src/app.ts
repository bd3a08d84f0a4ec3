import type { App } from "cdktf";
import type { DeploymentConfig } from "./config/schema";
import { NetworkStack } from "./stacks/network-stack";
import { DataStack } from "./stacks/data-stack";
import { ComputeStack } from "./stacks/compute-stack";
import { AuthStack } from "./stacks/auth-stack";
import { EdgeStack } from "./stacks/edge-stack";
import { MonitoringStack } from "./stacks/monitoring-stack";

export interface DeploymentStacks {
  readonly network: NetworkStack;
  readonly data: DataStack;
  readonly compute: ComputeStack;
  readonly auth: AuthStack;
  readonly edge: EdgeStack;
  readonly monitoring: MonitoringStack;
}

/** Builds every stack of a deployment into `app`; cross-stack references become remote-state reads. */
export function buildDeployment(app: App, config: DeploymentConfig): DeploymentStacks {
  const network = new NetworkStack(app, config);
  const data = new DataStack(app, config, { network });
  const compute = new ComputeStack(app, config, { network, data });
  const auth = new AuthStack(app, config);
  const edge = new EdgeStack(app, config, { network, auth, compute });
  const monitoring = new MonitoringStack(app, config, { network, data, compute, edge });
  return { network, data, compute, auth, edge, monitoring };
}
