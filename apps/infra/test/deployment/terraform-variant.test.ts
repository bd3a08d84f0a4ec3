/**
 * `terraform validate` of the optional edge resources the example leaves out (custom login domain and its
 * certificate, a separate runtime zone, the WAF allow list and logging, CloudFront access logs), against the
 * AWS provider mirror. test/terraform.test.ts validates and plans the example itself.
 */
import { join } from "node:path";
import { exampleConfig, synthDeployment } from "../support/template";
import { findTerraformTools, validateStack, type TerraformTools } from "../support/terraform";

const tools = findTerraformTools();
const missing = "missing" in tools ? tools.missing : undefined;
if (missing) console.warn(`\n!!! SKIPPING terraform validate of the edge variants: ${missing}.\n`);
const describeTf = missing ? describe.skip : describe;

describeTf("GIVEN every optional edge feature turned on", () => {
  const synth = synthDeployment(
    exampleConfig((raw) => {
      raw.cognito.customDomain = "login.example.com";
      raw.domain.runtime = { domain: "example-sandbox.net", hostedZoneId: "Z0987654321ABCDEFGHIJ" };
      Object.assign(raw.edge, { accessLogs: true, allowedCidrs: ["203.0.113.0/24", "2001:db8::/32"] });
    }),
  );

  it.each(["auth", "edge"])("THEN stack %s passes terraform validate", (id) => {
    const result = validateStack(tools as TerraformTools, join(synth.stacksDir, id));
    expect(result.diagnostics).toEqual([]);
    expect(result.valid).toBe(true);
  });
});
