import { readFileSync } from "node:fs";
import { isAbsolute, relative } from "node:path";
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from "yaml";
import type { z } from "zod";
import { DeploymentConfigSchema, type DeploymentConfig } from "./schema";
import { closest, withArticle } from "./wording";

/** Where in the file a problem is: 1-based, as editors and terminals read `file:line:column`. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

/**
 * A configuration that cannot be used. `problems` holds one line per bad field
 * (`config.<field>: <value> <what is wrong> (<fix>)`); `positions` the place of each in the file, when read
 * from one; `details` any lines that go under a problem (the YAML parser's code frame).
 */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
    readonly positions: readonly (Position | undefined)[] = [],
    readonly details: readonly (string | undefined)[] = [],
  ) {
    super(formatProblems(source, problems, positions, details));
    this.name = "ConfigError";
  }
}

function formatProblems(
  source: string,
  problems: readonly string[],
  positions: readonly (Position | undefined)[],
  details: readonly (string | undefined)[],
): string {
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  const lines = problems.map((problem, i) => {
    const at = positions[i];
    const head = at ? `${source}:${at.line}:${at.column}: ${problem}` : `  - ${problem}`;
    const detail = details[i];
    return detail ? `${head}\n${detail.replace(/^/gm, "    ")}` : head;
  });
  return `${source}: invalid configuration, ${count}\n${lines.join("\n")}`;
}

const MAX_SHOWN_VALUE = 80;

