/** Paths the viewer-request function answers itself (docs/CONTRACTS.md, "Edge paths"). */
export const EDGE_PATHS = {
  callback: "/_auth/callback",
  refresh: "/_auth/refresh",
  logout: "/_auth/logout",
  runtime: "/_auth/runtime",
  runtimeCallback: "/_auth/runtime-callback",
} as const;

/** Identity headers the edge sets after deleting every client-sent `x-oh-*` header (docs/CONTRACTS.md), from @openhands-team/contracts. */
export { IDENTITY_HEADERS } from "@openhands-team/contracts";
