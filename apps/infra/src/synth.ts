import { existsSync, readFileSync, readdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join, relative, basename } from "node:path";
import { App } from "cdktf";
import type { DeploymentConfig } from "./config/schema";
import { buildDeployment } from "./app";
import { STACK_IDS } from "./config/names";
import { displayPath } from "./config/load";

export interface StackSummary {
  readonly id: string;
  readonly region: string;
  readonly backend: string;
  readonly resources: number;
  readonly dataSources: number;
  readonly outputs: number;
  /** What the stack left out, and why (printed under the summary). */
  readonly notes: readonly string[];
}

/**
 * Synthesizes into `outdir` atomically: a failure leaves the previous output untouched and no partial folder.
 * `step` hears each stage as it starts (the CLIs print it as progress).
 */
export function synthesize(
  config: DeploymentConfig,
  outdir: string,
  inPlace = false,
  step: (what: string) => void = () => {},
): StackSummary[] {
  const target = inPlace ? outdir : join(dirname(outdir), `.${basename(outdir)}.tmp-${process.pid}`);
  rmSync(target, { recursive: true, force: true });
  try {
    step(`building the ${STACK_IDS.length} stacks (${STACK_IDS.join(", ")})`);
    const app = new App({ outdir: target, skipValidation: false });
    const stacks = buildDeployment(app, config);
    step("synthesizing Terraform JSON and checking the constructs");
    app.synth();
    if (!inPlace) step(`writing ${displayPath(outdir)}`);
    const notes = new Map(Object.values(stacks).map((stack) => [stack.stackId as string, [...stack.notes]]));
    const summary = summarize(target).map((s) => ({ ...s, notes: notes.get(s.id) ?? [] }));
    if (!inPlace) {
      const old = `${target}.old`;
      if (existsSync(outdir)) renameSync(outdir, old);
      renameSync(target, outdir);
      rmSync(old, { recursive: true, force: true });
    }
    return summary;
  } catch (err) {
    if (!inPlace) rmSync(target, { recursive: true, force: true });
    throw err;
  }
}

type Json = Record<string, any>;

function count(blocks: Json | undefined): number {
  return Object.values(blocks ?? {}).reduce((n: number, byName) => n + Object.keys(byName as Json).length, 0);
}

/** Reads the synthesized stacks back: what a reviewer wants to see before `cdktf deploy`. */
export function summarize(outdir: string): StackSummary[] {
  const stacksDir = join(outdir, "stacks");
  const manifest = JSON.parse(readFileSync(join(outdir, "manifest.json"), "utf8")) as { stacks: Record<string, unknown> };
  const order = (id: string) => (STACK_IDS as readonly string[]).indexOf(id);
  return Object.keys(manifest.stacks)
    .sort((a, b) => order(a) - order(b))
    .map((id) => {
      const tf = JSON.parse(readFileSync(join(stacksDir, id, "cdk.tf.json"), "utf8")) as Json;
      const providers = (tf.provider?.aws ?? []) as Json[];
      const regions = providers.map((p) => (p.alias ? `${p.region} (alias ${p.alias})` : p.region));
      const backend = Object.keys(tf.terraform?.backend ?? {})[0] ?? (tf.terraform?.cloud ? "terraform cloud" : "none");
      return {
        id,
        region: regions.join(", "),
        backend,
        resources: count(tf.resource),
        dataSources: count(tf.data),
        outputs: Object.keys(tf.output ?? {}).length,
        notes: [],
      };
    });
}

export function formatSummary(summary: readonly StackSummary[], outdir: string, configPath: string, ms: number): string {
  const rows = [["stack", "region", "backend", "resources", "data", "outputs"]].concat(
    summary.map((s) => [s.id, s.region, s.backend, String(s.resources), String(s.dataSources), String(s.outputs)]),
  );
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join("  ")
      .trimEnd(),
  );
  const rel = (p: string) => {
    const path = relative(process.cwd(), p) || ".";
    return path.startsWith("..") ? p : path;
  };
  return [
    `config: ${rel(configPath)}`,
    ...lines,
    ...summary.flatMap((s) => s.notes.map((note) => `note (${s.id}): ${note}`)),
    `${summary.length} stacks, ${summary.reduce((n, s) => n + s.resources, 0)} resources, written to ` +
      `${rel(outdir)}/stacks/<stack>/cdk.tf.json in ${(ms / 1000).toFixed(2)} s`,
  ].join("\n");
}

/** Stack folders present in an output folder. */
export function stackDirs(outdir: string): string[] {
  const stacksDir = join(outdir, "stacks");
  return existsSync(stacksDir) ? readdirSync(stacksDir).map((d) => join(stacksDir, d)) : [];
}
