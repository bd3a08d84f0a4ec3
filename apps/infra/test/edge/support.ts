/** Helpers for the us-east-1 stack tests: one resource by type, references, and the edge policy checks. */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "cdktf";
import type { DeploymentConfig } from "../../src/config/schema";
import { AuthStack } from "../../src/stacks/auth-stack";
import type { Json, Synthesized } from "../support/synth";
import type { PolicyCheck, PolicyResource, PolicySuppression } from "../../src/policy/types";

/** Resources of a type in a stack, without cdktf's `//` metadata. */
export function all(synth: Synthesized, stack: "auth" | "edge", type: string): Json[] {
  return Object.values(synth.resources(stack, type)).map((body) => {
    const { ["//"]: _meta, ...rest } = body;
    return rest;
  });
}

/** The one resource of a type whose body matches `pick` (or the only one). */
export function one(synth: Synthesized, stack: "auth" | "edge", type: string, pick: (body: Json) => boolean = () => true): Json {
  const found = all(synth, stack, type).filter(pick);
  if (found.length !== 1) throw new Error(`expected one ${type} in ${stack}, found ${found.length}`);
  return found[0]!;
}

/** `${<type>.<name>.<attribute>}` of the resource whose body matches `pick`. */
export function ref(synth: Synthesized, stack: "auth" | "edge", type: string, attribute: string, pick: (body: Json) => boolean): string {
  const entries = Object.entries(synth.resources(stack, type)).filter(([, body]) => pick(body));
  if (entries.length !== 1) throw new Error(`expected one ${type} in ${stack}, found ${entries.length}`);
  return `\${${type}.${entries[0]![0]}.${attribute}}`;
}

export interface Finding {
  readonly checkId: string;
  readonly resource: string;
  readonly message: string;
  readonly suppressed: boolean;
}

/** Runs checks over stacks the way the policy suite does: each check on each resource of its types. */
export function runChecks(
  stacks: Record<string, Json>,
  checks: readonly PolicyCheck[],
  suppressions: readonly PolicySuppression[] = [],
): Finding[] {
  const findings: Finding[] = [];
  for (const [stack, stackJson] of Object.entries(stacks)) {
    for (const [type, byName] of Object.entries((stackJson.resource ?? {}) as Record<string, Record<string, Json>>)) {
      for (const [name, body] of Object.entries(byName)) {
        const resource: PolicyResource = { stack, type, name, body, stackJson };
        for (const check of checks.filter((c) => c.resourceTypes.includes(type))) {
          const message = check.evaluate(resource);
          if (message === undefined) continue;
          const address = `${stack}.${type}.${name}`;
          const suppressed = suppressions.some((s) => s.checkId === check.id && (s.resource === "*" || s.resource === address));
          findings.push({ checkId: check.id, resource: address, message, suppressed });
        }
      }
    }
  }
  return findings;
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
  const { ["//"]: _meta, ...rest } = bodies[0]!;
  return rest;
}
