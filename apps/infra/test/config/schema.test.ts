import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, parseConfig } from "../../src/config/load";
import { DEFAULT_CONFIG } from "../../src/cli-options";
import { configProblems, exampleInput, type Json } from "../support/template";

describe("GIVEN an edge allow list", () => {
  it.each([
    ["10.0.0.0/33", 'config.edge.allowedCidrs[0]: "10.0.0.0/33" has a prefix longer than 32 bits (expected /1 to /32 for IPv4)'],
    ["2001:db8::/129", 'config.edge.allowedCidrs[0]: "2001:db8::/129" has a prefix longer than 128 bits (expected /1 to /128 for IPv6)'],
    ["0.0.0.0/0", 'config.edge.allowedCidrs[0]: "0.0.0.0/0" allows every address (/0 is refused: leave the list empty to allow everyone)'],
    ["::/0", 'config.edge.allowedCidrs[0]: "::/0" allows every address (/0 is refused: leave the list empty to allow everyone)'],
    ["10.0.0.1/24", 'config.edge.allowedCidrs[0]: "10.0.0.1/24" has host bits set (expected the network address 10.0.0.0/24)'],
    ["2001:db8::1/32", 'config.edge.allowedCidrs[0]: "2001:db8::1/32" has host bits set (expected the network address 2001:db8::/32)'],
    [
      "10.0.0.010/32",
      'config.edge.allowedCidrs[0]: "10.0.0.010/32" is not an IPv4 CIDR (expected four numbers 0-255 without leading zeros, such ' +
        "as 203.0.113.0/24)",
    ],
    [
      "10.0.256.0/24",
      'config.edge.allowedCidrs[0]: "10.0.256.0/24" is not an IPv4 CIDR (expected four numbers 0-255 without leading zeros, such ' +
        "as 203.0.113.0/24)",
    ],
    [
      "2001:db8:::/48",
      'config.edge.allowedCidrs[0]: "2001:db8:::/48" is not an IPv6 CIDR (expected hex groups with at most one ::, such as 2001:db8::/32)',
    ],
    [
      "1:2:3:4:5:6:7:8:9/64",
      'config.edge.allowedCidrs[0]: "1:2:3:4:5:6:7:8:9/64" is not an IPv6 CIDR (expected hex groups with at most one ::, such as ' +
        "2001:db8::/32)",
    ],
    [
      "203.0.113.0",
      'config.edge.allowedCidrs[0]: "203.0.113.0" is not a CIDR (expected address/prefix such as 203.0.113.0/24 or 2001:db8::/32)',
    ],
  ])("WHEN it lists %s THEN it is refused with a clear message", (cidr, message) => {
    expect(configProblems((r) => (r.edge.allowedCidrs = [cidr]))).toEqual([message]);
  });

  it.each([
    ["203.0.113.0/24"],
    ["198.51.100.7/32"],
    ["2001:db8::/32"],
    ["2001:db8:0:1::/64"],
    ["::ffff:192.0.2.0/120"],
    ["fe80::/10"],
  ])("WHEN it lists %s THEN it is accepted", (cidr) => {
    expect(configProblems((r) => (r.edge.allowedCidrs = [cidr]))).toEqual([]);
  });

  it("WHEN the VPC CIDR has host bits set THEN it is refused with the network address", () => {
    expect(configProblems((r) => (r.network.vpcCidr = "10.0.1.0/16"))).toEqual([
      'config.network.vpcCidr: "10.0.1.0/16" has host bits set (expected the network address 10.0.0.0/16)',
    ]);
  });
});

