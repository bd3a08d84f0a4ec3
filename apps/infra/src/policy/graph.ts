/** Helpers for checks: follow references between resources of a synthesized stack. */
import type { PolicyResource, TerraformJson } from "./types";

/** A nested block as a list, whether cdktf wrote it as one object or as a list. */
export function blocks(value: unknown): TerraformJson[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]) as TerraformJson[];
}

/** The resource body without cdktf's `//` metadata. */
export function bodyOf(resource: PolicyResource): TerraformJson {
  const { "//": _meta, ...body } = resource.body;
  return body;
}

/** `${<type>.<name>.` — how other resources refer to this one. */
export function referenceTo(resource: Pick<PolicyResource, "type" | "name">): string {
  return `\${${resource.type}.${resource.name}.`;
}

/**
 * Resources of `type` in the same stack that refer to `resource` (its bucket policy, its versioning...):
 * through the attribute `via` when given (`bucket`: a logging rule that merely targets this bucket does not
 * count), anywhere in their body otherwise.
 */
export function companions(resource: PolicyResource, type: string, via?: string): TerraformJson[] {
  const needle = referenceTo(resource);
  const byName = (resource.stackJson.resource?.[type] ?? {}) as Record<string, TerraformJson>;
  return Object.values(byName).filter((body) => JSON.stringify(via === undefined ? body : (body[via] ?? "")).includes(needle));
}

/** Every resource of one type in the stack, by name. */
export function resourcesOf(stackJson: TerraformJson, type: string): Record<string, TerraformJson> {
  return (stackJson.resource?.[type] ?? {}) as Record<string, TerraformJson>;
}

/**
 * Terraform interpolations (`${...}`) may contain double quotes (`split(":", x)`), which Terraform removes when
 * it evaluates them but which break JSON parsing of the raw text: they become single quotes here.
 */
export function quietInterpolations(text: string): string {
  let out = "";
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === "$" && text[i + 1] === "{") {
      depth++;
      out += "${";
      i++;
      continue;
    }
    if (depth > 0 && ch === "{") depth++;
    if (depth > 0 && ch === "}") depth--;
    out += depth > 0 && ch === '"' ? "'" : ch;
  }
  return out;
}

/** A JSON policy document written as a literal string (references inside strings are fine). */
export function parsePolicy(text: unknown): TerraformJson | undefined {
  if (typeof text !== "string") return undefined;
  try {
    const parsed = JSON.parse(quietInterpolations(text)) as unknown;
    return parsed && typeof parsed === "object" ? (parsed as TerraformJson) : undefined;
  } catch {
    return undefined;
  }
}

/** A value as a list of strings (IAM allows a string or a list). */
export function strings(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

export function isTrue(value: unknown): boolean {
  return value === true || value === "true";
}

/** The resource of `type` in the same stack that `value` (such as `${aws_iam_role.x.arn}`) refers to. */
export function referenced(resource: PolicyResource, value: unknown, type: string): TerraformJson | undefined {
  const match = new RegExp(`\\$\\{${type}\\.([A-Za-z0-9_-]+)\\.`).exec(String(value ?? ""));
  return match ? (resourcesOf(resource.stackJson, type)[match[1]!] as TerraformJson | undefined) : undefined;
}

/** The first failing message of a list of (condition, message) pairs. */
export function firstFailure(...cases: Array<[boolean, string]>): string | undefined {
  return cases.find(([failed]) => failed)?.[1];
}

/** A CloudFront distribution's default behaviour and every ordered one, each with a label for messages. */
export function cacheBehaviours(distribution: TerraformJson): Array<{ label: string; body: TerraformJson }> {
  return [
    ...blocks(distribution.default_cache_behavior).map((body) => ({ label: "default behaviour", body })),
    ...blocks(distribution.ordered_cache_behavior).map((body) => ({ label: `behaviour ${String(body.path_pattern)}`, body })),
  ];
}
