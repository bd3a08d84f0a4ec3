/**
 * Offline `terraform plan` of the main-region stacks with every optional resource switched on (flow logs,
 * interface endpoints, the VPC-origin group, office hours, alarm e-mail, a separate runtime domain): the
 * example deployment's plan (test/terraform.test.ts) never creates these.
 */
import { exampleConfig, synthDeployment, withEveryOption } from "../support/template";
import { findTerraformTools, planStack, type TerraformTools } from "../support/terraform";

const tools = findTerraformTools();
const missing = "missing" in tools ? tools.missing : undefined;
if (missing) console.warn(`\n!!! SKIPPING the optional-resource plans: ${missing}.\n`);
const describeTf = missing ? describe.skip : describe;

describeTf("GIVEN every optional main-region resource switched on", () => {
  const synth = synthDeployment(
    exampleConfig((raw) => {
      withEveryOption(raw);
      raw.domain.runtime = { domain: "oh-runtime.net", hostedZoneId: "Z0987654321ABCDEFGHIJ" };
    }),
  );

  it.each([
    ["network", 24],
    ["compute", 30],
    ["monitoring", 13],
  ])("THEN stack %s plans offline with at least %i resources", (id, atLeast) => {
    const plan = planStack(tools as TerraformTools, synth.stacksDir, id);
    const added = Number(/Plan: (\d+) to add, 0 to change, 0 to destroy\./.exec(plan)?.[1] ?? 0);
    expect(added).toBeGreaterThanOrEqual(atLeast);
  });
});
