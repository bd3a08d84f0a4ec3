/** Paths the viewer-request function answers itself (docs/CONTRACTS.md, "Edge paths"). */
export const EDGE_PATHS = {
  callback: "/_auth/callback",
  refresh: "/_auth/refresh",
  logout: "/_auth/logout",
  runtime: "/_auth/runtime",
  runtimeCallback: "/_auth/runtime-callback",
} as const;

/** Identity headers the edge sets after deleting every client-sent `x-oh-*` header (docs/CONTRACTS.md). */
export const IDENTITY_HEADERS = ["x-oh-user", "x-oh-user-slug", "x-oh-email", "x-oh-exp", "x-oh-sig"] as const;
