/**
 * Offline Terraform for tests: `terraform validate` and `terraform plan` on synthesized stacks, against the
 * AWS provider filesystem mirror of the machine (hashicorp/aws 5.100.0). Nothing here talks to AWS.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const KNOWN_MIRRORS = ["/opt/tf-plugins", "/usr/share/terraform/plugins", "/root/.terraform.d/plugins"];
const PROVIDER = "registry.terraform.io/hashicorp/aws";

export interface TerraformTools {
  readonly terraform: string;
  /** A CLI config that installs the AWS provider from the mirror. */
  readonly cliConfigFile: string;
}

/** Finds terraform and the provider mirror, or says loudly why the Terraform tests cannot run here. */
export function findTerraformTools(): TerraformTools | { missing: string } {
  const which = spawnSync("sh", ["-c", "command -v terraform"], { encoding: "utf8" });
  const terraform = which.stdout.trim();
  if (!terraform) return { missing: "terraform is not on PATH" };
  const mirror = [process.env.TF_PROVIDER_MIRROR, ...KNOWN_MIRRORS].find(
    (dir): dir is string => Boolean(dir) && existsSync(join(dir as string, PROVIDER, "5.100.0")),
  );
  if (!mirror) return { missing: `no AWS provider 5.100.0 mirror (looked in TF_PROVIDER_MIRROR, ${KNOWN_MIRRORS.join(", ")})` };
  const dir = mkdtempSync(join(tmpdir(), "oh-tfrc-"));
  const cliConfigFile = join(dir, "terraformrc");
  writeFileSync(
    cliConfigFile,
    `provider_installation {\n  filesystem_mirror {\n    path = "${mirror}"\n    include = ["${PROVIDER}"]\n  }\n  direct {\n    ` +
      `exclude = ["${PROVIDER}"]\n  }\n}\ndisable_checkpoint = true\n`,
  );
  return { terraform, cliConfigFile };
}

type Json = Record<string, any>;