describe("GIVEN the bundled example configuration", () => {
  it("THEN it validates and fills the documented defaults", () => {
    const config = loadConfig(DEFAULT_CONFIG);
    expect(config.name).toBe("openhands");
    expect(config.database.minCapacity).toBe(0);
    expect(config.stateBackend.type).toBe("s3");
    expect(config.openhands.app.tag).toBe("1.11.0");
    expect(config.openhands.agentServer.tag).toBe("1.34.0-python");
  });

  it("THEN an unverified pair is accepted with a repository of its own (no tag rewriting) or an app before 1.9.1", () => {
    const own = exampleInput();
    Object.assign(own.openhands, {
      allowUnverifiedPair: true,
      agentServer: { repository: "123456789012.dkr.ecr.eu-central-1.amazonaws.com/agent-server", tag: "1.33.0-python" },
    });
    expect(parseConfig(own).openhands.agentServer.tag).toBe("1.33.0-python");
    const old = exampleInput();
    Object.assign(old.openhands, {
      allowUnverifiedPair: true,
      app: { repository: "docker.openhands.dev/openhands/openhands", tag: "1.9.0" },
      agentServer: { repository: "ghcr.io/openhands/agent-server", tag: "1.31.1-python" },
    });
    expect(parseConfig(old).openhands.app.tag).toBe("1.9.0");
    const minimum = exampleInput();
    minimum.users.sandboxesPerUser = 2;
    expect(parseConfig(minimum).users.sandboxesPerUser).toBe(2);
  });

  it.each([
    ["1.11.0", "1.34.0-python"],
    ["1.7.0", "1.19.1-python"],
  ])("THEN the verified pair %s with %s validates", (app, agentServer) => {
    const raw = exampleInput();
    raw.openhands.app.tag = app;
    raw.openhands.agentServer.tag = agentServer;
    expect(parseConfig(raw).openhands.agentServer.tag).toBe(agentServer);
  });

  it("THEN leaving out every defaulted section gives the documented defaults", () => {
    const raw = exampleInput();
    for (const key of ["compute", "users", "database", "backup", "edge", "monitoring", "cost", "tags"]) delete raw[key];
    const config = parseConfig(raw);
    expect(config.compute).toEqual({
      mode: "docker",
      instanceType: "m7g.xlarge",
      minSize: 1,
      maxSize: 1,
      rootVolumeGiB: 30,
      dockerVolumeGiB: 100,
    });
    expect(config.database.autoPauseSeconds).toBe(600);
    expect(config.cost.interfaceEndpoints).toBe(false);
    expect(config.cognito.mfa).toBe("required");
  });
});

