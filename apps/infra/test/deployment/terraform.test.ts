/**
 * Real `terraform validate` and offline `terraform plan` of every synthesized stack, against the AWS provider
 * mirror of the machine. Plan runs on a copy with a local backend, dummy credentials and local stand-ins
 * for the remote-state reads (see support/terraform.ts); no request reaches AWS.
 */
import { STACK_IDS } from "../../src/config/names";
import { findTerraformTools, planStack, validateStack, type TerraformTools } from "../support/terraform";
import { synthDeployment } from "../support/template";
import { join } from "node:path";

const tools = findTerraformTools();
const missing = "missing" in tools ? tools.missing : undefined;
if (missing) {
  // A skip must be loud: this is the only test that runs Terraform itself.
  console.warn(
    `\n!!! SKIPPING terraform validate/plan: ${missing}.\n!!! Install terraform 1.11 and the hashicorp/aws 5.100.0 mirror (see ` +
      `README) to run them.\n`,
  );
}
const describeTf = missing ? describe.skip : describe;

describeTf("GIVEN the example deployment synthesized", () => {
  const synth = synthDeployment();
  const tf = tools as TerraformTools;

  it.each([...STACK_IDS])("THEN stack %s passes terraform validate", (id) => {
    const result = validateStack(tf, join(synth.stacksDir, id));
    expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it.each([...STACK_IDS])("THEN stack %s plans offline", (id) => {
    const plan = planStack(tf, synth.stacksDir, id);
    expect(plan).toMatch(/Plan: [1-9]\d* to add, 0 to change, 0 to destroy\./);
  });
});
