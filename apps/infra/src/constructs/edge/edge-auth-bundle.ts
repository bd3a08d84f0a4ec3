import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/** The edge functions that packages/edge-auth builds, one folder each under its dist/ (handler `index.handler`). */
export const EDGE_FUNCTION_KINDS = ["viewer-request", "origin-response"] as const;
export type EdgeFunctionKind = (typeof EDGE_FUNCTION_KINDS)[number];

/** Thrown when a bundle the edge stack packages is missing: synth must not ship an empty function. */
export class MissingEdgeBundleError extends Error {
  constructor(readonly folder: string) {
    super(
      `edge-auth bundle ${folder} has no index.js (expected the output of packages/edge-auth's build; run \`pnpm exec turbo run build --filter=@openhands-team/infra...\` first)`,
    );
    this.name = "MissingEdgeBundleError";
  }
}

/**
 * The folder of one edge function's bundle, found through the workspace package (never a path written into
 * the output: the folder becomes a TerraformAsset, copied into cdktf.out and referenced relatively).
 *
 * @param packageRoot folder of @openhands-team/edge-auth; tests pass another one to check the refusal.
 */
export function edgeBundleFolder(kind: EdgeFunctionKind, packageRoot: string = defaultPackageRoot()): string {
  const folder = join(packageRoot, "dist", kind);
  if (!existsSync(join(folder, "index.js"))) throw new MissingEdgeBundleError(folder);
  return folder;
}

function defaultPackageRoot(): string {
  return dirname(require.resolve("@openhands-team/edge-auth/package.json"));
}