function show(value: unknown): string {
  if (value === undefined) return "(missing)";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > MAX_SHOWN_VALUE ? `${text.slice(0, MAX_SHOWN_VALUE)}...` : text;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function fieldName(path: readonly PropertyKey[]): string {
  return ["config", ...path.map((k) => (typeof k === "number" ? `[${k}]` : String(k)))].join(".").replace(/\.\[/g, "[");
}

/** zod's names of types, as a reader of a YAML file says them. */
const TYPE_NAMES: Readonly<Record<string, string>> = { int: "integer", record: "object", nan: "number" };
const typeName = (expected: string) => withArticle(TYPE_NAMES[expected] ?? expected);

/** What a file adds to a message: the text as written (YAML reads `1.10` as 1.1) and the keys a schema level allows. */
export interface SourceContext {
  /** The value of a scalar as written in the file, with its parsed type, or undefined when not a scalar there. */
  scalarAt(path: readonly PropertyKey[]): { readonly text: string; readonly value: unknown } | undefined;
}

type ZodAny = z.core.$ZodType;
type Def = { type: string; [key: string]: unknown };
const defOf = (schema: ZodAny): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The object schema at `path` (through defaults, optionals, arrays, records and the state backend's forms), for its key names. */
function objectKeysAt(path: readonly PropertyKey[], raw: unknown): string[] | undefined {
  let schema: ZodAny = DeploymentConfigSchema;
  const unwrap = (s: ZodAny): ZodAny => {
    let current = s;
    for (;;) {
      const def = defOf(current);
      if (["default", "prefault", "optional", "nullable", "readonly", "catch", "nonoptional"].includes(def.type))
        current = def.innerType as ZodAny;
      else if (def.type === "pipe") current = def.in as ZodAny;
      else return current;
    }
  };
  const pickOption = (s: ZodAny, at: readonly PropertyKey[]): ZodAny => {
    const def = defOf(s);
    if (def.type !== "union") return s;
    const discriminator = def.discriminator as string | undefined;
    const value = discriminator ? (valueAt(raw, [...at, discriminator]) as unknown) : undefined;
    const options = def.options as ZodAny[];
    const chosen = options.find((option) => {
      const shape = defOf(unwrap(option)).shape as Record<string, ZodAny> | undefined;
      const literal = shape && discriminator ? defOf(shape[discriminator]!) : undefined;
      return literal && (literal.values as unknown[]).includes(value);
    });
    return chosen ? unwrap(chosen) : s;
  };
  schema = pickOption(unwrap(schema), []);
  for (let i = 0; i < path.length; i++) {
    const def = defOf(schema);
    const key = path[i]!;
    let next: ZodAny | undefined;
    if (def.type === "object") next = (def.shape as Record<string, ZodAny>)[String(key)];
    else if (def.type === "array") next = def.element as ZodAny;
    else if (def.type === "record") next = def.valueType as ZodAny;
    if (!next) return undefined;
    schema = pickOption(unwrap(next), path.slice(0, i + 1));
  }
  const def = defOf(schema);
  return def.type === "object" ? Object.keys(def.shape as Record<string, unknown>) : undefined;
}

function unknownKey(field: string, key: string, allowed: readonly string[] | undefined): string {
  const suggestion = allowed ? closest(key, allowed) : undefined;
  if (suggestion) return `${field}: unknown key "${key}" (did you mean "${suggestion}"?)`;
  return (
    `${field}: unknown key "${key}" (${allowed ? `expected one of ${allowed.join(", ")}; ` : ""}remove it or check the spelling ` +
    `against config/example.yaml)`
  );
}

/** A hint for a value whose YAML type is not the one the field wants: `tag: 1.7` is a number to YAML. */
function typeHint(path: readonly PropertyKey[], expected: string, context: SourceContext | undefined): string {
  const scalar = context?.scalarAt(path);
  const last = path[path.length - 1];
  const writeAs = (text: string) => (typeof last === "string" ? `${last}: ${text}` : `- ${text}`);
  if (!scalar) return "";
  if (expected === "string" && (typeof scalar.value === "number" || typeof scalar.value === "boolean")) {
    const what = typeof scalar.value === "number" ? "number" : "boolean";
    const reads =
      String(scalar.value) === scalar.text
        ? `${scalar.text} as ${withArticle(what)}`
        : `${scalar.text} as the ${what} ${String(scalar.value)}`;
    return `; YAML reads ${reads}: quote it, ${writeAs(JSON.stringify(scalar.text))}`;
  }
  if (
    (expected === "number" || expected === "int" || expected === "boolean") &&
    typeof scalar.value === "string" &&
    /^['"]/.test(scalar.text)
  ) {
    return `; remove the quotes, ${writeAs(String(scalar.value))}`;
  }
  return "";
}

/** One line per problem: `config.<field>: <value> <what is wrong> (<fix>)`; with it, the path the problem is at. */
export function describeIssues(
  raw: unknown,
  issues: readonly z.core.$ZodIssue[],
  context?: SourceContext,
): Array<{ readonly message: string; readonly path: readonly PropertyKey[]; readonly key?: string }> {
  return issues.flatMap((issue) => {
    const field = fieldName(issue.path);
    const value = valueAt(raw, issue.path);
    const at = (message: string) => [{ message, path: issue.path }];
    // A number or boolean as written in the file reads better than its parsed value (`1.10`, not 1.1).
    const scalar = context?.scalarAt(issue.path);
    const shown = scalar && typeof scalar.value !== "string" && scalar.value !== null ? scalar.text : show(value);
    switch (issue.code) {
      case "invalid_type":
        if (value === undefined) return at(`${field}: is required (expected ${typeName(issue.expected)}; see config/example.yaml)`);
        // `compute:` with nothing under it is null to YAML.
        if (value === null)
          return at(
            `${field}: is empty (expected ${typeName(issue.expected)}; write its value, or leave the key out where it has a default)`,
          );
        return at(
          `${field}: ${shown} is not ${typeName(issue.expected)} (expected ` +
            `${typeName(issue.expected)}${typeHint(issue.path, issue.expected, context)})`,
        );
      case "unrecognized_keys": {
        const allowed = objectKeysAt(issue.path, raw);
        return issue.keys.map((key) => ({ message: unknownKey(field, key, allowed), path: issue.path, key }));
      }
      case "too_small":
        return at(
          issue.message.startsWith("Too small") || issue.message.startsWith("Invalid")
            ? `${field}: ${shown} is too small (expected at least ${String(issue.minimum)})`
            : `${field}: ${shown} ${issue.message}`,
        );
      case "too_big":
        return at(
          issue.message.startsWith("Too big") || issue.message.startsWith("Invalid")
            ? `${field}: ${shown} is too large (expected at most ${String(issue.maximum)})`
            : `${field}: ${shown} ${issue.message}`,
        );
      case "invalid_value":
        return at(
          issue.message.startsWith("Invalid")
            ? `${field}: ${shown} is not allowed (expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")})`
            : `${field}: ${shown} ${issue.message}`,
        );
      case "invalid_union":
        return at(`${field}: ${shown} ${issue.message.startsWith("Invalid") ? "does not match any allowed form" : issue.message}`);
      case "invalid_key": {
        const key = issue.path[issue.path.length - 1];
        return [
          {
            message: `${field}: ${show(key)} ${issue.issues[0]?.message ?? "is not an allowed key"}`,
            path: issue.path.slice(0, -1),
            key: String(key),
          },
        ];
      }
      default:
        return at(issue.message.startsWith("is missing") ? `${field}: ${issue.message}` : `${field}: ${shown} ${issue.message}`);
    }
  });
}

/** Validates an already-parsed configuration object. */
export function parseConfig(raw: unknown, source = "config"): DeploymentConfig {
  const result = DeploymentConfigSchema.safeParse(raw);
  if (!result.success)
    throw new ConfigError(
      source,
      describeIssues(raw, result.error.issues).map((p) => p.message),
    );
  return result.data;
}

/** The node at `path` in a YAML document, the key that leads to it, or the deepest ancestor present. */
function nodeAt(doc: Document, path: readonly PropertyKey[]): { node: YamlNode | null | undefined; key?: YamlNode; complete: boolean } {
  let node = doc.contents as YamlNode | null;
  let key: YamlNode | undefined;
  for (const segment of path) {
    if (node && isAlias(node)) node = node.resolve(doc) ?? null;
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(segment));
      if (!pair) return { node, key, complete: false };
      key = pair.key as YamlNode;
      node = pair.value as YamlNode | null;
    } else if (isSeq(node) && typeof segment === "number" && node.items[segment]) {
      key = undefined;
      node = node.items[segment] as YamlNode;
    } else return { node, key, complete: false };
  }
  return { node, key, complete: true };
}

/** A path as the user reads it: relative to the working folder when inside it. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}

/** Reads, parses (YAML or JSON) and validates the configuration file; every problem names its `file:line:column`. */
export function loadConfig(path: string): DeploymentConfig {
  const source = displayPath(path);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(source, [
      `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)}); pass --config <file> or set OH_TEAM_CONFIG`,
    ]);
  }
  const lines = new LineCounter();
  // logLevel "error": a warning (a collection used as a key) would go to the process's stderr; the key is reported as unknown instead.
  const doc = parseDocument(text, { uniqueKeys: true, lineCounter: lines, prettyErrors: true, logLevel: "error" });
  const start: Position = { line: 1, column: 1 };
  if (doc.errors.length) {
    // The parser's message is `<what> at line L, column C:` followed by a code frame: the position goes first, the frame under it.
    throw new ConfigError(
      source,
      doc.errors.map((e) => `is not valid YAML: ${e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:$/, "")}`),
      doc.errors.map((e) => (e.linePos ? { line: e.linePos[0].line, column: e.linePos[0].col } : start)),
      doc.errors.map(
        (e) =>
          e.message
            .split("\n")
            .slice(1)
            .join("\n")
            .replace(/^\n+|\n+$/g, "") || undefined,
      ),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 50 });
  } catch (err) {
    throw new ConfigError(source, [`is not valid YAML: ${err instanceof Error ? err.message : String(err)}`], [start]);
  }
  const positionOf = (node: YamlNode | null | undefined): Position | undefined => {
    const offset = node?.range?.[0];
    if (offset === undefined) return undefined;
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(
      source,
      ["config: is not a mapping (expected the keys of config/example.yaml at the top level)"],
      [positionOf(doc.contents as YamlNode | null) ?? start],
    );
  }
  const context: SourceContext = {
    scalarAt(at) {
      const { node, complete } = nodeAt(doc, at);
      if (!complete || !isScalar(node) || !node.range) return undefined;
      return { text: text.slice(node.range[0], node.range[1]), value: node.value };
    },
  };
  const result = DeploymentConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = describeIssues(raw, result.error.issues, context);
  const positions = problems.map(({ path: at, key }) => {
    const found = nodeAt(doc, key === undefined ? at : [...at, key]);
    // A value is pointed at where it starts; a section, an empty value, a missing field or a bad key at the key that holds it.
    const range = isScalar(found.node) ? found.node.range : undefined;
    const written = range != null && range[1] > range[0];
    const target = found.complete && key === undefined && written ? found.node : (found.key ?? found.node);
    return positionOf(target) ?? positionOf(doc.contents as YamlNode | null) ?? start;
  });
  // In the order of the file, as a reader fixes them.
  const order = problems
    .map((_, i) => i)
    .sort((a, b) => positions[a]!.line - positions[b]!.line || positions[a]!.column - positions[b]!.column);
  throw new ConfigError(
    source,
    order.map((i) => problems[i]!.message),
    order.map((i) => positions[i]),
  );
}
