// The runtime-state cookie of a hand-off: a random value, "." and the deflated path to land on (base64url). The ticket's
// `n` is its SHA-256, which binds the ticket to the browser that asked for it.
import { packPath, unpackPath } from "../shared/packed-path";
import { withoutQuery } from "../shared/return-path";
import { randomToken } from "../shared/signed";
import { MAX_PATH_COOKIE_LENGTH } from "./login";

/** A hand-off must come back to the runtime host within this time. */
export const RUNTIME_STATE_MAX_AGE_SECONDS = 300;

export function runtimeState(path: string): string {
  const random = randomToken(32);
  for (const candidate of [path, withoutQuery(path), "/"]) {
    const value = `${random}.${packPath(candidate)}`;
    if (value.length <= MAX_PATH_COOKIE_LENGTH) return value;
  }
  return random;
}

export function pathInState(state: string): string | undefined {
  const dot = state.indexOf(".");
  return dot < 0 ? undefined : unpackPath(state.slice(dot + 1));
}
