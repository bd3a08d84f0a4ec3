import { createHash } from "node:crypto";

/** A user slug as DESIGN.md derives it: 16 characters of lower-case RFC 4648 base32. */
export const SLUG_PATTERN = /^[a-z2-7]{16}$/;

export function isUserSlug(value: unknown): value is string {
  return typeof value === "string" && SLUG_PATTERN.test(value);
}

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/** `slug = base32(SHA-256("oh-user:" + sub))[0..16]` (docs/CONTRACTS.md). */
export function slugForSub(sub: string): string {
  const digest = createHash("sha256").update(`oh-user:${sub}`, "utf8").digest();
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 16) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= 16) break;
  }
  return out;
}

/** Names on the host, all derived from the slug (docs/CONTRACTS.md "Names and keys"). */
export const names = {
  appContainer: (slug: string) => `oh-app-${slug}`,
  sandboxPrefix: (slug: string) => `oh-sbx-${slug}-`,
  network: (slug: string) => `oh-u-${slug}`,
  /** Linux interface names are limited to 15 characters. */
  bridge: (slug: string) => `ohu-${slug.slice(0, 11)}`,
  /** docker-py removes `openhands-workspace-<sandbox id>`, the sandbox id being the full container name. */
  sandboxVolumePrefix: (slug: string) => `openhands-workspace-oh-sbx-${slug}-`,
};

export type ContainerRole = { kind: "app"; owner: string } | { kind: "sandbox"; owner: string; sandboxId: string };

/**
 * The longest sandbox id after `oh-sbx-<slug>-`. One limit for everything that reads a sandbox name (the
 * filter's paths, its create review, the host view, the create records): a name one part accepts and
 * another does not would be a sandbox the spawner does not track.
 */
export const MAX_SANDBOX_ID_LENGTH = 128;
const SANDBOX_ID = `[A-Za-z0-9][A-Za-z0-9_.-]{0,${MAX_SANDBOX_ID_LENGTH - 1}}`;
/** Any container reference dockerd accepts as a name, bounded by the longest name we create. */
export const MAX_CONTAINER_NAME_LENGTH = "oh-sbx-".length + 16 + 1 + MAX_SANDBOX_ID_LENGTH;

const APP_NAME = /^oh-app-([a-z2-7]{16})$/;
const SANDBOX_NAME = new RegExp(`^oh-sbx-([a-z2-7]{16})-(${SANDBOX_ID})$`);

/** Who owns a container, from its name alone (with or without Docker's leading '/'). */
export function roleOfContainer(name: string): ContainerRole | undefined {
  if (typeof name !== "string") return undefined;
  const bare = name.startsWith("/") ? name.slice(1) : name;
  const app = APP_NAME.exec(bare);
  if (app) return { kind: "app", owner: app[1]! };
  const sandbox = SANDBOX_NAME.exec(bare);
  if (sandbox) return { kind: "sandbox", owner: sandbox[1]!, sandboxId: sandbox[2]! };
  return undefined;
}

/** Whether a container name (with or without the leading '/') is one of this user's sandboxes; the one parser. */
export function isOwnSandboxName(slug: string, name: unknown): boolean {
  if (typeof name !== "string") return false;
  const role = roleOfContainer(name);
  return role?.kind === "sandbox" && role.owner === slug;
}
