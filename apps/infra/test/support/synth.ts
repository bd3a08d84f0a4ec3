/** Synthesizes a deployment once per configuration and offers its stacks as parsed Terraform JSON. */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { DEFAULT_CONFIG } from "../../src/cli-options";
import { ConfigError, parseConfig } from "../../src/config/load";
import type { DeploymentConfig } from "../../src/config/schema";
import { synthesize } from "../../src/synth";
import type { StackId } from "../../src/config/names";

export type Json = Record<string, any>;

/** The bundled example, as written in the file (a fresh copy each call, safe to mutate). */
export function exampleInput(): Json {
  return parseYaml(readFileSync(DEFAULT_CONFIG, "utf8")) as Json;
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

/** Switches on every optional main-region resource of the example: endpoints, flow logs, route tables, the VPC-origin group, alarm e-mail, office hours. */
export function withEveryOption(raw: Json): void {
  raw.cost.interfaceEndpoints = true;
  raw.network.flowLogs = true;
  raw.network.privateRouteTableIds = ["rtb-0123456789abcdef0"];
  raw.network.vpcOriginSecurityGroupId = "sg-0123456789abcdef0";
  raw.monitoring.alarmEmail = "ops@example.com";
  raw.cost.officeHours = { timeZone: "Europe/Berlin", start: "0 7 * * MON-FRI", stop: "0 20 * * MON-FRI" };
}

export function exampleConfig(mutate?: (raw: Json) => void): DeploymentConfig {
  const raw = exampleInput();
  mutate?.(raw);
  return parseConfig(raw);
}

export interface Synthesized {
  readonly outdir: string;
  readonly stacksDir: string;
  stack(id: StackId): Json;
  /** All resources of one type in a stack, by name. */
  resources(id: StackId, type: string): Record<string, Json>;
}

export function synthDeployment(config: DeploymentConfig = exampleConfig()): Synthesized {
  const outdir = join(mkdtempSync(join(tmpdir(), "oh-synth-")), "cdktf.out");
  synthesize(config, outdir);
  const stacksDir = join(outdir, "stacks");
  const cache = new Map<string, Json>();
  const stack = (id: StackId): Json => {
    if (!cache.has(id)) cache.set(id, JSON.parse(readFileSync(join(stacksDir, id, "cdk.tf.json"), "utf8")) as Json);
    return cache.get(id)!;
  };
  return {
    outdir,
    stacksDir,
    stack,
    resources: (id, type) => (stack(id).resource?.[type] ?? {}) as Record<string, Json>,
  };
}
