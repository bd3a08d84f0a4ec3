import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/**
 * The edge functions the deployment runs from packages/edge-auth's build, one folder each under its dist/ (handler
 * `index.handler`). Only viewer-request: CloudFront refuses origin-request and origin-response triggers on a VPC
 * origin, so security headers come from response headers policies (security-headers.ts).
 */
export const EDGE_FUNCTION_KINDS = ["viewer-request"] as const;
export type EdgeFunctionKind = (typeof EDGE_FUNCTION_KINDS)[number];

/** Thrown when a bundle the edge stack packages is missing: synth must not ship an empty function. */
export class MissingEdgeBundleError extends Error {
  constructor(readonly folder: string) {
    super(
      `edge-auth bundle ${folder} has no index.js (expected the output of packages/edge-auth's build; run \`pnpm exec turbo run ` +
        `build --filter=@openhands-team/infra...\` first)`,
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
