/**
 * The test helpers of the package: the example configuration and its variants, and `Template`, which synthesizes
 * a deployment once per configuration and reads its stacks (resources by type, by name, by body, references,
 * policy documents, the policy suite's report). Tests are written GIVEN / WHEN / THEN.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "cdktf";
import { parse as parseYaml } from "yaml";
import { DEFAULT_CONFIG } from "../../src/cli-options";
import { ConfigError, parseConfig } from "../../src/config/load";
import type { DeploymentConfig } from "../../src/config/schema";
import { STACK_IDS, type StackId } from "../../src/config/names";
import { checkDeployment, type PolicyReport } from "../../src/policy";
import { quietInterpolations } from "../../src/policy/graph";
import { AuthStack } from "../../src/stacks/auth-stack";
import { synthesize } from "../../src/synth";

export type Json = Record<string, any>;

/** The bundled example, as written in the file (a fresh copy each call, safe to mutate). */
export function exampleInput(): Json {
  return parseYaml(readFileSync(DEFAULT_CONFIG, "utf8")) as Json;
}

/** The bundled ECS-mode example (config/example-ecs.yaml), as written in the file. */
export const ECS_EXAMPLE = join(__dirname, "../../config/example-ecs.yaml");

/** The ECS-mode example, validated, optionally changed by `mutate` first. */
export function ecsExampleConfig(mutate?: (raw: Json) => void): DeploymentConfig {
  const raw = parseYaml(readFileSync(ECS_EXAMPLE, "utf8")) as Json;
  mutate?.(raw);
  return parseConfig(raw);
}

