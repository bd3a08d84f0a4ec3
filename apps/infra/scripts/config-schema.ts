/**
 * `pnpm --filter @openhands-team/infra config:schema [--check]`: writes config/schema.json from the zod schema,
 * or with --check exits 1 when the committed file differs from what the schema generates.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { JSON_SCHEMA_FILE, configJsonSchemaText } from "../src/config/json-schema";

const file = resolve(__dirname, "..", JSON_SCHEMA_FILE);
const text = configJsonSchemaText();
if (process.argv.includes("--check")) {
  let committed = "";
  try {
    committed = readFileSync(file, "utf8");
  } catch {
    // A missing file is out of date like any other.
  }
  if (committed !== text) {
    console.error(`${JSON_SCHEMA_FILE} is out of date with src/config/schema.ts: run pnpm --filter @openhands-team/infra config:schema`);
    process.exitCode = 1;
  } else console.log(`${JSON_SCHEMA_FILE} is up to date`);
} else {
  writeFileSync(file, text);
  console.log(`wrote ${JSON_SCHEMA_FILE}`);
}