describe("GIVEN an invalid configuration", () => {
  const cases: Array<[string, (raw: Json) => void, string]> = [
    [
      "a hosted zone id that is not one",
      (r) => (r.domain.hostedZoneId = "abc"),
      'config.domain.hostedZoneId: "abc" is not a Route 53 zone id (expected Z followed by 10-32 upper-case letters or digits)',
    ],
    [
      "an x86 instance type",
      (r) => (r.compute.instanceType = "m7i.xlarge"),
      'config.compute.instanceType: "m7i.xlarge" is not a Graviton instance type (expected an arm64 type such as m7g.xlarge or t4g.large)',
    ],
    [
      "a region that does not exist",
      (r) => (r.region = "moon-1"),
      'config.region: "moon-1" is not an AWS region (expected a region code such as eu-central-1)',
    ],
    [
      "one private subnet",
      (r) => (r.network.privateSubnetIds = ["subnet-0123456789abcdef0"]),
      'config.network.privateSubnetIds: ["subnet-0123456789abcdef0"] lists fewer than two subnets (expected private subnets in two ' +
        "or more availability zones)",
    ],
    [
      "a malformed subnet id",
      (r) => (r.network.privateSubnetIds[1] = "subnet-xyz"),
      'config.network.privateSubnetIds[1]: "subnet-xyz" is not a subnet id (expected subnet- followed by 8 or 17 hex digits)',
    ],
    [
      "the same subnet twice",
      (r) => (r.network.privateSubnetIds = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef0"]),
      'config.network.privateSubnetIds: ["subnet-0123456789abcdef0","subnet-0123456789abcdef0"] lists a subnet twice (expected ' +
        "distinct subnets in different availability zones)",
    ],
    [
      "an app host outside the apex",
      (r) => (r.domain.appHost = "openhands.example.org"),
      'config.domain.appHost: "openhands.example.org" is not in the apex domain example.com (expected a host such as ' +
        "openhands.example.com)",
    ],
    [
      "a runtime domain equal to the app host",
      (r) => (r.domain.runtime.domain = "openhands.example.com"),
      'config.domain.runtime.domain: "openhands.example.com" overlaps the app host openhands.example.com (sandbox content must ' +
        "never share the app origin; expected such as runtime.example.com)",
    ],
    [
      "a separate runtime domain without its zone",
      (r) => (r.domain.runtime.domain = "example-runtime.net"),
      "config.domain.runtime.hostedZoneId: is missing: the runtime domain example-runtime.net is outside example.com (expected the " +
        "Route 53 zone id of example-runtime.net)",
    ],
    [
      "Aurora max capacity below min",
      (r) => Object.assign(r.database, { minCapacity: 8, maxCapacity: 4 }),
      "config.database.maxCapacity: 4 is below database.minCapacity 8 (expected maxCapacity >= minCapacity)",
    ],
    [
      "a capacity that is not a half ACU",
      (r) => (r.database.minCapacity = 0.3),
      "config.database.minCapacity: 0.3 is not a multiple of 0.5 ACU (expected 0, 0.5, 1, 1.5, ...)",
    ],
    [
      "auto-pause below 5 minutes",
      (r) => (r.database.autoPauseSeconds = 60),
      "config.database.autoPauseSeconds: 60 is below 300 seconds (Aurora pauses after 5 minutes at the earliest)",
    ],
    [
      "backup retention over 35 days",
      (r) => (r.database.backupRetentionDays = 90),
      "config.database.backupRetentionDays: 90 is above 35 days (Aurora keeps at most 35)",
    ],
    [
      "a floating image tag",
      (r) => (r.openhands.app.tag = "latest"),
      'config.openhands.app.tag: "latest" is not a pinned tag for the OpenHands app (expected an exact version such as 1.11.0, ' +
        "never latest)",
    ],
    [
      "an agent-server that does not pair with the app",
      (r) => (r.openhands.agentServer.tag = "1.19.1-python"),
      'config.openhands.agentServer.tag: "1.19.1-python" does not pair with OpenHands 1.11.0 (expected 1.34.0-python, the ' +
        "agent-server that app version pins; or set openhands.allowUnverifiedPair: true)",
    ],
    [
      "one sandbox per user",
      (r) => (r.users.sandboxesPerUser = 1),
      "config.users.sandboxesPerUser: 1 is below 2 (OpenHands pauses older sandboxes down to this limit minus 1 before every start " +
        "and fails when that is 0: with 1 no sandbox ever starts)",
    ],
    [
      "an unverified pair with the default agent-server repository on an app that rewrites the tag",
      (r) =>
        Object.assign(r.openhands, {
          allowUnverifiedPair: true,
          agentServer: { repository: "ghcr.io/openhands/agent-server", tag: "1.33.0-python" },
        }),
      "config.openhands.allowUnverifiedPair: true cannot pair OpenHands 1.11.0 with ghcr.io/openhands/agent-server:1.33.0-python: " +
        "from 1.9.1 the app replaces the agent-server tag with the version it bundles when the repository is " +
        "ghcr.io/openhands/agent-server, so it would ask for an image the host refuses and no sandbox would start (expected the " +
        "pinned pair, or the agent-server image copied to a repository of your own)",
    ],
    ["no Bedrock model", (r) => (r.bedrock.models = []), "config.bedrock.models: [] is empty (expected at least one Bedrock model id)"],
    [
      "an unknown compute mode",
      (r) => (r.compute.mode = "kubernetes"),
      'config.compute.mode: "kubernetes" is not a compute mode (expected "docker" or "ecs")',
    ],
    [
      "an unknown MFA mode",
      (r) => (r.cognito.mfa = "sms"),
      'config.cognito.mfa: "sms" is not an MFA mode (expected "off", "optional" or "required")',
    ],
    [
      "a Cognito prefix with a reserved word",
      (r) => (r.cognito.domainPrefix = "aws-login"),
      'config.cognito.domainPrefix: "aws-login" contains a reserved word (Cognito refuses aws, amazon and cognito in domain prefixes)',
    ],
    [
      "an unknown state backend",
      (r) => (r.stateBackend = { type: "gcs", bucket: "x" }),
      'config.stateBackend.type: "gcs" is not a state backend (expected type "s3", "terraform-cloud" or "local")',
    ],
    [
      "Terraform Cloud without an organization",
      (r) => (r.stateBackend = { type: "terraform-cloud", workspacePrefix: "oh" }),
      "config.stateBackend.organization: is required (expected a string; see config/example.yaml)",
    ],
    [
      "a log retention CloudWatch does not offer",
      (r) => (r.monitoring.logRetentionDays = 45),
      "config.monitoring.logRetentionDays: 45 is not a CloudWatch retention (expected one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, " +
        "180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)",
    ],
    [
      "a misspelt key",
      (r) => (r.compute.instancetype = "m7g.large"),
      'config.compute: unknown key "instancetype" (did you mean "instanceType"?)',
    ],
    [
      "a key that is no near miss",
      (r) => (r.users.colour = "blue"),
      'config.users: unknown key "colour" (expected one of idleMinutes, maxRunningApps, maxRunningSandboxes, sandboxesPerUser; ' +
        "remove it or check the spelling against config/example.yaml)",
    ],
    [
      "a list where a mapping belongs",
      (r) => (r.domain = ["example.com"]),
      'config.domain: ["example.com"] is not an object (expected an object)',
    ],
    ["a number where text belongs", (r) => (r.name = 42), "config.name: 42 is not a string (expected a string)"],
    [
      "an alarm address that is not one",
      (r) => (r.monitoring.alarmEmail = "ops-at-example"),
      'config.monitoring.alarmEmail: "ops-at-example" is not an e-mail address (expected such as ops@example.com)',
    ],
    [
      "an office-hours stop equal to its start",
      (r) => (r.cost.officeHours = { timeZone: "Europe/Berlin", start: "0 7 * * *", stop: "0 7 * * *" }),
      'config.cost.officeHours.stop: "0 7 * * *" equals cost.officeHours.start (expected a stop time different from the start time)',
    ],
    [
      "a VPC that overlaps the per-user Docker networks",
      (r) => (r.network.vpcCidr = "10.0.0.0/8"),
      'config.network.vpcCidr: "10.0.0.0/8" overlaps 10.240.0.0/16, the host\'s per-user Docker networks (the host could not reach ' +
        "that part of the VPC; expected a VPC outside 10.240.0.0/16)",
    ],
    [
      "a CIDR with an octet over 255",
      (r) => (r.network.vpcCidr = "10.300.0.0/16"),
      'config.network.vpcCidr: "10.300.0.0/16" is not an IPv4 CIDR (each of a.b.c.d must be 0-255)',
    ],
    [
      "a tag key in the aws: namespace",
      (r) => (r.tags = { "aws:owner": "x" }),
      'config.tags.aws:owner: "aws:owner" is not a tag key (expected 1-128 characters, not starting with aws:)',
    ],
  ];

  it.each(cases)("WHEN it has %s THEN it is refused with its own message", (_what, mutate, message) => {
    expect(configProblems(mutate)).toEqual([message]);
  });

  it("THEN every message is distinct", () => {
    expect(new Set(cases.map(([, , m]) => m)).size).toBe(cases.length);
  });

  it("WHEN several fields are wrong THEN each is reported", () => {
    const problems = configProblems((r) => {
      r.region = "nowhere";
      r.compute.maxSize = 9;
    });
    expect(problems).toHaveLength(2);
    expect(problems.join("\n")).toMatch(/config\.region/);
    expect(problems.join("\n")).toMatch(/config\.compute\.maxSize: 9 exceeds 2/);
  });

  it("WHEN the file is not YAML or not a mapping THEN the error says so", () => {
    const dir = mkdtempSync(join(tmpdir(), "oh-cfg-"));
    writeFileSync(join(dir, "bad.yaml"), "name: [unclosed\n");
    writeFileSync(join(dir, "list.yaml"), "- a\n- b\n");
    expect(() => loadConfig(join(dir, "bad.yaml"))).toThrow(/is not valid YAML/);
    expect(() => loadConfig(join(dir, "list.yaml"))).toThrow(/config: is not a mapping/);
    expect(() => loadConfig(join(dir, "absent.yaml"))).toThrow(/cannot read the file \(ENOENT\)/);
  });
});
