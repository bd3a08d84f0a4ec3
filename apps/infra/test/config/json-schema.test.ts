import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { JSON_SCHEMA_FILE, configJsonSchema, configJsonSchemaText } from "../../src/config/json-schema";
import { DEFAULT_CONFIG, PACKAGE_ROOT } from "../../src/cli-options";

type Node = Record<string, any>;

/** Every property of the schema, with its dotted path, through objects, unions, arrays and records. */
function properties(node: Node, path = "config"): Array<[string, Node]> {
  const found: Array<[string, Node]> = [];
  for (const [key, child] of Object.entries((node.properties ?? {}) as Record<string, Node>)) {
    found.push([`${path}.${key}`, child], ...properties(child, `${path}.${key}`));
  }
  for (const option of [...(node.oneOf ?? []), ...(node.anyOf ?? [])] as Node[]) found.push(...properties(option, path));
  if (node.items && typeof node.items === "object") found.push(...properties(node.items as Node, `${path}[]`));
  return found;
}

describe("GIVEN the committed JSON Schema of the configuration", () => {
  const file = resolve(PACKAGE_ROOT, JSON_SCHEMA_FILE);

  it("THEN it is what the zod schema generates today (regenerate with pnpm config:schema)", () => {
    expect(readFileSync(file, "utf8")).toBe(configJsonSchemaText());
  });

  it("THEN every field, in every nested object and state backend form, has a description", () => {
    const all = properties(configJsonSchema());
    expect(all.length).toBeGreaterThan(80);
    expect(all.filter(([, node]) => typeof node.description !== "string" || node.description.length < 10).map(([path]) => path)).toEqual([]);
  });

  it("THEN every field with a default says the default in its description", () => {
    const defaulted = properties(configJsonSchema()).filter(([, node]) => "default" in node);
    expect(defaulted.length).toBeGreaterThan(30);
    expect(defaulted.filter(([, node]) => !/Default: /.test(node.description as string)).map(([path]) => path)).toEqual([]);
  });

  it("THEN unknown keys are refused and required keys listed, as the loader does", () => {
    const schema = configJsonSchema();
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(expect.arrayContaining(["name", "region", "domain", "network", "openhands", "bedrock", "cognito", "stateBackend"]));
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
  });

  it("THEN the example configuration points editors at it", () => {
    const firstLine = readFileSync(DEFAULT_CONFIG, "utf8").split("\n")[0]!;
    const match = /^# yaml-language-server: \$schema=(\S+)$/.exec(firstLine);
    expect(match).not.toBeNull();
    expect(resolve(dirname(DEFAULT_CONFIG), match![1]!)).toBe(file);
  });
});
