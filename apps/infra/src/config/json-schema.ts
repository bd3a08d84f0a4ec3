import { z } from "zod";
import { DeploymentConfigSchema } from "./schema";

/** The committed JSON Schema of the configuration, next to the example that points editors at it. */
export const JSON_SCHEMA_FILE = "config/schema.json";

/**
 * The JSON Schema of the configuration file, generated from the zod schema: what editors complete and check
 * (yaml-language-server reads the `# yaml-language-server: $schema=` line of config/example.yaml).
 *
 * Draft 7, the draft yaml-language-server and VS Code's JSON support fully. Cross-field rules (the app host
 * inside the apex, maxSize >= minSize, the verified OpenHands pair) and refinements such as CIDR host bits
 * are not expressible there: `pnpm synth` checks them.
 */
export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(DeploymentConfigSchema, { io: "input", target: "draft-7", unrepresentable: "any" });
  const { $schema, ...rest } = generated as Record<string, unknown>;
  return {
    $schema,
    title: "openhands-team deployment configuration",
    description:
      "The configuration `pnpm synth` reads (config/example.yaml unless --config or OH_TEAM_CONFIG names another). Generated from " +
      "src/config/schema.ts by `pnpm --filter @openhands-team/infra config:schema`; do not edit.",
    ...rest,
  };
}

/** The file's text: two-space JSON with a final newline. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
