/**
 * `pnpm cost [--config <file>]`: synthesizes the deployment (--config, else OH_TEAM_CONFIG, else
 * config/example.yaml) into a temporary folder, then prints a monthly estimate from that Terraform, the price
 * table's date and sources, a legend of its markers, and the comparison with the reference deployment; then the
 * users' compute in docker mode against ecs mode, with the activity it assumes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COST_USAGE, EXIT, progress, readCostOptions, UsageError } from "../cli-options";
import { ConfigError, displayPath, loadConfig } from "../config/load";
import { loadSynthesizedStacks } from "../policy/runner";
import { synthesize } from "../synth";
import { estimateMonthlyCost, DEFAULT_USAGE, type CostLine } from "./estimate";
import { compareModes, formatModeComparison } from "./user-compute";
import { CONFIDENCE_LEGEND, PRICE_TABLE_DATE, PRICE_TABLE_REGION, PRICED_REGIONS, REFERENCE_MONTHLY } from "./prices";

/** Marks a figure priced with us-east-1's price for a region the table has no prices for. */
const UNPRICED = "*";

export function formatEstimate(lines: readonly CostLine[], heading: string): string {
  const total = lines.reduce((n, l) => n + l.monthly, 0);
  const width = Math.max(...lines.map((l) => l.item.length), "Total".length);
  const unpriced = [...new Set(lines.flatMap((l) => l.unpricedRegions))].sort();
  const marks = Math.max(...lines.map((l) => `[${l.confidence}]`.length)) + (unpriced.length ? UNPRICED.length : 0);
  const out = [
    heading,
    `Prices: ${PRICE_TABLE_REGION} on-demand as of ${PRICE_TABLE_DATE} (src/cost/prices.ts holds ${PRICED_REGIONS.join(", ")} only)`,
  ];
  if (unpriced.length) {
    out.push(
      `Warning: the price table has no prices for ${unpriced.join(", ")}; the ` +
        `${lines.filter((l) => l.unpricedRegions.length).length} lines marked ${UNPRICED} use ${PRICE_TABLE_REGION}'s prices there, ` +
        `and that region's real prices may differ.`,
    );
  }
  for (const l of lines) {
    const mark = `[${l.confidence}]${l.unpricedRegions.length ? UNPRICED : ""}`.padEnd(marks);
    out.push(
      `  ${l.item.padEnd(width)}  $${l.monthly.toFixed(2).padStart(7)}  ${mark}  ` +
        `${l.basis}${l.regions.length ? ` (${l.regions.join(", ")})` : ""}`,
    );
  }
  out.push(
    `  ${"Total".padEnd(width)}  ` +
      `$${total.toFixed(2).padStart(7)}${unpriced.length ? `  (${UNPRICED} lines at ${PRICE_TABLE_REGION} prices)` : ""}`,
  );
  out.push(
    `Markers: ${Object.entries(CONFIDENCE_LEGEND)
      .map(([mark, meaning]) => `[${mark}] ${meaning}`)
      .join(
        "; ",
      )}${unpriced.length ? `; ${UNPRICED} priced at ${PRICE_TABLE_REGION}'s price, the table has none for ${unpriced.join(", ")}` : ""}.`,
  );
  out.push(
    `Reference deployment: $${REFERENCE_MONTHLY.low}-${REFERENCE_MONTHLY.high} a month; this one is ` +
      `${((100 * total) / REFERENCE_MONTHLY.high).toFixed(0)}-${((100 * total) / REFERENCE_MONTHLY.low).toFixed(0)} % of it.`,
  );
  out.push(
    `Not included: the VPC's existing NAT gateway (~$32.85/month plus $0.045/GB in ${PRICE_TABLE_REGION} if it serves only this ` +
      `deployment), data transfer, Bedrock tokens. Usage assumed: ${JSON.stringify(DEFAULT_USAGE)}.`,
  );
  return out.join("\n");
}

function main(): number {
  const step = progress("cost");
  let work: string | undefined;
  try {
    const options = readCostOptions(process.argv.slice(2), process.env);
    if (options.help) {
      console.log(COST_USAGE);
      return EXIT.ok;
    }
    step(`checking ${displayPath(options.configPath)}`);
    const config = loadConfig(options.configPath);
    work = mkdtempSync(join(tmpdir(), "oh-cost-"));
    const outdir = join(work, "cdktf.out");
    synthesize(config, outdir, true, step);
    step("pricing the synthesized resources");
    const lines = estimateMonthlyCost(loadSynthesizedStacks(outdir));
    console.log(
      formatEstimate(
        lines,
        `Monthly estimate for ${config.name}-${config.environment} (${displayPath(options.configPath)}, main region ` +
          `${config.region}), before Bedrock tokens`,
      ),
    );
    console.log(formatModeComparison(compareModes(config), config.users.idleMinutes));
    return EXIT.ok;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`cost: ${err.message}\n${err.usage.split("\n")[0]!} (--help for more)`);
      return EXIT.invalid;
    }
    if (err instanceof ConfigError) {
      console.error(err.message);
      return EXIT.invalid;
    }
    console.error(`cost: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.failed;
  } finally {
    if (work) rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) process.exitCode = main();
