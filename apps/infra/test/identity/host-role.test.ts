import { exampleConfig, synthDeployment, type Json } from "../support/template";
import { only, statement, statements } from "../support/template";
import { bedrockStatements, SSM_CORE_ACTIONS } from "../../src/constructs/identity/host-role";

describe("GIVEN the example configuration", () => {
  const synth = synthDeployment();
  const role = only(synth, "compute", "aws_iam_role");
  const policy = only(synth, "compute", "aws_iam_role_policy").policy as string;
  const all = statements(policy);

  it("THEN the role is assumable by EC2 only and has no managed policy attached", () => {
    expect(JSON.parse(role.assume_role_policy).Statement).toEqual([
      { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" },
    ]);
    expect(synth.resources("compute", "aws_iam_role_policy_attachment")).toEqual({});
  });

  it("THEN no statement allows a wildcard action", () => {
    for (const s of all) for (const action of [s.Action].flat()) expect(action).not.toContain("*");
  });

  it('THEN "*" resources appear only for SSM agent channels and PutMetricData, the latter bound to the host namespaces', () => {
    const star = all.filter((s) => [s.Resource].flat().includes("*"));
    expect(star.map((s) => s.Sid)).toEqual(["Metrics", "SessionManager"]);
    expect(statement(policy, "Metrics")).toEqual(
      expect.objectContaining({
        Action: "cloudwatch:PutMetricData",
        Condition: { StringEquals: { "cloudwatch:namespace": ["CWAgent", "OpenHandsTeam"] } },
      }),
    );
    expect(statement(policy, "SessionManager").Action).toEqual([...SSM_CORE_ACTIONS]);
    expect(statement(policy, "SessionManager").Action).not.toContain("ssm:GetParameter");
  });

  it("THEN Bedrock invoke is limited to the configured inference profiles, in this account, and their models through them", () => {
    const profiles = statement(policy, "BedrockInferenceProfiles");
    expect(profiles.Action).toEqual(["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]);
    expect(profiles.Resource).toEqual([
      expect.stringMatching(
        new RegExp(
          [
            String.raw`:bedrock:eu-central-1:\$\{local\.host-role_account-id_[A-F0-9]+\}`,
            String.raw`:inference-profile\/eu\.anthropic\.claude-sonnet-4-5-20250929-v1:0$`,
          ].join(""),
        ),
      ),
      expect.stringMatching(/:inference-profile\/eu\.anthropic\.claude-haiku-4-5-20251001-v1:0$/),
    ]);
    const models = statement(policy, "BedrockModelsThroughProfiles");
    expect(models.Resource).toHaveLength(4);
    for (const arn of models.Resource) expect(arn).toMatch(/:bedrock:\*?::foundation-model\/anthropic\.claude-(sonnet|haiku)-4-5-/);
    expect(models.Condition.StringLike["bedrock:InferenceProfileArn"]).toEqual(profiles.Resource);
  });

  it("THEN the events bucket is reachable under users/ only", () => {
    expect(statement(policy, "EventsReadWrite")).toEqual(
      expect.objectContaining({
        Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        Resource: expect.stringMatching(/\}\/users\/\*$/),
      }),
    );
    expect(statement(policy, "EventsList").Condition).toEqual({ StringLike: { "s3:prefix": ["users/*"] } });
  });

  it("THEN EFS is mountable with IAM auth through a mount target only", () => {
    const efs = statement(policy, "WorkspacesMount");
    expect(efs.Action).toEqual(["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"]);
    expect(efs.Resource).toContain("aws_efs_file_system");
    expect(efs.Condition).toEqual({ Bool: { "elasticfilesystem:AccessedViaMountTarget": "true" } });
  });

  it("THEN the host reads and writes exactly its four secrets and only reads the database master secret", () => {
    const own = statement(policy, "HostSecrets");
    expect(own.Action).toEqual(["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:DescribeSecret"]);
    expect(own.Resource).toHaveLength(4);
    for (const arn of own.Resource) expect(arn).toMatch(/^\$\{aws_secretsmanager_secret\.secrets_[a-z-]+_[A-F0-9]+\.arn\}$/);
    const master = statement(policy, "DatabaseMasterSecret");
    expect(master.Action).toEqual(["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]);
    expect(master.Resource).toContain("master_user_secret");
  });

  it(
    "THEN it reads its configuration parameter, may fill the edge secrets parameter and read the edge configuration in us-east-1, " +
      "nothing else in SSM",
    () => {
      expect(statement(policy, "HostConfiguration")).toEqual(
        expect.objectContaining({
          Action: "ssm:GetParameter",
          Resource: expect.stringMatching(/:ssm:eu-central-1:.+:parameter\/openhands\/prod\/host\/config$/),
        }),
      );
      expect(statement(policy, "EdgeSecretsFirstBoot")).toEqual(
        expect.objectContaining({
          Action: ["ssm:GetParameter", "ssm:PutParameter"],
          Resource: expect.stringMatching(/:ssm:us-east-1:.+:parameter\/openhands\/prod\/edge\/secrets$/),
        }),
      );
      expect(statement(policy, "EdgeConfigJwksUri")).toEqual(
        expect.objectContaining({
          Action: "ssm:GetParameter",
          Resource: expect.stringMatching(/:ssm:us-east-1:.+:parameter\/openhands\/prod\/edge\/config$/),
        }),
      );
    },
  );

  it("THEN it writes to its own log groups and reads its own bundle object", () => {
    const logs = statement(policy, "Logs");
    expect(logs.Resource).toHaveLength(8);
    for (const arn of logs.Resource) expect(arn).toMatch(/^\$\{aws_cloudwatch_log_group\.logs_[a-z]+_[A-F0-9]+\.arn\}(:\*)?$/);
    expect(statement(policy, "HostBundle").Resource).toMatch(/\/host-bundle\/[0-9a-f]{64}\.zip$/);
  });

  it("THEN the instance profile wraps the role", () => {
    expect(only(synth, "compute", "aws_iam_instance_profile").role).toContain("aws_iam_role.");
  });
});

describe("GIVEN Bedrock model ids of every kind", () => {
  const partition = "aws";
  const result = bedrockStatements(partition, "111122223333", "us-east-1", [
    "anthropic.claude-3-haiku-20240307-v1:0",
    "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
  ]);
  const bySid = (sid: string): Json => result.find((s) => s.Sid === sid)!;

  it("THEN a plain model id is a foundation model in the Bedrock region", () => {
    expect(bySid("BedrockModels").Resource).toEqual(["arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"]);
  });

  it("THEN a global profile allows its model region-less and in any region, only through the profile", () => {
    expect(bySid("BedrockInferenceProfiles").Resource).toEqual([
      "arn:aws:bedrock:us-east-1:111122223333:inference-profile/global.anthropic.claude-sonnet-4-5-20250929-v1:0",
    ]);
    expect(bySid("BedrockModelsThroughProfiles").Resource).toEqual([
      "arn:aws:bedrock:*::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0",
      "arn:aws:bedrock:::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0",
    ]);
  });
});

describe("GIVEN a Bedrock region other than the main region", () => {
  const synth = synthDeployment(exampleConfig((raw) => (raw.bedrock.region = "eu-west-1")));

  it("THEN the inference profiles are those of the Bedrock region", () => {
    const policy = only(synth, "compute", "aws_iam_role_policy").policy as string;
    for (const arn of statement(policy, "BedrockInferenceProfiles").Resource) expect(arn).toContain(":bedrock:eu-west-1:");
  });
});
