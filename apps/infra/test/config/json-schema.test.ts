import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { JSON_SCHEMA_FILE, configJsonSchema, configJsonSchemaText } from "../../src/config/json-schema";
import { DEFAULT_CONFIG, PACKAGE_ROOT } from "../../src/cli-options";

type Node = Record<string, any>;

/**
 * The draft-7 keywords the generated schema uses, checked as an editor's validator does (patterns with the
 * `u` flag, as yaml-language-server compiles them). A keyword it does not know fails the test, so a schema that
 * starts using one cannot pass unchecked.
 */
function validate(schema: Node, value: unknown, path = "config"): string[] {
  const known = new Set([
    "$schema",
    "title",
    "description",
    "default",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "propertyNames",
    "items",
    "minItems",
    "maxItems",
    "pattern",
    "enum",
    "const",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "oneOf",
    "anyOf",
    "format",
  ]);
  const unknown = Object.keys(schema).filter((k) => !known.has(k));
  if (unknown.length) return [`${path}: the schema uses ${unknown.join(", ")}, which this check does not know`];
  if (schema.oneOf || schema.anyOf) {
    const options = (schema.oneOf ?? schema.anyOf) as Node[];
    const matching = options.filter((option) => validate(option, value, path).length === 0).length;
    return (schema.oneOf ? matching === 1 : matching >= 1) ? [] : [`${path}: matches ${matching} of the allowed forms`];
  }
  const typeOf = (v: unknown) => (Array.isArray(v) ? "array" : v === null ? "null" : Number.isInteger(v) ? "integer" : typeof v);
  const type = typeOf(value);
  if (schema.type && !(schema.type === type || (schema.type === "number" && type === "integer")))
    return [`${path}: is ${type}, not ${String(schema.type)}`];
  const problems: string[] = [];
  if (schema.const !== undefined && value !== schema.const) problems.push(`${path}: is not ${JSON.stringify(schema.const)}`);
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) problems.push(`${path}: is not one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === "string") {
    if (schema.pattern && !new RegExp(schema.pattern as string, "u").test(value))
      problems.push(`${path}: does not match ${String(schema.pattern)}`);
    if (schema.minLength !== undefined && value.length < schema.minLength) problems.push(`${path}: is too short`);
    if (schema.maxLength !== undefined && value.length > schema.maxLength) problems.push(`${path}: is too long`);
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) problems.push(`${path}: is below ${String(schema.minimum)}`);
    if (schema.maximum !== undefined && value > schema.maximum) problems.push(`${path}: is above ${String(schema.maximum)}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      problems.push(`${path}: has fewer than ${String(schema.minItems)} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      problems.push(`${path}: has more than ${String(schema.maxItems)} items`);
    if (schema.items) for (const [i, item] of value.entries()) problems.push(...validate(schema.items as Node, item, `${path}[${i}]`));
  }
  if (type === "object") {
    const object = value as Record<string, unknown>;
    for (const key of (schema.required ?? []) as string[]) if (!(key in object)) problems.push(`${path}.${key}: is required`);
    for (const [key, child] of Object.entries(object)) {
      const property = schema.properties?.[key] as Node | undefined;
      if (schema.propertyNames) problems.push(...validate(schema.propertyNames as Node, key, `${path}.${key} (key)`));
      if (property) problems.push(...validate(property, child, `${path}.${key}`));
      else if (schema.additionalProperties === false) problems.push(`${path}.${key}: is not allowed`);
      else if (typeof schema.additionalProperties === "object")
        problems.push(...validate(schema.additionalProperties as Node, child, `${path}.${key}`));
    }
  }
  return problems;
}

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
    expect(all.filter(([, node]) => typeof node.description !== "string" || node.description.length < 10).map(([path]) => path)).toEqual(
      [],
    );
  });

  it("THEN every field with a default says the default in its description", () => {
    const defaulted = properties(configJsonSchema()).filter(([, node]) => "default" in node);
    expect(defaulted.length).toBeGreaterThan(30);
    expect(defaulted.filter(([, node]) => !/Default: /.test(node.description as string)).map(([path]) => path)).toEqual([]);
  });

  it("THEN unknown keys are refused and required keys listed, as the loader does", () => {
    const schema = configJsonSchema();
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(
      expect.arrayContaining(["name", "region", "domain", "network", "openhands", "bedrock", "cognito", "stateBackend"]),
    );
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
  });

  it("THEN the example configuration points editors at it", () => {
    const firstLine = readFileSync(DEFAULT_CONFIG, "utf8").split("\n")[0]!;
    const match = /^# yaml-language-server: \$schema=(\S+)$/.exec(firstLine);
    expect(match).not.toBeNull();
    expect(resolve(dirname(DEFAULT_CONFIG), match![1]!)).toBe(file);
  });
});

describe("GIVEN an editor checking a configuration against the JSON Schema", () => {
  const schema = configJsonSchema();
  const example = () => parseYaml(readFileSync(DEFAULT_CONFIG, "utf8")) as Node;

  it("WHEN it checks the example THEN it finds nothing wrong", () => {
    expect(validate(schema, example())).toEqual([]);
  });

  it.each<[string, (raw: Node) => void, string]>([
    ["a misspelt key", (raw) => (raw.compute.instancetype = "m7g.large"), "config.compute.instancetype: is not allowed"],
    ["a version YAML reads as a number", (raw) => (raw.openhands.app.tag = 1.7), "config.openhands.app.tag: is number, not string"],
    ["an x86 instance type", (raw) => (raw.compute.instanceType = "m7i.xlarge"), "config.compute.instanceType: does not match"],
    ["a tag key in the aws: namespace", (raw) => (raw.tags = { "aws:owner": "x" }), "config.tags.aws:owner (key): does not match"],
    ["an unknown MFA mode", (raw) => (raw.cognito.mfa = "sms"), "config.cognito.mfa: is not one of"],
    ["a missing required section", (raw) => delete raw.bedrock, "config.bedrock: is required"],
    ["a state backend of no known type", (raw) => (raw.stateBackend.type = "gcs"), "config.stateBackend: matches 0 of the allowed forms"],
  ])("WHEN the configuration has %s THEN the editor flags it", (_what, mutate, problem) => {
    const raw = example();
    mutate(raw);
    expect(validate(schema, raw).join("\n")).toContain(problem);
  });

  it("WHEN a tag key uses letters beyond ASCII THEN it is accepted, as by the loader (the pattern needs the u flag)", () => {
    const raw = example();
    raw.tags = { Kostenstelle: "Zürich", Équipe: "plateforme" };
    expect(validate(schema, raw)).toEqual([]);
  });
});
