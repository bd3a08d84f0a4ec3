/**
 * The bodies and queries of the remote sandbox API (docs/ecs.md, section 1), checked before anything reaches ECS.
 * Each refusal names the field, the value's problem and what is accepted. Unknown fields are ignored, as the
 * runtime API OpenHands was written against ignores them (a newer OpenHands may send more).
 */
import { SANDBOX_UID, SESSION_ID } from "./sandbox-task";

export class SandboxApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface StartRequest {
  image: string;
  command?: string[];
  workingDir: string;
  environment: Record<string, string>;
  sessionId: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const MAX_ENV_ENTRIES = 200;
const MAX_COMMAND_PARTS = 64;
const MAX_TEXT = 4096;
/** `runtime_id` is an ECS task ID (32 hex digits on ECS); anything longer or stranger is not ours. */
const RUNTIME_ID = /^[A-Za-z0-9_-]{1,64}$/;

const bad = (message: string): never => {
  throw new SandboxApiError(400, message);
};

function objectBody(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) bad("the body must be a JSON object");
  return body as Record<string, unknown>;
}

export function sessionIdParameter(value: unknown, field: string): string {
  if (typeof value !== "string" || !SESSION_ID.test(value)) {
    bad(`${field}: ${shown(value)} is not a session id (1 to 64 letters, digits, "-" or "_")`);
  }
  return value as string;
}

export function parseStartRequest(body: unknown): StartRequest {
  const input = objectBody(body);
  if (typeof input.image !== "string" || input.image === "" || input.image.length > 512) {
    bad(`image: ${shown(input.image)} is not an image reference`);
  }
  const command = parseCommand(input.command);
  const workingDir = input.working_dir ?? "/workspace";
  // The workspace access point is mounted at /workspace; the agent works in it or below it.
  if (typeof workingDir !== "string" || !/^\/workspace(\/[A-Za-z0-9_.-]+)*$/.test(workingDir) || workingDir.includes("/..")) {
    bad(`working_dir: ${shown(workingDir)} is not /workspace or a folder below it`);
  }
  // The sandbox runs as the user that owns the workspace access point; another user would see no files or all of them.
  for (const field of ["run_as_user", "run_as_group", "fs_group"]) {
    if (input[field] !== undefined && input[field] !== SANDBOX_UID) bad(`${field}: ${shown(input[field])} is not ${SANDBOX_UID}`);
  }
  if (input.runtime_class !== undefined && input.runtime_class !== null) {
    bad(
      `runtime_class: ${shown(input.runtime_class)} is not available: sandboxes are Fargate tasks (leave OH_SANDBOX_RUNTIME_CLASS unset)`,
    );
  }
  // resource_factor is read and ignored: the task size is the spawner's setting, an app does not choose its bill.
  if (input.resource_factor !== undefined && (typeof input.resource_factor !== "number" || !(input.resource_factor > 0))) {
    bad(`resource_factor: ${shown(input.resource_factor)} is not a positive number`);
  }
  return {
    image: input.image as string,
    ...(command ? { command } : {}),
    workingDir: workingDir as string,
    environment: parseEnvironment(input.environment),
    sessionId: sessionIdParameter(input.session_id, "session_id"),
  };
}

function parseCommand(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  // A string is split on spaces, as the runtime API does for a command given as one line.
  const parts = typeof value === "string" ? value.split(/\s+/).filter(Boolean) : value;
  if (
    !Array.isArray(parts) ||
    parts.length === 0 ||
    parts.length > MAX_COMMAND_PARTS ||
    !parts.every((part) => typeof part === "string" && part.length <= MAX_TEXT && !part.includes("\0"))
  ) {
    return bad(`command: expected a list of 1 to ${MAX_COMMAND_PARTS} strings (or one line), got ${shown(value)}`);
  }
  return parts as string[];
}

function parseEnvironment(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return Object.create(null);
  if (typeof value !== "object" || Array.isArray(value))
    return bad(`environment: expected an object of names to strings, got ${shown(value)}`);
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_ENV_ENTRIES) bad(`environment: ${entries.length} variables, ${MAX_ENV_ENTRIES} at most`);
  const environment: Record<string, string> = Object.create(null);
  for (const [name, item] of entries) {
    if (!ENV_NAME.test(name)) bad(`environment: ${shown(name)} is not a variable name`);
    if (typeof item !== "string" || item.length > MAX_TEXT || item.includes("\0")) {
      bad(`environment.${name}: expected a string of at most ${MAX_TEXT} characters`);
    }
    environment[name] = item as string;
  }
  return environment;
}

/** `{runtime_id}` of /pause, /resume and /stop. */
export function parseRuntimeIdBody(body: unknown): string {
  const input = objectBody(body);
  if (typeof input.runtime_id !== "string" || !RUNTIME_ID.test(input.runtime_id)) {
    bad(`runtime_id: ${shown(input.runtime_id)} is not a runtime id`);
  }
  return input.runtime_id as string;
}

/** What an error may show of a bad value: a short scalar, never an object's content. */
function shown(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null || typeof value === "number" || typeof value === "boolean") return String(value);
  if (typeof value === "string") return value.length > 40 ? `${JSON.stringify(value.slice(0, 40))}...` : JSON.stringify(value);
  return Array.isArray(value) ? "a list" : "an object";
}
