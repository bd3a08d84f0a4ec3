import { HOST_METRIC_NAMESPACES } from "../../src/constructs/identity/host-role";
import { exampleConfig, synthDeployment, type Json } from "../support/template";

describe("GIVEN the example configuration", () => {
  const synth = synthDeployment();
  const all = Object.values(synth.resources("monitoring", "aws_cloudwatch_metric_alarm"));
  const alarms = all.filter((a) => a.provider !== "aws.us_east_1");
  const alarm = (name: string): Json => alarms.find((a) => a.alarm_name === `openhands-prod-${name}`)!;

  it("THEN the edge alarms live in us-east-1 on both distributions and the web ACL, notifying the us-east-1 topic", () => {
    const edge = all.filter((a) => a.provider === "aws.us_east_1");
    expect(edge.map((a) => a.alarm_name).sort()).toEqual([
      "openhands-prod-cloudfront-app-5xx-rate",
      "openhands-prod-cloudfront-runtime-5xx-rate",
      "openhands-prod-waf-blocked-burst",
    ]);
    for (const a of edge) expect(a.alarm_actions).toEqual([expect.stringContaining("aws_sns_topic.edge-alarms")]);
    const app = edge.find((a) => a.alarm_name.endsWith("app-5xx-rate"))!;
    expect(app).toEqual(expect.objectContaining({ namespace: "AWS/CloudFront", metric_name: "5xxErrorRate", threshold: 5 }));
    expect(app.dimensions).toEqual({ DistributionId: expect.stringContaining("cross-stack-reference-input-edge"), Region: "Global" });
    const waf = edge.find((a) => a.alarm_name.endsWith("waf-blocked-burst"))!;
    expect(waf.dimensions).toEqual({ WebACL: expect.stringMatching(/edge/), Rule: "ALL" });
  });

  it("THEN the main-region alarms cover the host, the ALB, Aurora, EFS and a person's monthly LLM spend", () => {
    expect(alarms.map((a) => a.alarm_name.replace("openhands-prod-", "")).sort()).toEqual([
      "alb-5xx",
      "database-capacity",
      "database-connections",
      "docker-volume",
      "efs-io-limit",
      "host-cpu",
      "host-memory",
      "host-status-check",
      "llm-monthly-spend",
      "target-5xx",
      "unhealthy-host",
    ]);
  });

  it("THEN memory pressure and a filling Docker volume alarm from the CloudWatch agent's metrics of the host's group", () => {
    expect(alarm("host-memory")).toEqual(
      expect.objectContaining({
        namespace: "CWAgent",
        metric_name: "mem_used_percent",
        threshold: 90,
        comparison_operator: "GreaterThanThreshold",
      }),
    );
    expect(Object.keys(alarm("host-memory").dimensions)).toEqual(["AutoScalingGroupName"]);
    expect(alarm("docker-volume")).toEqual(
      expect.objectContaining({ namespace: "CWAgent", metric_name: "disk_used_percent", threshold: 85 }),
    );
    expect(alarm("docker-volume").dimensions).toEqual({
      AutoScalingGroupName: expect.stringContaining("cross-stack-reference-input-compute"),
      path: "/var/lib/docker",
    });
  });

  it("THEN every alarm notifies the alarm topic when it fires and when it recovers, and missing data is not an incident", () => {
    for (const a of alarms) {
      expect(a.alarm_actions).toEqual([expect.stringContaining("aws_sns_topic.alarms")]);
      expect(a.ok_actions).toEqual(a.alarm_actions);
      expect(a.treat_missing_data).toBe("notBreaching");
    }
  });

  it("THEN the unhealthy-host alarm watches the host's target group on the ALB", () => {
    const a = alarm("unhealthy-host");
    expect(a).toEqual(expect.objectContaining({ namespace: "AWS/ApplicationELB", metric_name: "UnHealthyHostCount", threshold: 1 }));
    expect(a.dimensions.LoadBalancer).toContain("cross-stack-reference-input-compute");
    expect(a.dimensions.TargetGroup).toContain("arn_suffix");
  });

  it("THEN the ALB 5xx alarms count the load balancer's and the targets' errors", () => {
    expect(alarm("alb-5xx").metric_name).toBe("HTTPCode_ELB_5XX_Count");
    expect(alarm("target-5xx").metric_name).toBe("HTTPCode_Target_5XX_Count");
  });

  it("THEN the Aurora alarms fire at 90 % of the ACU ceiling and 80 % of its connection limit", () => {
    expect(alarm("database-capacity")).toEqual(expect.objectContaining({ metric_name: "ServerlessDatabaseCapacity", threshold: 3.6 }));
    expect(alarm("database-connections")).toEqual(expect.objectContaining({ metric_name: "DatabaseConnections", threshold: 720 }));
    expect(alarm("database-capacity").dimensions.DBClusterIdentifier).toContain("cross-stack-reference-input-data");
  });

  it("THEN the EFS alarm watches the I/O limit of the workspaces file system", () => {
    expect(alarm("efs-io-limit")).toEqual(expect.objectContaining({ namespace: "AWS/EFS", metric_name: "PercentIOLimit", threshold: 95 }));
  });

  it("THEN a dashboard shows traffic, hosts, database, file system and the alarms", () => {
    const dashboard = Object.values(synth.resources("monitoring", "aws_cloudwatch_dashboard"))[0]!;
    expect(dashboard.dashboard_name).toBe("openhands-prod-overview");
    const body = JSON.parse(dashboard.dashboard_body) as Json;
    expect(body.widgets.map((w: Json) => w.properties.title)).toEqual([
      "Requests and errors (ALB)",
      "Response time p90 (s)",
      "Healthy and unhealthy hosts",
      "Host CPU (%)",
      "Aurora capacity (ACU) and connections",
      "EFS I/O (%) and throughput",
      "CloudFront requests",
      "CloudFront 5xx rate (%)",
      "People and sandboxes running (spawner)",
      "Starts, culls, refusals, failures (spawner)",
      "LLM spend per person (USD, LiteLLM's estimate; user = slug, `pnpm users list --json`)",
      "Alarms",
    ]);
    expect(body.widgets[11].properties.alarms).toHaveLength(11);
    expect(body.widgets[6].properties.region).toBe("us-east-1");
    expect(body.widgets[6].properties.metrics).toHaveLength(2);
    // the spawner's figures, as the host's watchdog publishes them, in a namespace the host role may write
    expect(body.widgets[8].properties.metrics).toEqual(
      ["RunningApps", "StartingApps", "RunningSandboxes"].map((name) => ["OpenHandsTeam", name, "Deployment", "openhands-prod"]),
    );
    expect(body.widgets[9].properties.metrics.map((m: string[]) => m[1])).toEqual(["Starts", "Culls", "Refusals", "Failures"]);
    expect(HOST_METRIC_NAMESPACES).toContain(body.widgets[8].properties.metrics[0][0]);
  });

  it("THEN the LLM gateway's usage records in the host log group give the spend per person and the monthly spend alarm", () => {
    const dashboard = Object.values(synth.resources("monitoring", "aws_cloudwatch_dashboard"))[0]!;
    const table = (JSON.parse(dashboard.dashboard_body) as Json).widgets[10];
    expect(table.type).toBe("log");
    expect(table.properties.query).toMatch(
      /^SOURCE '\$\{.*\}' \| filter event = "llm_usage" \| stats sum\(cost_usd\) as spend_usd, .* by user \| sort spend_usd desc$/,
    );
    const filters = Object.values(synth.resources("monitoring", "aws_cloudwatch_log_metric_filter"));
    expect(filters.map((f) => f.pattern).sort()).toEqual([
      '{ $.event = "llm_spend_alert" }',
      '{ $.event = "llm_usage" && $.cost_usd = * }',
    ]);
    for (const f of filters) expect(f.log_group_name).toContain("cross-stack-reference-input-compute");
    const spend = alarm("llm-monthly-spend");
    expect(spend).toEqual(
      expect.objectContaining({ namespace: "OpenHandsTeam/openhands-prod", metric_name: "LlmSpendAlerts", threshold: 1, statistic: "Sum" }),
    );
    expect(filters.find((f) => f.pattern.includes("llm_spend_alert"))!.metric_transformation).toEqual(
      expect.objectContaining({ namespace: spend.namespace, name: spend.metric_name, value: "1" }),
    );
  });

  it("THEN there is no e-mail subscription without an address", () => {
    expect(synth.resources("monitoring", "aws_sns_topic_subscription")).toEqual({});
  });
});

describe("GIVEN an alarm e-mail address", () => {
  const synth = synthDeployment(exampleConfig((raw) => (raw.monitoring.alarmEmail = "ops@example.com")));

  it("THEN both alarm topics (main region and us-east-1) mail it", () => {
    const subscriptions = Object.values(synth.resources("monitoring", "aws_sns_topic_subscription"));
    expect(subscriptions.map((s) => [s.protocol, s.endpoint, s.provider ?? "default"])).toEqual([
      ["email", "ops@example.com", "default"],
      ["email", "ops@example.com", "aws.us_east_1"],
    ]);
  });
});
