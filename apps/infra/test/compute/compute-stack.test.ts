import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { exampleConfig, synthDeployment, type Json } from "../support/template";
import { only, named } from "../support/template";

describe("GIVEN the example configuration", () => {
  const synth = synthDeployment();
  const compute = synth.stack("compute");

  describe("WHEN looking at the internal ALB", () => {
    const alb = only(synth, "compute", "aws_lb");
    const listener = only(synth, "compute", "aws_lb_listener");
    const targets = only(synth, "compute", "aws_lb_target_group");

    it("THEN it is internal, in the private subnets, behind the ALB security group", () => {
      expect(alb.internal).toBe(true);
      expect(alb.load_balancer_type).toBe("application");
      expect(alb.subnets).toEqual(["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]);
      expect(alb.security_groups).toEqual([expect.stringContaining("security-groups_alb_")]);
    });

    it("THEN it drops invalid headers, mitigates desync strictly and keeps WebSockets open for an hour", () => {
      expect(alb.drop_invalid_header_fields).toBe(true);
      expect(alb.desync_mitigation_mode).toBe("strictest");
      expect(alb.idle_timeout).toBe(3600);
    });

    it("THEN its only listener is HTTPS with a TLS 1.3/1.2 policy and the validated regional certificate", () => {
      expect(Object.keys(synth.resources("compute", "aws_lb_listener"))).toHaveLength(1);
      expect(listener).toEqual(
        expect.objectContaining({ port: 443, protocol: "HTTPS", ssl_policy: "ELBSecurityPolicy-TLS13-1-2-2021-06" }),
      );
      expect(listener.certificate_arn).toContain("aws_acm_certificate_validation.");
      expect(listener.default_action).toEqual([expect.objectContaining({ type: "forward" })]);
    });

    it("THEN the target group checks GET /_oh/health on the proxy port and expects 200", () => {
      expect(targets).toEqual(expect.objectContaining({ port: 8080, protocol: "HTTP", target_type: "instance" }));
      expect(targets.health_check).toEqual(
        expect.objectContaining({ enabled: true, path: "/_oh/health", matcher: "200", port: "traffic-port" }),
      );
    });

    it("THEN the certificate covers the app host and the runtime wildcard, DNS-validated in the apex zone", () => {
      const cert = only(synth, "compute", "aws_acm_certificate");
      expect(cert).toEqual(
        expect.objectContaining({
          domain_name: "openhands.example.com",
          subject_alternative_names: ["*.runtime.example.com"],
          validation_method: "DNS",
        }),
      );
      expect(cert.lifecycle).toEqual({ create_before_destroy: true });
      const records = only(synth, "compute", "aws_route53_record");
      expect(records.for_each).toBe('${toset(["openhands.example.com", "*.runtime.example.com"])}');
      expect(records.zone_id).toContain('"openhands.example.com" = "Z0123456789ABCDEFGHIJ"');
      expect(records.name).toMatch(/domain_validation_options : option\.domain_name => option \}\[each\.key\]\.resource_record_name\}$/);
    });
  });

  describe("WHEN looking at the launch template", () => {
    const template = only(synth, "compute", "aws_launch_template");

    it("THEN it runs the configured Graviton type on AL2023 arm64 from AWS's public SSM parameter", () => {
      expect(template.instance_type).toBe("m7g.xlarge");
      expect(template.image_id).toBe("resolve:ssm:/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64");
    });

    it("THEN it requires IMDSv2 with hop limit 2 (the app containers' S3 access; sandboxes are firewalled)", () => {
      expect(template.metadata_options).toEqual({
        http_endpoint: "enabled",
        http_tokens: "required",
        http_put_response_hop_limit: 2,
        instance_metadata_tags: "disabled",
      });
    });

    it("THEN both volumes are encrypted gp3 of the configured sizes", () => {
      expect(template.block_device_mappings).toEqual([
        { device_name: "/dev/xvda", ebs: expect.objectContaining({ volume_type: "gp3", encrypted: "true", volume_size: 30 }) },
        { device_name: "/dev/xvdb", ebs: expect.objectContaining({ volume_type: "gp3", encrypted: "true", volume_size: 100 }) },
      ]);
    });

    it("THEN the instance profile and the host security group are attached, with no public address", () => {
      expect(template.iam_instance_profile.arn).toContain("aws_iam_instance_profile.");
      expect(template.vpc_security_group_ids).toEqual([expect.stringContaining("security-groups_host_")]);
      expect(template.network_interfaces).toBeUndefined();
    });

    it("THEN the user data is the bootstrap package's cloud-config, gzipped and base64-encoded, fetching the bundle by its SHA-256", () => {
      expect(template.user_data).toMatch(/^\$\{base64gzip\(local\.host_user-data_[A-F0-9]+\)\}$/);
      const local = /local\.([^)]+)\)/.exec(template.user_data)![1]!;
      const text = compute.locals[local] as string;
      expect(text.startsWith("#cloud-config\n")).toBe(true);
      // renderUserData owns the format; this stack hands it the bundle's URI, SHA-256 and the parameter name.
      expect(text).toContain(only(synth, "compute", "aws_s3_object").source_hash);
      expect(text).toContain("s3://${aws_s3_object.host-bundle_object_");
      expect(text).toContain("${aws_ssm_parameter.host-config_parameter_");
      expect(text).toContain("eu-central-1");
    });
  });

  describe("WHEN looking at the Auto Scaling group", () => {
    const group = only(synth, "compute", "aws_autoscaling_group");

    it("THEN it keeps one host, replaced on a failed ELB health check after a boot-sized grace period", () => {
      expect([group.min_size, group.max_size, group.desired_capacity]).toEqual([1, 1, 1]);
      expect(group.health_check_type).toBe("ELB");
      expect(group.health_check_grace_period).toBe(900);
      expect(group.target_group_arns).toEqual([expect.stringContaining("aws_lb_target_group.")]);
      expect(group.vpc_zone_identifier).toEqual(["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]);
    });

    it("THEN a launch template change starts an instance refresh that never runs two hosts at once", () => {
      expect(group.launch_template.version).toMatch(/^\$\{tostring\(aws_launch_template\.host_template_[A-F0-9]+\.latest_version\)\}$/);
      expect(group.instance_refresh).toEqual({
        strategy: "Rolling",
        preferences: expect.objectContaining({ min_healthy_percentage: 0, max_healthy_percentage: 100 }),
      });
    });

    it("THEN there is no office-hours schedule by default", () => {
      expect(synth.resources("compute", "aws_autoscaling_schedule")).toEqual({});
    });
  });

  describe("WHEN looking at the secrets, log groups, bundle and host configuration", () => {
    it("THEN the four host secrets exist empty: no version resource, 30 days to restore", () => {
      const secrets = Object.values(synth.resources("compute", "aws_secretsmanager_secret"));
      expect(secrets.map((s) => s.name).sort()).toEqual([
        "openhands/prod/db-password-key",
        "openhands/prod/identity-signing-key",
        "openhands/prod/llm-gateway-key",
        "openhands/prod/openhands-jwt-secret",
      ]);
      for (const s of secrets) {
        expect(s.recovery_window_in_days).toBe(30);
        expect(s.secret_string).toBeUndefined();
      }
      expect(synth.resources("compute", "aws_secretsmanager_secret_version")).toEqual({});
    });

    it("THEN the host's log groups exist before it boots, with the configured retention", () => {
      const groups = Object.values(synth.resources("compute", "aws_cloudwatch_log_group"));
      expect(groups.map((g) => [g.name, g.retention_in_days]).sort()).toEqual([
        ["/openhands/prod/apps", 30],
        ["/openhands/prod/host", 30],
        ["/openhands/prod/proxy", 30],
        ["/openhands/prod/spawner", 30],
      ]);
    });

    it("THEN the bundle is uploaded under a content-addressed key from a file in cdktf.out", () => {
      const object = only(synth, "compute", "aws_s3_object");
      expect(object.key).toMatch(/^host-bundle\/[0-9a-f]{64}\.zip$/);
      expect(object.source_hash).toBe(object.key.slice("host-bundle/".length, -4));
      expect(existsSync(join(synth.stacksDir, "compute", object.source))).toBe(true);
      const sha = require("node:crypto")
        .createHash("sha256")
        .update(readFileSync(join(synth.stacksDir, "compute", object.source)))
        .digest("hex");
      expect(sha).toBe(object.source_hash);
    });

    it("THEN the artifacts bucket is private like every other bucket", () => {
      expect(named(synth, "compute", "aws_s3_bucket_public_access_block", "artifacts_")).toEqual(
        expect.objectContaining({
          block_public_acls: true,
          block_public_policy: true,
          ignore_public_acls: true,
          restrict_public_buckets: true,
        }),
      );
    });

    it("THEN the host configuration parameter follows docs/CONTRACTS.md", () => {
      const parameter = only(synth, "compute", "aws_ssm_parameter");
      expect(parameter.name).toBe("/openhands/prod/host/config");
      expect(parameter.type).toBe("String");
      const config = JSON.parse(parameter.value) as Json;
      expect(Object.keys(config).sort()).toEqual([
        "appHost",
        "bedrock",
        "database",
        "edgeSecretsParameter",
        "efsFileSystemId",
        "environment",
        "eventsBucket",
        "images",
        "logGroups",
        "name",
        "network",
        "region",
        "runtimeDomain",
        "secrets",
        "users",
        "version",
      ]);
      // The host firewall keeps user containers out of the VPC's ranges.
      expect(config.network).toEqual({ vpcCidrs: ["10.0.0.0/16"] });
      expect(config).toEqual(
        expect.objectContaining({
          version: 1,
          name: "openhands",
          environment: "prod",
          region: "eu-central-1",
          appHost: "openhands.example.com",
          runtimeDomain: "runtime.example.com",
        }),
      );
      expect(config.database).toEqual({
        host: expect.stringContaining("endpoint"),
        port: 5432,
        masterSecretArn: expect.stringContaining("master_user_secret"),
      });
      expect(Object.keys(config.secrets).sort()).toEqual(["dbPasswordKey", "identitySigningKey", "llmGatewayKey", "openhandsJwtSecret"]);
      expect(config.edgeSecretsParameter).toEqual({ name: "/openhands/prod/edge/secrets", region: "us-east-1" });
      expect(config.images).toEqual({
        app: "docker.openhands.dev/openhands/openhands:1.11.0",
        agentServer: "ghcr.io/openhands/agent-server:1.34.0-python",
        openresty: "docker.io/openresty/openresty:1.27.1.2-alpine",
        llmGateway: "ghcr.io/berriai/litellm:v1.74.9-stable",
        node: "docker.io/library/node:24.11.1-bookworm-slim",
      });
      expect(config.bedrock).toEqual({
        region: "eu-central-1",
        models: ["eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "eu.anthropic.claude-haiku-4-5-20251001-v1:0"],
      });
      expect(config.users).toEqual({ idleMinutes: 60, maxRunningApps: 20, maxRunningSandboxes: 30, sandboxesPerUser: 3 });
      expect(Object.keys(config.logGroups)).toEqual(["host", "proxy", "spawner", "apps"]);
    });

    it("THEN the stack keeps the outputs the edge and monitoring stacks read (ALB ARN, DNS name, ARN suffixes)", () => {
      const outputs = Object.keys(compute.output ?? {});
      for (const attr of ["arn", "dns_name", "arn_suffix"])
        expect(outputs.some((o) => o.startsWith("cross-stack-output-aws_lbalb_") && o.endsWith(attr))).toBe(true);
    });
  });
});

describe("GIVEN office hours and a separate runtime domain in the configuration", () => {
  const synth = synthDeployment(
    exampleConfig((raw) => {
      raw.cost.officeHours = { timeZone: "Europe/Berlin", start: "0 7 * * MON-FRI", stop: "0 20 * * MON-FRI" };
      raw.domain.runtime = { domain: "oh-runtime.net", hostedZoneId: "Z0987654321ABCDEFGHIJ" };
    }),
  );

  it("THEN the host starts and stops on the schedule in that time zone", () => {
    const schedules = Object.values(synth.resources("compute", "aws_autoscaling_schedule"));
    expect(schedules.map((s) => [s.scheduled_action_name, s.recurrence, s.time_zone, s.min_size, s.desired_capacity])).toEqual([
      ["openhands-prod-start", "0 7 * * MON-FRI", "Europe/Berlin", 1, 1],
      ["openhands-prod-stop", "0 20 * * MON-FRI", "Europe/Berlin", 0, 0],
    ]);
    expect(only(synth, "compute", "aws_autoscaling_group").lifecycle).toEqual({ ignore_changes: ["desired_capacity", "min_size"] });
  });

  it("THEN the runtime wildcard is validated in the runtime domain's own zone", () => {
    const records = only(synth, "compute", "aws_route53_record");
    expect(records.zone_id).toContain('"*.oh-runtime.net" = "Z0987654321ABCDEFGHIJ"');
    expect(only(synth, "compute", "aws_acm_certificate").subject_alternative_names).toEqual(["*.oh-runtime.net"]);
  });
});

describe("GIVEN per-person LLM limits in the configuration (bedrock.perUser)", () => {
  const perUser = { requestsPerMinute: 30, tokensPerMinute: 400000, monthlySpendAlertUsd: 12.5 };
  const synth = synthDeployment(exampleConfig((raw) => void (raw.bedrock.perUser = perUser)));

  it("THEN the host configuration carries them to the LLM gateway; without them it carries none", () => {
    const config = JSON.parse(only(synth, "compute", "aws_ssm_parameter").value) as Json;
    expect(config.bedrock.perUser).toEqual(perUser);
    const plain = JSON.parse(only(synthDeployment(), "compute", "aws_ssm_parameter").value) as Json;
    expect(plain.bedrock).not.toHaveProperty("perUser");
  });

  it("THEN a limit that is not a positive whole number, or an amount with more than two decimals, is refused with its field", () => {
    expect(() => exampleConfig((raw) => void (raw.bedrock.perUser = { requestsPerMinute: 0 }))).toThrow(
      /bedrock\.perUser\.requestsPerMinute/,
    );
    expect(() => exampleConfig((raw) => void (raw.bedrock.perUser = { monthlySpendAlertUsd: 1.234 }))).toThrow(/more than two decimals/);
    expect(() => exampleConfig((raw) => void (raw.bedrock.perUser = { rpm: 3 }))).toThrow(/rpm/);
  });

  it("THEN the host role may list users of the account's pools in us-east-1 (disabled people's keys), nothing more of Cognito", () => {
    const text = JSON.stringify(Object.values(synth.resources("compute", "aws_iam_role_policy")).map((p) => p.policy));
    // actions are PascalCase; the ARN's region after the same prefix is not
    const actions = [...new Set(text.match(/cognito-idp:[A-Z][A-Za-z]*/g) ?? [])];
    expect(actions).toEqual(["cognito-idp:ListUsers"]);
    expect(text).toMatch(/:cognito-idp:us-east-1:\$\{[^}]+\}:userpool\/\*/);
  });
});

