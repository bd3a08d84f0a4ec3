/** Each stack tells the person who applied it, under plain names, what they need to find the deployment. */
import { STACK_IDS } from "../../src/config/names";
import { exampleConfig, Template, withEveryOption, type Json } from "../support/template";

const plainOutputs = (template: Template, stack: (typeof STACK_IDS)[number]): Record<string, Json> =>
  Object.fromEntries(
    Object.entries((template.stack(stack).output ?? {}) as Record<string, Json>).filter(([name]) => !name.startsWith("cross-stack-")),
  );

describe("GIVEN the example deployment", () => {
  const template = Template.synth();

  it.each([
    ["network", ["security_group_ids"]],
    ["data", ["backup_vault", "database_cluster", "database_log_group", "events_bucket"]],
    ["compute", ["auto_scaling_group", "host_config_parameter", "log_groups"]],
    ["auth", ["login_url", "user_pool_id"]],
    ["edge", ["app_url", "distribution_ids", "log_groups", "runtime_domain"]],
    ["monitoring", ["alarm_topics", "dashboard_url"]],
  ] as const)("THEN the %s stack outputs %j, each described", (stack, names) => {
    const outputs = plainOutputs(template, stack);
    expect(Object.keys(outputs).sort()).toEqual([...names]);
    for (const output of Object.values(outputs)) expect(String(output.description).length).toBeGreaterThan(10);
  });

  it("THEN the app URL, the runtime domain, the login URL and the dashboard URL read as a person expects", () => {
    expect(plainOutputs(template, "edge").app_url!.value).toBe("https://openhands.example.com");
    expect(plainOutputs(template, "edge").runtime_domain!.value).toBe("runtime.example.com");
    expect(plainOutputs(template, "auth").login_url!.value).toBe("https://openhands-example-login.auth.us-east-1.amazoncognito.com");
    expect(plainOutputs(template, "monitoring").dashboard_url!.value).toMatch(
      new RegExp(
        [
          String.raw`^https:\/\/eu-central-1\.console\.aws\.amazon\.com\/cloudwatch\/home\?region=eu-central-1`,
          String.raw`#dashboards:name=\$\{aws_cloudwatch_dashboard\.[^.]+\.dashboard_name\}$`,
        ].join(""),
      ),
    );
  });

  it("THEN the log groups are named, the host's and the edge function's", () => {
    expect(Object.keys(plainOutputs(template, "compute").log_groups!.value as Json).sort()).toEqual(["apps", "host", "proxy", "spawner"]);
    expect(plainOutputs(template, "edge").log_groups!.value).toEqual({
      edgeFunction: template.ref(
        "edge",
        "aws_cloudwatch_log_group",
        "name",
        (g) => g.name === "/aws/lambda/us-east-1.openhands-prod-edge-viewer-request",
      ),
    });
    expect(plainOutputs(template, "data").database_log_group!.value).toMatch(/^\$\{aws_cloudwatch_log_group\.[^.]+\.name\}$/);
  });

  it("THEN no output carries a secret (only names, ids, URLs)", () => {
    for (const stack of STACK_IDS) {
      const text = JSON.stringify(plainOutputs(template, stack));
      expect(text).not.toMatch(/secret_string|master_user_secret|value_wo|password|client_secret/i);
      for (const output of Object.values(plainOutputs(template, stack))) expect(output.sensitive).toBeUndefined();
    }
  });
});

describe("GIVEN every option", () => {
  const template = Template.synth(exampleConfig(withEveryOption));

  it("THEN the flow log, CloudFront and WAF log groups are output too", () => {
    expect(plainOutputs(template, "network").flow_log_group).toBeDefined();
    const group = (name: string) => template.ref("edge", "aws_cloudwatch_log_group", "name", (g) => g.name === name);
    expect(plainOutputs(template, "edge").log_groups!.value).toEqual({
      edgeFunction: group("/aws/lambda/us-east-1.openhands-prod-edge-viewer-request"),
      cloudFront: "/openhands/prod/cloudfront",
      waf: group("aws-waf-logs-openhands-prod-edge"),
    });
  });
});
