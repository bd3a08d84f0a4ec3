import { readFileSync } from "node:fs";
import { parse as parseYaml, YAMLParseError } from "yaml";
import type { z } from "zod";
import { DeploymentConfigSchema, type DeploymentConfig } from "./schema";

/** A configuration that cannot be used; `problems` holds one line per bad field. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`${source}: invalid configuration\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
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

/** One line per issue: `config.<field>: <value> <what is wrong> (<fix>)`. */
export function describeIssues(raw: unknown, issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const field = fieldName(issue.path);
    const value = valueAt(raw, issue.path);
    switch (issue.code) {
      case "invalid_type":
        return value === undefined
          ? `${field}: is required (expected ${issue.expected}; see config/example.yaml)`
          : `${field}: ${show(value)} is not a ${issue.expected} (expected a ${issue.expected})`;
      case "unrecognized_keys":
        return `${field}: unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")} (remove ${issue.keys.length > 1 ? "them" : "it"} or check the spelling against config/example.yaml)`;
      case "too_small":
        return issue.message.startsWith("Too small") || issue.message.startsWith("Invalid")
          ? `${field}: ${show(value)} is too small (expected at least ${String(issue.minimum)})`
          : `${field}: ${show(value)} ${issue.message}`;
      case "too_big":
        return issue.message.startsWith("Too big") || issue.message.startsWith("Invalid")
          ? `${field}: ${show(value)} is too large (expected at most ${String(issue.maximum)})`
          : `${field}: ${show(value)} ${issue.message}`;
      case "invalid_value":
        return issue.message.startsWith("Invalid")
          ? `${field}: ${show(value)} is not allowed (expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")})`
          : `${field}: ${show(value)} ${issue.message}`;
      case "invalid_union":
        return `${field}: ${show(value)} ${issue.message.startsWith("Invalid") ? "does not match any allowed form" : issue.message}`;
      case "invalid_key": {
        const key = issue.path[issue.path.length - 1];
        return `${field}: ${show(key)} ${issue.issues[0]?.message ?? "is not an allowed key"}`;
      }
      default:
        return issue.message.startsWith("is missing") ? `${field}: ${issue.message}` : `${field}: ${show(value)} ${issue.message}`;
    }
  });
}

/** Validates an already-parsed configuration object. */
export function parseConfig(raw: unknown, source = "config"): DeploymentConfig {
  const result = DeploymentConfigSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(source, describeIssues(raw, result.error.issues));
  return result.data;
}

/** Reads, parses (YAML or JSON) and validates the configuration file. */
export function loadConfig(path: string): DeploymentConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(path, [`cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)}); pass --config <file> or set OH_TEAM_CONFIG`]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { uniqueKeys: true, maxAliasCount: 50 });
  } catch (err) {
    const detail = err instanceof YAMLParseError ? err.message.split("\n")[0] : String(err);
    throw new ConfigError(path, [`is not valid YAML: ${detail}`]);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(path, ["config: is not a mapping (expected the keys of config/example.yaml at the top level)"]);
  }
  return parseConfig(raw, path);
}
