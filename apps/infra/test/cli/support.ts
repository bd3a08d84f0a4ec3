/**
 * Runs the built CLIs as a user does: `node dist/src/main.js` (synth) and `node dist/src/cost/cli.js` (cost),
 * or `pnpm synth` / `pnpm cost` at the repository root. The tests skip loudly without a build.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { exampleInput, type Json } from "../support/template";

export const PACKAGE = resolve(__dirname, "../..");
export const REPOSITORY = resolve(PACKAGE, "../..");
export const SYNTH = join(PACKAGE, "dist/src/main.js");
export const COST = join(PACKAGE, "dist/src/cost/cli.js");

/** `it`, or `it.skip` with a loud reason when the CLI has not been built. */
export function itWithBuild(cli: string): jest.It {
  if (existsSync(cli)) return it;
  console.warn(`\n!!! SKIPPED: ${cli} is missing; run pnpm build in apps/infra first.\n`);
  return it.skip;
}

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a CLI with node; the environment has no OH_TEAM_CONFIG, CDKTF_OUTDIR or INIT_CWD unless given. */
export function run(cli: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd = PACKAGE): Run {
  const base = { ...process.env };
  for (const name of ["OH_TEAM_CONFIG", "CDKTF_OUTDIR", "INIT_CWD"]) delete base[name];
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...base, ...env }, cwd });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A folder with the example configuration changed by `mutate`, written as `name`. */
export function configFile(mutate: (raw: Json) => void = () => {}, name = "deploy.yaml"): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), "oh-cli-"));
  const raw = exampleInput();
  mutate(raw);
  const file = join(dir, name);
  writeFileSync(file, stringify(raw));
  return { dir, file };
}

/** The last non-empty line of a text. */
export const lastLine = (text: string) => text.trimEnd().split("\n").pop() ?? "";