describe("GIVEN the user data of the example", () => {
  const synth = synthDeployment();
  const template = only(synth, "compute", "aws_launch_template");

  it("THEN it stays far below EC2's 16 KB user-data limit once gzipped", () => {
    const local = /local\.([^)]+)\)/.exec(template.user_data)![1]!;
    const text = synth.stack("compute").locals[local] as string;
    const gz = require("node:zlib").gzipSync(Buffer.from(text));
    expect(gunzipSync(gz).toString()).toBe(text);
    expect(Buffer.from(gz).toString("base64").length).toBeLessThan(16 * 1024);
  });
});

describe("GIVEN the longest name and environment the configuration allows", () => {
  const synth = synthDeployment(
    exampleConfig((raw) => {
      raw.name = "a-very-long-team-xyz";
      raw.environment = "production";
    }),
  );

  it("THEN the ALB and target group names still fit AWS's 32 characters, stay distinct and well-formed", () => {
    const alb = only(synth, "compute", "aws_lb").name as string;
    const targets = only(synth, "compute", "aws_lb_target_group").name as string;
    for (const name of [alb, targets]) {
      expect(name.length).toBeLessThanOrEqual(32);
      expect(name).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
      expect(name).not.toContain("--");
    }
    expect(alb).not.toBe(targets);
    expect(alb.endsWith("-alb")).toBe(true);
  });

  it("THEN the other names keep the full prefix", () => {
    expect(only(synth, "compute", "aws_launch_template").name).toBe("a-very-long-team-xyz-production-host");
    expect(only(synth, "data", "aws_rds_cluster").cluster_identifier).toBe("a-very-long-team-xyz-production-aurora");
  });
});

describe("GIVEN a host bundle folder that was never built", () => {
  it("THEN synth stops with the folder and the command that builds it", () => {
    const { App, TerraformStack } = require("cdktf");
    const { HostBundle } = require("../../src/constructs/compute/host-bundle");
    const stack = new TerraformStack(new App({ outdir: require("node:os").tmpdir() }), "probe");
    expect(
      () => new HostBundle(stack, "bundle", { bundleDir: "/nonexistent/host-bundle", bucketName: "b", bucketArn: "arn:aws:s3:::b" }),
    ).toThrow(/the host bundle \/nonexistent\/host-bundle has no install\.sh: build @openhands-team\/bootstrap-scripts first/);
  });
});
