/**
 * The user slug and the names derived from it: one implementation, in @openhands-team/contracts (docs/CONTRACTS.md
 * "Names and keys"), shared with the edge, the proxy's tests and the infra; re-exported under the spawner's names.
 */
export {
  isOwnSandboxName,
  isUserSlug,
  MAX_CONTAINER_NAME_LENGTH,
  MAX_SANDBOX_ID_LENGTH,
  names,
  roleOfContainer,
  SLUG_PATTERN,
  userSlug as slugForSub,
  type ContainerRole,
} from "@openhands-team/contracts";
