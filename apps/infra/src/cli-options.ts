import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** Where the infra app reads its configuration and writes Terraform; the only place that reads argv and env. */
export interface SynthOptions {
  /** Configuration file. */
  readonly configPath: string;
  /** Output folder. */
  readonly outdir: string;
  /** True when the cdktf CLI runs the app: it owns the output folder. */
  readonly runByCdktfCli: boolean;
}

/** The infra package folder, whether running from src/ (tests, tsx) or dist/src/ (built). */
export const PACKAGE_ROOT = (() => {
  let dir = __dirname;
  while (!existsSync(join(dir, "cdktf.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();
export const DEFAULT_CONFIG = resolve(PACKAGE_ROOT, "config/example.yaml");

export function readSynthOptions(argv: readonly string[], env: NodeJS.ProcessEnv): SynthOptions {
  // Relative paths mean the folder the user ran the command in (pnpm runs the script in the package's own folder).
  const base = env.INIT_CWD || process.cwd();
  let configPath = env.OH_TEAM_CONFIG ? resolve(base, env.OH_TEAM_CONFIG) : DEFAULT_CONFIG;
  let outdir = env.CDKTF_OUTDIR || resolve(PACKAGE_ROOT, "cdktf.out");
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = argv[i + 1];
    // `pnpm synth -- --config x` passes the separator through.
    if (arg === "--") continue;
    if ((arg === "--config" || arg === "--out") && (next === undefined || next.startsWith("--"))) {
      throw new Error(`${arg} needs a value (usage: synth [--config <file>] [--out <folder>])`);
    }
    if (arg === "--config") configPath = resolve(base, next as string);
    else if (arg === "--out") outdir = resolve(base, next as string);
    else throw new Error(`unknown argument "${arg}" (usage: synth [--config <file>] [--out <folder>])`);
    i++;
  }
  return { configPath, outdir, runByCdktfCli: Boolean(env.CDKTF_OUTDIR) };
}
