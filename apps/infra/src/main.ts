import { loadConfig, ConfigError } from "./config/load";
import { readSynthOptions } from "./cli-options";
import { formatSummary, synthesize } from "./synth";

function main(): number {
  const started = Date.now();
  try {
    const options = readSynthOptions(process.argv.slice(2), process.env);
    const config = loadConfig(options.configPath);
    const summary = synthesize(config, options.outdir, options.runByCdktfCli);
    console.log(formatSummary(summary, options.outdir, options.configPath, Date.now() - started));
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      console.error("Nothing was written.");
      return 2;
    }
    console.error(`synth failed: ${err instanceof Error ? err.message : String(err)}`);
    console.error("Nothing was written.");
    return 1;
  }
}

process.exitCode = main();
