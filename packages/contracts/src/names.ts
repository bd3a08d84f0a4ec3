// Names on the host, all derived from the slug (docs/CONTRACTS.md, "Names and keys").

export const names = {
  /** The user's OpenHands app container. */
  appContainer: (slug: string) => `oh-app-${slug}`,
  /** Every sandbox of the user starts with this (`OH_SANDBOX_CONTAINER_NAME_PREFIX`). */
  sandboxPrefix: (slug: string) => `oh-sbx-${slug}-`,
  sandboxContainer: (slug: string, sandboxId: string) => `oh-sbx-${slug}-${sandboxId}`,
  /** The user's Docker bridge network. */
  network: (slug: string) => `oh-u-${slug}`,
  /** The Linux bridge of that network: interface names are limited to 15 characters. */
  bridge: (slug: string) => `ohu-${slug.slice(0, 11)}`,
  /** docker-py removes `openhands-workspace-<sandbox id>`, the sandbox id being the full container name. */
  sandboxVolumePrefix: (slug: string) => `openhands-workspace-oh-sbx-${slug}-`,
};

/** `<host port>-<slug>.<runtime domain>`: the host a sandbox port is served on. */
export function runtimeHostName(hostPort: number, slug: string, runtimeDomain: string): string {
  return `${hostPort}-${slug}.${runtimeDomain}`;
}

export type ContainerRole = { kind: "app"; owner: string } | { kind: "sandbox"; owner: string; sandboxId: string };

/**
 * The longest sandbox id after `oh-sbx-<slug>-`. One limit for everything that reads a sandbox name: a name one part
 * accepts and another does not would be a sandbox nobody tracks.
 */
export const MAX_SANDBOX_ID_LENGTH = 128;
const SANDBOX_ID = `[A-Za-z0-9][A-Za-z0-9_.-]{0,${MAX_SANDBOX_ID_LENGTH - 1}}`;
/** Any container reference dockerd accepts as a name, bounded by the longest name we create. */
export const MAX_CONTAINER_NAME_LENGTH = "oh-sbx-".length + 16 + 1 + MAX_SANDBOX_ID_LENGTH;

const APP_NAME = /^oh-app-([a-z2-7]{16})$/;
const SANDBOX_NAME = new RegExp(`^oh-sbx-([a-z2-7]{16})-(${SANDBOX_ID})$`);
const NETWORK_NAME = /^oh-u-([a-z2-7]{16})$/;

/** Who owns a container, from its name alone (with or without Docker's leading '/'). */
export function roleOfContainer(name: unknown): ContainerRole | undefined {
  if (typeof name !== "string") return undefined;
  const bare = name.startsWith("/") ? name.slice(1) : name;
  const app = APP_NAME.exec(bare);
  if (app) return { kind: "app", owner: app[1]! };
  const sandbox = SANDBOX_NAME.exec(bare);
  if (sandbox) return { kind: "sandbox", owner: sandbox[1]!, sandboxId: sandbox[2]! };
  return undefined;
}

/** Whether a container name (with or without the leading '/') is one of this user's sandboxes. */
export function isOwnSandboxName(slug: string, name: unknown): boolean {
  const role = roleOfContainer(name);
  return role?.kind === "sandbox" && role.owner === slug;
}

/** The owner of a user network `oh-u-<slug>`, or undefined for any other name. */
export function ownerOfNetwork(name: unknown): string | undefined {
  return typeof name === "string" ? NETWORK_NAME.exec(name)?.[1] : undefined;
}