/** The problems the validation reports for the example changed by `mutate`; empty when it is accepted. */
export function configProblems(mutate: (raw: Json) => void): string[] {
  const raw = exampleInput();
  mutate(raw);
  try {
    parseConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

/**
 * Switches on every optional resource of the example: endpoints, flow logs, route tables, the VPC-origin group,
 * alarm e-mail, office hours, edge access logs, an IPv4 and an IPv6 allow list, a custom login domain.
 */
export function withEveryOption(raw: Json): void {
  raw.cost.interfaceEndpoints = true;
  raw.network.flowLogs = true;
  raw.network.privateRouteTableIds = ["rtb-0123456789abcdef0"];
  raw.network.vpcOriginSecurityGroupId = "sg-0123456789abcdef0";
  raw.monitoring.alarmEmail = "ops@example.com";
  raw.cost.officeHours = { timeZone: "Europe/Berlin", start: "0 7 * * MON-FRI", stop: "0 20 * * MON-FRI" };
  raw.edge.accessLogs = true;
  raw.edge.allowedCidrs = ["203.0.113.0/24", "2001:db8::/32"];
  raw.cognito.customDomain = `login.${String(raw.domain.apex)}`;
}

export function exampleConfig(mutate?: (raw: Json) => void): DeploymentConfig {
  const raw = exampleInput();
  mutate?.(raw);
  return parseConfig(raw);
}

/** A body without cdktf's `//` metadata. */
function withoutMetadata(body: Json): Json {
  const { "//": _meta, ...rest } = body;
  return rest;
}

/** One synthesized deployment, read like CDK's `Template`: synthesized once, then only read. */
export class Template {
  private static readonly cache = new Map<string, Template>();
  private readonly parsed = new Map<string, Json>();

  /** The deployment of `config` (the example by default), synthesized once per configuration and process. */
  static synth(config: DeploymentConfig = exampleConfig()): Template {
    const key = JSON.stringify(config);
    let template = Template.cache.get(key);
    if (!template) {
      const outdir = join(mkdtempSync(join(tmpdir(), "oh-synth-")), "cdktf.out");
      synthesize(config, outdir);
      template = new Template(outdir);
      Template.cache.set(key, template);
    }
    return template;
  }

  readonly stacksDir: string;

  private constructor(readonly outdir: string) {
    this.stacksDir = join(outdir, "stacks");
  }

  /** A stack's Terraform JSON (shared: copy it with `stacks()` before changing it). */
  stack(id: StackId): Json {
    if (!this.parsed.has(id)) this.parsed.set(id, JSON.parse(readFileSync(join(this.stacksDir, id, "cdk.tf.json"), "utf8")) as Json);
    return this.parsed.get(id)!;
  }

  /** A deep copy of every stack (or of `ids`), safe to break on purpose. */
  stacks(ids: readonly StackId[] = STACK_IDS): Record<string, Json> {
    return Object.fromEntries(ids.map((id) => [id, JSON.parse(JSON.stringify(this.stack(id))) as Json]));
  }

  /** All resources of one type in a stack, by name (with cdktf's metadata). */
  resources(id: StackId, type: string): Record<string, Json> {
    return (this.stack(id).resource?.[type] ?? {}) as Record<string, Json>;
  }

  /** The bodies of every resource of a type, without metadata. */
  all(id: StackId, type: string): Json[] {
    return Object.values(this.resources(id, type)).map(withoutMetadata);
  }

  /** The one resource of a type whose body matches `pick` (or the only one); fails loudly otherwise. */
  one(id: StackId, type: string, pick: (body: Json) => boolean = () => true): Json {
    const found = this.all(id, type).filter(pick);
    if (found.length !== 1) throw new Error(`expected one ${type} in ${id}, found ${found.length}`);
    return found[0]!;
  }

  /** The resource of a type whose cdktf name starts with `prefix`. */
  named(id: StackId, type: string, prefix: string): Json {
    const entry = Object.entries(this.resources(id, type)).find(([name]) => name.startsWith(prefix));
    if (!entry) throw new Error(`no ${type} named ${prefix}* in ${id}`);
    return entry[1];
  }

  /** `${<type>.<name>.<attribute>}` of the resource whose body matches `pick`. */
  ref(id: StackId, type: string, attribute: string, pick: (body: Json) => boolean): string {
    const entries = Object.entries(this.resources(id, type)).filter(([, body]) => pick(body));
    if (entries.length !== 1) throw new Error(`expected one ${type} in ${id}, found ${entries.length}`);
    return `\${${type}.${entries[0]![0]}.${attribute}}`;
  }

  /** The project's policy suite (every check, every stack, the project's suppressions) over this deployment. */
  policy(): PolicyReport {
    return checkDeployment(Object.fromEntries(STACK_IDS.map((id) => [id, this.stack(id)])));
  }
}

/** The same as `Template.synth`, under the name the older tests use. */
export function synthDeployment(config?: DeploymentConfig): Template {
  return Template.synth(config);
}
export type Synthesized = Template;

/** The single resource of a type in a stack (fails loudly when there are none or several). */
export function only(synth: Template, stack: StackId, type: string): Json {
  const all = Object.values(synth.resources(stack, type));
  if (all.length !== 1) throw new Error(`expected one ${type} in ${stack}, found ${all.length}`);
  return all[0]!;
}

export const named = (synth: Template, stack: StackId, type: string, prefix: string): Json => synth.named(stack, type, prefix);
export const all = (synth: Template, stack: StackId, type: string): Json[] => synth.all(stack, type);
export const one = (synth: Template, stack: StackId, type: string, pick?: (body: Json) => boolean): Json => synth.one(stack, type, pick);
export const ref = (synth: Template, stack: StackId, type: string, attribute: string, pick: (body: Json) => boolean): string =>
  synth.ref(stack, type, attribute, pick);

/** The statements of a JSON policy string. */
export function statements(policy: string): Json[] {
  return (JSON.parse(quietInterpolations(policy)) as Json).Statement as Json[];
}

/** A statement by Sid. */
export function statement(policy: string, sid: string): Json {
  const found = statements(policy).find((s) => s.Sid === sid);
  if (!found) throw new Error(`no statement ${sid}`);
  return found;
}

/** The auth stack alone (it reads no other stack): a quick synth for configuration variants. */
export function synthAuthOnly(config: DeploymentConfig): Json {
  const outdir = mkdtempSync(join(tmpdir(), "oh-auth-"));
  const app = new App({ outdir });
  new AuthStack(app, config);
  app.synth();
  return JSON.parse(readFileSync(join(outdir, "stacks", "auth", "cdk.tf.json"), "utf8")) as Json;
}

/** The only resource of a type in a stack's JSON, without cdktf's metadata. */
export function onlyOf(stackJson: Json, type: string): Json {
  const bodies = Object.values((stackJson.resource?.[type] ?? {}) as Record<string, Json>);
  if (bodies.length !== 1) throw new Error(`expected one ${type}, found ${bodies.length}`);
  return withoutMetadata(bodies[0]!);
}
