import { displayPath, loadConfig, ConfigError } from "./config/load";
import { EXIT, progress, readSynthOptions, SYNTH_USAGE, UsageError } from "./cli-options";
import { formatSummary, synthesize } from "./synth";

function main(): number {
  const started = Date.now();
  const step = progress("synth");
  try {
    const options = readSynthOptions(process.argv.slice(2), process.env);
    if (options.help) {
      console.log(SYNTH_USAGE);
      return EXIT.ok;
    }
    step(`checking ${displayPath(options.configPath)}`);
    const config = loadConfig(options.configPath);
    const summary = synthesize(config, options.outdir, options.runByCdktfCli, step);
    console.log(formatSummary(summary, options.outdir, options.configPath, Date.now() - started));
    return EXIT.ok;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`synth: ${err.message}\n${err.usage.split("\n")[0]!} (--help for more)`);
      return EXIT.invalid;
    }
    if (err instanceof ConfigError) {
      console.error(err.message);
      console.error("Nothing was written.");
      return EXIT.invalid;
    }
    console.error(`synth failed: ${err instanceof Error ? err.message : String(err)}`);
    console.error("Nothing was written.");
    return EXIT.failed;
  }
}

process.exitCode = main();