function run(tools: TerraformTools, cwd: string, args: string[]): string {
  try {
    return execFileSync(tools.terraform, args, {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        PATH: process.env.PATH,
        HOME: cwd,
        TF_CLI_CONFIG_FILE: tools.cliConfigFile,
        TF_IN_AUTOMATION: "1",
        CHECKPOINT_DISABLE: "1",
        AWS_EC2_METADATA_DISABLED: "true",
      },
      timeout: 120_000,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`terraform ${args.join(" ")} failed in ${cwd}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }
}

function copyStack(stackDir: string): string {
  const work = mkdtempSync(join(tmpdir(), "oh-tf-"));
  cpSync(stackDir, work, { recursive: true, filter: (src) => !src.includes(".terraform") });
  return work;
}

/** `terraform init -backend=false` + `terraform validate`; returns the validate JSON. */
export function validateStack(tools: TerraformTools, stackDir: string): { valid: boolean; diagnostics: Json[] } {
  const work = copyStack(stackDir);
  run(tools, work, ["init", "-backend=false", "-input=false", "-no-color"]);
  const out = run(tools, work, ["validate", "-json", "-no-color"]);
  const parsed = JSON.parse(out) as { valid: boolean; diagnostics: Json[] };
  return { valid: parsed.valid, diagnostics: parsed.diagnostics };
}

const FAKE_ACCOUNT = "123456789012";

/**
 * A plausible value for a cross-stack output, from the resource type and attribute in its cdktf name
 * (`cross-stack-output-<type><name><attribute>`), so that plan-time validators (ARN formats) accept it.
 */
export function fakeOutputValue(outputName: string, region: string): unknown {
  const attr = outputName.toLowerCase();
  if (/(subnet_?ids|ids|security_groups)$/.test(attr)) return ["fake-1", "fake-2"];
  const service = /aws_([a-z0-9]+)_/.exec(attr)?.[1] ?? "iam";
  const svc =
    { lb: "elasticloadbalancing", cognito: "cognito-idp", rds: "rds", efs: "elasticfilesystem", sns: "sns", s3: "s3" }[service] ?? service;
  if (attr.endsWith("arn") || attr.endsWith("qualified_arn")) {
    if (svc === "s3") return "arn:aws:s3:::fake-bucket";
    if (svc === "lambda") return `arn:aws:lambda:us-east-1:${FAKE_ACCOUNT}:function:fake:1`;
    return `arn:aws:${svc}:${region}:${FAKE_ACCOUNT}:fake/fake`;
  }
  if (attr.endsWith("zone_id")) return "Z0123456789FAKEZONE";
  if (attr.endsWith("dns_name") || attr.endsWith("domain_name") || attr.endsWith("endpoint")) return "fake.example.com";
  return "fake-value";
}

/**
 * The stack's JSON with each `aws_subnet` data source (read from EC2 at plan time, which cannot happen offline) replaced
 * by a local value of the shape AWS returns: `data.aws_subnet.<name>` becomes `local.offline_subnet_<name>`, whose
 * cidr_block is 10.0.<128 + 16 i>.0/20 (inside the examples' VPC, 10.0.0.0/16).
 */
function offlineSubnets(tf: Json): string {
  const subnets = Object.keys((tf.data?.aws_subnet ?? {}) as Json);
  if (subnets.length === 0) return JSON.stringify(tf, null, 2);
  delete tf.data.aws_subnet;
  if (Object.keys(tf.data).length === 0) delete tf.data;
  tf.locals = {
    ...tf.locals,
    ...Object.fromEntries(subnets.map((name, i) => [`offline_subnet_${name}`, { cidr_block: `10.0.${128 + 16 * i}.0/20` }])),
  };
  let text = JSON.stringify(tf, null, 2);
  for (const name of subnets) text = text.replaceAll(`data.aws_subnet.${name}.`, `local.offline_subnet_${name}.`);
  return text;
}

/**
 * `terraform plan` offline: a copy of the stack with a local backend, dummy credentials, and each
 * remote-state read switched to a local state file holding plausible values of the producer's outputs.
 */
export function planStack(tools: TerraformTools, stacksDir: string, stackId: string): string {
  const work = copyStack(join(stacksDir, stackId));
  const file = join(work, "cdk.tf.json");
  const tf = JSON.parse(readFileSync(file, "utf8")) as Json;
  delete tf.terraform.backend;
  delete tf.terraform.cloud;
  tf.terraform.backend = { local: { path: join(work, "terraform.tfstate") } };
  for (const provider of tf.provider?.aws ?? []) {
    Object.assign(provider, {
      access_key: "AKIAFAKEFAKEFAKEFAKE",
      secret_key: "fake-secret-for-offline-plan",
      skip_credentials_validation: true,
      skip_requesting_account_id: true,
      skip_metadata_api_check: true,
      skip_region_validation: true,
    });
  }
  const remoteStates = (tf.data?.terraform_remote_state ?? {}) as Record<string, Json>;
  mkdirSync(join(work, "remote"), { recursive: true });
  for (const name of Object.keys(remoteStates)) {
    const producer = name.replace(/^cross-stack-reference-input-/, "");
    const producerTf = JSON.parse(readFileSync(join(stacksDir, producer, "cdk.tf.json"), "utf8")) as Json;
    const region = (producerTf.provider?.aws?.[0]?.region as string) ?? "us-east-1";
    const outputs: Json = {};
    for (const outputName of Object.keys(producerTf.output ?? {})) {
      const value = fakeOutputValue(outputName, region);
      outputs[outputName] = { value, type: Array.isArray(value) ? ["list", "string"] : "string" };
    }
    const statePath = join(work, "remote", `${producer}.tfstate`);
    writeFileSync(
      statePath,
      JSON.stringify({ version: 4, terraform_version: "1.11.4", serial: 1, lineage: "fake", outputs, resources: [] }),
    );
    remoteStates[name] = { backend: "local", config: { path: statePath } };
  }
  writeFileSync(file, offlineSubnets(tf));
  run(tools, work, ["init", "-input=false", "-no-color"]);
  return run(tools, work, ["plan", "-refresh=false", "-lock=false", "-input=false", "-no-color"]);
}
