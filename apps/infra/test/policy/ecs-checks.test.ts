/**
 * The policy suite over the ECS-mode example (config/example-ecs.yaml): it passes, and each attack on a copy of its
 * stacks (a sandbox group opened to another source, the spawner's app or sandbox role creation or role passing
 * unguarded, a wider app or sandbox boundary, an EFS policy missing one of its three denies, the host's sandbox-zone
 * record change unguarded) is caught by its check.
 */
import { checkDeployment, type PolicyReport } from "../../src/policy";
import { ecsExampleConfig, Template, type Json } from "../support/template";

type Stacks = Record<string, Json>;

const template = Template.synth(ecsExampleConfig());
const pristine = JSON.stringify(template.stacks());

/** Findings of a check that did not pass, suppressed or not. */
const flagged = (report: PolicyReport, checkId: string) => report.findings.filter((f) => f.checkId === checkId && f.status !== "pass");

const resources = (s: Stacks, stack: string, type: string) => Object.entries((s[stack]!.resource[type] ?? {}) as Record<string, Json>);
const groupRef = (s: Stacks, name: string) => {
  const entry = resources(s, "network", "aws_security_group").find(([, b]) => b.name === name)!;
  return `\${aws_security_group.${entry[0]}.id}`;
};
const sandboxIngress = (s: Stacks) =>
  resources(s, "network", "aws_vpc_security_group_ingress_rule").find(
    ([, b]) => b.security_group_id === groupRef(s, "openhands-prod-sandboxes"),
  )![1];
/** Rewrites the statements of a policy-bearing resource in place. */
const editPolicy = (body: Json, edit: (statements: Json[]) => void) => {
  const doc = JSON.parse(body.policy as string) as Json;
  edit(doc.Statement as Json[]);
  body.policy = JSON.stringify(doc);
};
const hostPolicy = (s: Stacks) => resources(s, "compute", "aws_iam_role_policy").find(([, b]) => b.name === "host")![1];
const policyNamed = (s: Stacks, name: string) => resources(s, "compute", "aws_iam_policy").find(([, b]) => b.name === name)!;
const boundary = (s: Stacks) => policyNamed(s, "openhands-prod-sandbox-boundary")[1];
const appBoundary = (s: Stacks) => policyNamed(s, "openhands-prod-app-boundary")[1];
const appBoundaryRef = (s: Stacks) => `\${aws_iam_policy.${policyNamed(s, "openhands-prod-app-boundary")[0]}.arn}`;
/** The host role's resource of the spawner's app roles, `arn:...:role/oh-app/*`. */
const appRoles = (s: Stacks) =>
  bySid((JSON.parse(hostPolicy(s).policy as string) as Json).Statement as Json[], "AppRolesLifecycle").Resource;
const fileSystemPolicy = (s: Stacks) => resources(s, "data", "aws_efs_file_system_policy")[0]![1];
const bySid = (statements: Json[], sid: string) => statements.find((st) => st.Sid === sid)!;
const withoutSid = (sid: string) => (s: Stacks) => editPolicy(fileSystemPolicy(s), (st) => st.splice(st.indexOf(bySid(st, sid)), 1));

describe("GIVEN the ECS-mode example deployment", () => {
  it("THEN the suite finds no failure, and the new checks looked at its resources", () => {
    const report = template.policy();
    expect(report.failures.map((f) => `${f.checkId} ${f.resource}: ${f.message}`)).toEqual([]);
    for (const id of ["OHT_SG_005", "OHT_EFS_005", "OHT_IAM_007", "OHT_IAM_008", "OHT_IAM_009", "OHT_IAM_010"]) {
      expect(report.findings.filter((f) => f.checkId === id && f.status === "pass").length).toBeGreaterThan(0);
    }
  });
});

