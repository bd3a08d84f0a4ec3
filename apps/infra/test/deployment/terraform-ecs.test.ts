/**
 * `terraform validate` and offline `terraform plan` of the ECS-mode example (config/example-ecs.yaml), against the AWS
 * provider mirror (see support/terraform.ts; nothing reaches AWS). Only the stacks ECS mode changes are run (network,
 * data, compute); auth, edge and monitoring are the docker example's, which test/deployment/terraform.test.ts covers.
 * `terraform plan` validates the configuration before planning, so the three plans also validate their stacks; the
 * separate `terraform validate` runs on compute only, the stack with most of ECS mode, to keep this file near a minute.
 */
import { join } from "node:path";
import { ecsExampleConfig, Template } from "../support/template";
import { findTerraformTools, planStack, validateStack, type TerraformTools } from "../support/terraform";

const tools = findTerraformTools();
const missing = "missing" in tools ? tools.missing : undefined;
if (missing) console.warn(`\n!!! SKIPPING terraform validate/plan of ECS mode: ${missing}.\n`);
const describeTf = missing ? describe.skip : describe;

describeTf("GIVEN the ECS-mode example synthesized", () => {
  const synth = Template.synth(ecsExampleConfig());
  const tf = tools as TerraformTools;

  it.each(["compute"])("THEN stack %s passes terraform validate", (id) => {
    const result = validateStack(tf, join(synth.stacksDir, id));
    expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it.each([
    ["network", ["aws_security_group.task-security-groups_apps", "aws_security_group.task-security-groups_sandboxes"]],
    ["data", ["aws_efs_access_point.workspaces_host-access-point", "aws_efs_file_system_policy.workspaces_policy"]],
    [
      "compute",
      [
        "aws_ecs_cluster.user-tasks_cluster",
        "aws_ecs_cluster_capacity_providers.user-tasks_capacity-providers",
        "aws_iam_policy.task-roles_app-boundary",
        "aws_iam_policy.task-roles_sandbox-boundary",
        "aws_iam_role.task-roles_execution-role",
        "aws_route53_zone.sandbox-zone",
      ],
    ],
  ])("THEN stack %s plans offline, with the resources of ECS mode", (id, expected) => {
    const plan = planStack(tf, synth.stacksDir, id);
    expect(plan).toMatch(/Plan: [1-9]\d* to add, 0 to change, 0 to destroy\./);
    for (const address of expected) expect(plan).toMatch(new RegExp(`# ${address.replace(/\./g, "\\.")}_[0-9A-F]{8} will be created`));
  });
});
