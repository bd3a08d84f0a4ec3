/**
 * `pnpm cost [-- --config <file>]`: synthesizes the deployment (config/example.yaml by default) into a
 * temporary folder, then prints a monthly estimate from that Terraform, the price table's date and sources,
 * and the comparison with the reference deployment.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { readSynthOptions } from "../cli-options";
import { ConfigError, loadConfig } from "../config/load";
import { loadSynthesizedStacks } from "../policy/runner";
import { synthesize } from "../synth";
import { estimateMonthlyCost, DEFAULT_USAGE } from "./estimate";
import { PRICE_TABLE_DATE, PRICE_TABLE_REGION, REFERENCE_MONTHLY } from "./prices";

function main(): number {
  // Only the synth CLI reads the environment (test/imports.test.ts); the cost takes `--config <file>`.
  const options = readSynthOptions(process.argv.slice(2), {});
  const work = mkdtempSync(join(tmpdir(), "oh-cost-"));
  try {
    const config = loadConfig(options.configPath);
    const outdir = join(work, "cdktf.out");
    synthesize(config, outdir, true);
    const lines = estimateMonthlyCost(loadSynthesizedStacks(outdir));
    const total = lines.reduce((n, l) => n + l.monthly, 0);
    const width = Math.max(...lines.map((l) => l.item.length));
    console.log(`Monthly estimate for ${config.name}-${config.environment} (${relative(process.cwd(), options.configPath) || options.configPath}), before Bedrock tokens`);
    console.log(`Prices: ${PRICE_TABLE_REGION} on-demand as of ${PRICE_TABLE_DATE} (src/cost/prices.ts; the main region ${config.region} is assumed to match)`);
    for (const l of lines) console.log(`  ${l.item.padEnd(width)}  $${l.monthly.toFixed(2).padStart(7)}  [${l.confidence}] ${l.basis}`);
    console.log(`  ${"Total".padEnd(width)}  $${total.toFixed(2).padStart(7)}`);
    console.log(
      `Reference deployment: $${REFERENCE_MONTHLY.low}-${REFERENCE_MONTHLY.high} a month; this one is ${((100 * total) / REFERENCE_MONTHLY.high).toFixed(0)}-${((100 * total) / REFERENCE_MONTHLY.low).toFixed(0)} % of it.`,
    );
    console.log(
      `Not included: the VPC's existing NAT gateway (~$32.85/month plus $0.045/GB if it serves only this deployment), data transfer, Bedrock tokens. Usage assumed: ${JSON.stringify(DEFAULT_USAGE)}.`,
    );
    return 0;
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `cost: ${err instanceof Error ? err.message : String(err)}`);
    return err instanceof ConfigError ? 2 : 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

process.exitCode = main();