describe("GIVEN the ECS-mode deployment broken on purpose", () => {
  const attacks: Array<[string, string, (s: Stacks) => void, RegExp]> = [
    [
      "OHT_SG_005",
      "another user's app can open a sandbox (apps group admitted)",
      (s) => (sandboxIngress(s).referenced_security_group_id = groupRef(s, "openhands-prod-apps")),
      /openhands-prod-sandboxes admits openhands-prod-apps \(expected only the host's group\)/,
    ],
    [
      "OHT_SG_005",
      "anything in the VPC can open a sandbox (VPC CIDR admitted)",
      (s) => {
        const rule = sandboxIngress(s);
        delete rule.referenced_security_group_id;
        rule.cidr_ipv4 = "10.0.0.0/16";
      },
      /admits 10\.0\.0\.0\/16/,
    ],
    [
      "OHT_SG_002",
      "a sandbox port is open to the internet",
      (s) => {
        const rule = sandboxIngress(s);
        delete rule.referenced_security_group_id;
        rule.cidr_ipv4 = "0.0.0.0/0";
      },
      /ingress from 0\.0\.0\.0\/0 or ::\/0/,
    ],
    [
      "OHT_SG_002",
      "an app port is open to the IPv6 internet",
      (s) => {
        const [, rule] = resources(s, "network", "aws_vpc_security_group_ingress_rule").find(
          ([, b]) => b.security_group_id === groupRef(s, "openhands-prod-apps"),
        )!;
        delete rule.referenced_security_group_id;
        rule.cidr_ipv6 = "::/0";
      },
      /ingress from 0\.0\.0\.0\/0 or ::\/0/,
    ],
    [
      "OHT_IAM_007",
      "the spawner creates roles without the boundary (any permission, then passed to a task)",
      (s) => editPolicy(hostPolicy(s), (st) => delete bySid(st, "SandboxRolesBounded").Condition),
      /SandboxRolesBounded allows iam:CreateRole without pinning iam:PermissionsBoundary/,
    ],
    [
      "OHT_IAM_007",
      "the boundary condition matches any policy (StringLike *)",
      (s) =>
        editPolicy(hostPolicy(s), (st) => {
          bySid(st, "SandboxRolesBounded").Condition = { StringLike: { "iam:PermissionsBoundary": "*" } };
        }),
      /iam:PutRolePolicy without pinning iam:PermissionsBoundary/,
    ],
    [
      "OHT_IAM_007",
      "the spawner creates /oh-app/ roles without the boundary (any permission in an app's credentials)",
      (s) => editPolicy(hostPolicy(s), (st) => delete bySid(st, "AppRolesBounded").Condition),
      /AppRolesBounded allows iam:CreateRole without pinning iam:PermissionsBoundary/,
    ],
    [
      "OHT_IAM_007",
      "a second statement lets the spawner write /oh-app/ role policies unguarded",
      (s) => {
        const roles = appRoles(s);
        editPolicy(hostPolicy(s), (st) => st.push({ Sid: "LooseAppRoles", Effect: "Allow", Action: "iam:PutRolePolicy", Resource: roles }));
      },
      /LooseAppRoles allows iam:PutRolePolicy without pinning iam:PermissionsBoundary/,
    ],
    [
      "OHT_IAM_008",
      "the /oh-app/ roles can be passed to any service (an app's events read from an EC2 instance or a Lambda)",
      (s) => {
        const roles = appRoles(s);
        editPolicy(hostPolicy(s), (st) => st.push({ Sid: "PassAppRoles", Effect: "Allow", Action: "iam:PassRole", Resource: roles }));
      },
      /PassAppRoles allows iam:PassRole without pinning iam:PassedToService/,
    ],
    [
      "OHT_IAM_008",
      "the task roles can be passed to any service",
      (s) => editPolicy(hostPolicy(s), (st) => delete bySid(st, "PassTaskRoles").Condition),
      /PassTaskRoles allows iam:PassRole without pinning iam:PassedToService/,
    ],
    [
      "OHT_IAM_008",
      "every role of the account can be passed",
      (s) => editPolicy(hostPolicy(s), (st) => (bySid(st, "PassTaskRoles").Resource = "*")),
      /PassTaskRoles allows iam:PassRole without pinning iam:PassedToService on named roles/,
    ],
    [
      "OHT_IAM_009",
      "the sandbox boundary also allows reading S3",
      (s) => editPolicy(boundary(s), (st) => st[0]!.Action.push("s3:GetObject")),
      /the permissions boundary allows more than elasticfilesystem:ClientMount and elasticfilesystem:ClientWrite: .*s3:GetObject/,
    ],
    [
      "OHT_IAM_009",
      "the sandbox boundary allows root access on EFS",
      (s) => editPolicy(boundary(s), (st) => st.push({ Effect: "Allow", Action: "elasticfilesystem:ClientRootAccess", Resource: "*" })),
      /allows elasticfilesystem:ClientRootAccess/,
    ],
    [
      "OHT_IAM_009",
      "the app boundary allows every S3 action",
      (s) => editPolicy(appBoundary(s), (st) => (bySid(st, "EventsReadWrite").Action = "s3:*")),
      /the app roles' permissions boundary allows more than .*: EventsReadWrite allows s3:\*/,
    ],
    [
      "OHT_IAM_009",
      "the app boundary lets an app read the deployment's secrets",
      (s) =>
        editPolicy(appBoundary(s), (st) =>
          st.push({ Sid: "Secrets", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: "arn:aws:secretsmanager:*" }),
        ),
      /Secrets allows secretsmanager:GetSecretValue/,
    ],
    [
      "OHT_IAM_009",
      "the app boundary allows the events actions on every bucket and object",
      (s) => editPolicy(appBoundary(s), (st) => (bySid(st, "EventsReadWrite").Resource = "*")),
      /EventsReadWrite allows s3:GetObject outside <events bucket>\/users\/\*/,
    ],
    [
      "OHT_IAM_009",
      "the app boundary allows the events actions on the whole bucket (the host's objects too)",
      (s) => editPolicy(appBoundary(s), (st) => (bySid(st, "EventsReadWrite").Resource = `${bySid(st, "EventsList").Resource}/*`)),
      /EventsReadWrite allows s3:PutObject outside <events bucket>\/users\/\*/,
    ],
    [
      "OHT_IAM_009",
      "the app boundary lists every key of the bucket (no prefix condition)",
      (s) => editPolicy(appBoundary(s), (st) => delete bySid(st, "EventsList").Condition),
      /EventsList allows s3:ListBucket without an s3:prefix condition under users\//,
    ],
    [
      "OHT_IAM_009",
      "the app boundary allows EFS on every file system of the account",
      (s) => editPolicy(appBoundary(s), (st) => (bySid(st, "WorkspacesThroughAccessPoint").Resource = "*")),
      /WorkspacesThroughAccessPoint allows elasticfilesystem:ClientRootAccess on a wildcard resource/,
    ],
    [
      "OHT_IAM_009",
      "sandbox roles are created with the app boundary (a sandbox's credentials read the events)",
      (s) => {
        const ref = appBoundaryRef(s);
        editPolicy(hostPolicy(s), (st) => (bySid(st, "SandboxRolesBounded").Condition.StringEquals["iam:PermissionsBoundary"] = ref));
      },
      /the permissions boundary allows more than elasticfilesystem:ClientMount and elasticfilesystem:ClientWrite: .*s3:GetObject/,
    ],
    [
      "OHT_IAM_009",
      "the sandbox boundary allows EFS on every file system of the account",
      (s) => editPolicy(boundary(s), (st) => (st[0]!.Resource = "*")),
      /WorkspaceMountOnly names a wildcard resource/,
    ],
    [
      "OHT_IAM_003",
      "the spawner may list tasks of every cluster",
      (s) => editPolicy(hostPolicy(s), (st) => delete bySid(st, "EcsListUserTasks").Condition),
      /EcsListUserTasks allows ecs:ListTasks on "\*" without a ecs:cluster condition/,
    ],
    [
      "OHT_IAM_010",
      "the host may change any record of the sandbox zone (no condition)",
      (s) => editPolicy(hostPolicy(s), (st) => delete bySid(st, "SandboxZoneHostRecord").Condition),
      /SandboxZoneHostRecord allows route53:ChangeResourceRecordSets without pinning .*NormalizedRecordNames/,
    ],
    [
      "OHT_IAM_010",
      "the host may repoint records of every zone of the account (the app's public names too)",
      (s) => editPolicy(hostPolicy(s), (st) => (bySid(st, "SandboxZoneHostRecord").Resource = "arn:aws:route53:::hostedzone/*")),
      /SandboxZoneHostRecord allows route53:ChangeResourceRecordSets on zones it does not name/,
    ],
    [
      "OHT_IAM_010",
      "the record name matches any name (StringLike *)",
      (s) =>
        editPolicy(hostPolicy(s), (st) => {
          const condition = bySid(st, "SandboxZoneHostRecord").Condition;
          const names = "route53:ChangeResourceRecordSetsNormalizedRecordNames";
          delete condition["ForAllValues:StringEquals"][names];
          condition["ForAllValues:StringLike"] = { [names]: ["*"] };
        }),
      /without pinning route53:ChangeResourceRecordSetsNormalizedRecordNames \(ForAllValues/,
    ],
    [
      "OHT_IAM_010",
      "a plain StringEquals on a multivalued key (one change of the batch pinned, the others free)",
      (s) =>
        editPolicy(hostPolicy(s), (st) => {
          const condition = bySid(st, "SandboxZoneHostRecord").Condition;
          condition.StringEquals = condition["ForAllValues:StringEquals"];
          delete condition["ForAllValues:StringEquals"];
        }),
      /without pinning route53:ChangeResourceRecordSetsNormalizedRecordNames, .*RecordTypes, .*Actions/,
    ],
    [
      "OHT_IAM_010",
      "a request without changes of that key passes ForAllValues vacuously (Null guard removed)",
      (s) => editPolicy(hostPolicy(s), (st) => delete bySid(st, "SandboxZoneHostRecord").Condition.Null),
      /without a Null "false" condition on route53:ChangeResourceRecordSetsNormalizedRecordNames/,
    ],
    [
      "OHT_IAM_010",
      "the host may delete the record (sandbox names stop resolving)",
      (s) =>
        editPolicy(hostPolicy(s), (st) => {
          const keys = bySid(st, "SandboxZoneHostRecord").Condition["ForAllValues:StringEquals"];
          keys["route53:ChangeResourceRecordSetsActions"] = ["UPSERT", "DELETE"];
        }),
      /SandboxZoneHostRecord allows route53:ChangeResourceRecordSets with DELETE among the allowed actions/,
    ],
    [
      "OHT_IAM_010",
      "a second statement grants the change with no guard at all",
      (s) =>
        editPolicy(hostPolicy(s), (st) =>
          st.push({ Sid: "LooseDns", Effect: "Allow", Action: "Route53:ChangeResourceRecordSets", Resource: "*" }),
        ),
      /LooseDns allows Route53:ChangeResourceRecordSets on zones it does not name/,
    ],
    ["OHT_EFS_005", "plain NFS mounts are no longer denied", withoutSid("DenyUnencryptedTransport"), /does not deny mounts without TLS$/],
    ["OHT_EFS_005", "anonymous mounts are no longer denied", withoutSid("DenyMountsWithoutIam"), /mounts without IAM authorisation$/],
    [
      "OHT_EFS_005",
      "mounts of the root are no longer denied",
      withoutSid("DenyMountsWithoutAccessPoint"),
      /does not deny mounts without an access point$/,
    ],
    [
      "OHT_EFS_005",
      "the file system no longer says which mode it serves",
      (s) => delete resources(s, "data", "aws_efs_file_system")[0]![1].tags["openhands-team:compute-mode"],
      /no openhands-team:compute-mode tag/,
    ],
  ];

  it.each(attacks)("WHEN %s catches that %s THEN it fails with a reason", (checkId, _what, mutate, message) => {
    const stacks = JSON.parse(pristine) as Stacks;
    mutate(stacks);
    const failed = flagged(checkDeployment(stacks), checkId);
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) expect(f.message).toMatch(message);
  });

  it("THEN every check made for ECS mode is tried by at least one attack", () => {
    const tried = new Set(attacks.map(([id]) => id));
    for (const id of ["OHT_SG_005", "OHT_EFS_005", "OHT_IAM_007", "OHT_IAM_008", "OHT_IAM_009", "OHT_IAM_010"]) expect(tried).toContain(id);
  });
});
