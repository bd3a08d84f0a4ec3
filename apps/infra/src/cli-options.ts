import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";

/** The infra package folder, whether running from src/ (tests, tsx) or dist/src/ (built). */
export const PACKAGE_ROOT = (() => {
  let dir = __dirname;
  while (!existsSync(join(dir, "cdktf.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();
export const DEFAULT_CONFIG = resolve(PACKAGE_ROOT, "config/example.yaml");

/** Exit statuses of both CLIs. */
export const EXIT = { ok: 0, failed: 1, invalid: 2 } as const;

/** A command line the CLI cannot run: an unknown option, a missing value. Exits 2 with the usage line. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

/** Where the infra app reads its configuration and writes Terraform; the only place that interprets argv and env. */
export interface SynthOptions {
  /** Configuration file. */
  readonly configPath: string;
  /** Output folder. */
  readonly outdir: string;
  /** True when the cdktf CLI runs the app: it owns the output folder. */
  readonly runByCdktfCli: boolean;
  /** `--help`: print the usage and do nothing else. */
  readonly help: boolean;
}

export interface CostOptions {
  readonly configPath: string;
  readonly help: boolean;
}

const CONFIG_HELP = `  -c, --config <file>   the deployment configuration, also --config=<file>
                        (default: $OH_TEAM_CONFIG, else apps/infra/config/example.yaml)`;
const PATHS_HELP = `Relative paths are read from the folder the command was started in.`;

export const SYNTH_USAGE = `Usage: pnpm synth [--config <file>] [--out <folder>]

Checks the deployment configuration and writes the Terraform JSON of its six stacks
(<folder>/stacks/<stack>/cdk.tf.json), then prints a summary. Progress goes to stderr.

Options:
${CONFIG_HELP}
      --out <folder>    output folder, replaced as a whole only when synthesis succeeds
                        (default: $CDKTF_OUTDIR, else apps/infra/cdktf.out)
  -h, --help            print this help and exit

${PATHS_HELP}
Exit status: 0 written; 2 invalid configuration or command line (nothing written);
1 synthesis failed (nothing written).`;

export const COST_USAGE = `Usage: pnpm cost [--config <file>]

Synthesizes the deployment into a temporary folder and prints a monthly estimate from its
Terraform, before Bedrock tokens, with the price table's date, sources and a legend of its markers.

Options:
${CONFIG_HELP}
  -h, --help            print this help and exit

${PATHS_HELP}
Exit status: 0 printed; 2 invalid configuration or command line; 1 estimate failed.`;

function parse<T extends Record<string, { type: "string" | "boolean"; short?: string }>>(
  argv: readonly string[],
  options: T,
  usage: string,
) {
  // `pnpm synth -- --config x` passes the separator through.
  const args = argv[0] === "--" ? argv.slice(1) : [...argv];
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as {
      [K in keyof T]?: T[K]["type"] extends "string" ? string : boolean;
    };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message = (err as Error).message;
    const quoted = /'([^']+)'/.exec(message)?.[1] ?? "";
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw new UsageError(`unknown argument "${quoted}"`, usage);
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL")
      throw new UsageError(`unexpected argument "${quoted}" (a file goes after --config)`, usage);
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      const option = /--[a-z]+/.exec(message)?.[0] ?? quoted;
      throw new UsageError(`${option} needs a value (${option} <value> or ${option}=<value>)`, usage);
    }
    throw new UsageError(message, usage);
  }
}

/** The folder relative paths mean: where the user ran the command (pnpm runs a package's script in the package's folder). */
const baseOf = (env: NodeJS.ProcessEnv) => env.INIT_CWD || process.cwd();

function configPathOf(given: string | undefined, env: NodeJS.ProcessEnv): string {
  const base = baseOf(env);
  if (given !== undefined) return resolve(base, given);
  return env.OH_TEAM_CONFIG ? resolve(base, env.OH_TEAM_CONFIG) : DEFAULT_CONFIG;
}

export function readSynthOptions(argv: readonly string[], env: NodeJS.ProcessEnv): SynthOptions {
  const values = parse(
    argv,
    { config: { type: "string", short: "c" }, out: { type: "string" }, help: { type: "boolean", short: "h" } },
    SYNTH_USAGE,
  );
  const outdir = values.out !== undefined ? resolve(baseOf(env), values.out) : env.CDKTF_OUTDIR || resolve(PACKAGE_ROOT, "cdktf.out");
  return { configPath: configPathOf(values.config, env), outdir, runByCdktfCli: Boolean(env.CDKTF_OUTDIR), help: Boolean(values.help) };
}

export function readCostOptions(argv: readonly string[], env: NodeJS.ProcessEnv): CostOptions {
  const values = parse(argv, { config: { type: "string", short: "c" }, help: { type: "boolean", short: "h" } }, COST_USAGE);
  return { configPath: configPathOf(values.config, env), help: Boolean(values.help) };
}

/** Progress of a long step, on stderr so that stdout keeps only the result. */
export function progress(command: string): (step: string) => void {
  return (step) => process.stderr.write(`${command}: ${step}\n`);
}
