import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "cdktf";
import { EDGE_FUNCTION_KINDS, MissingEdgeBundleError, edgeBundleFolder } from "../../src/constructs/edge/edge-auth-bundle";
import { buildDeployment } from "../../src/app";
import { EdgeStack } from "../../src/stacks/edge-stack";
import { exampleConfig, synthDeployment } from "../support/template";
import { one } from "../support/template";

/** Lambda@Edge's limit for the compressed package of a viewer-event function. */
const VIEWER_PACKAGE_LIMIT = 1024 * 1024;
/** "By a wide margin": a quarter of the limit. */
const MARGIN = VIEWER_PACKAGE_LIMIT / 4;

/** File names in a zip, read from its central directory (signature PK\1\2). */
function zipEntries(zip: Buffer): string[] {
  const names: string[] = [];
  for (let at = zip.indexOf("PK\u0001\u0002"); at >= 0; at = zip.indexOf("PK\u0001\u0002", at + 46)) {
    const nameLength = zip.readUInt16LE(at + 28);
    names.push(zip.subarray(at + 46, at + 46 + nameLength).toString("utf8"));
  }
  return names;
}

describe("GIVEN the edge-auth bundles built by the Turbo graph", () => {
  const synth = synthDeployment();

  it.each([...EDGE_FUNCTION_KINDS])("THEN the %s bundle is found in the workspace package", (kind) => {
    expect(edgeBundleFolder(kind)).toMatch(new RegExp(`packages/edge-auth/dist/${kind}$`));
  });

  it.each([...EDGE_FUNCTION_KINDS])("THEN the zipped %s asset holds index.js and is well under the 1 MB viewer limit", (kind) => {
    const fn = one(synth, "edge", "aws_lambda_function", (f) => f.function_name.endsWith(kind));
    const zip = readFileSync(join(synth.stacksDir, "edge", fn.filename));
    console.log(
      `${kind}: ${zip.length} bytes zipped (${((zip.length / VIEWER_PACKAGE_LIMIT) * 100).toFixed(1)}% of the 1 MB viewer-request limit)`,
    );
    expect(zipEntries(zip)).toContain("index.js");
    expect(zip.length).toBeLessThan(MARGIN);
  });

  it("THEN the assets live inside the stack folder and are referenced relatively", () => {
    const assets = readdirSync(join(synth.stacksDir, "edge", "assets"));
    expect(assets.sort()).toEqual([expect.stringMatching(/^functions_viewer-request-bundle_/)]);
    for (const kind of EDGE_FUNCTION_KINDS) {
      expect(one(synth, "edge", "aws_lambda_function", (f) => f.function_name.endsWith(kind)).filename).toMatch(/^assets\//);
    }
  });
});

describe("GIVEN an edge-auth package that was not built", () => {
  const root = mkdtempSync(join(tmpdir(), "oh-edge-auth-"));
  mkdirSync(join(root, "dist", "viewer-request"), { recursive: true });
  writeFileSync(join(root, "dist", "viewer-request", "README"), "a folder without the bundle's index.js\n");

  it("WHEN a bundle folder is missing THEN the lookup names the folder and the build to run", () => {
    expect(() => edgeBundleFolder("viewer-request", root)).toThrow(MissingEdgeBundleError);
    expect(() => edgeBundleFolder("viewer-request", root)).toThrow(
      `edge-auth bundle ${join(root, "dist", "viewer-request")} has no index.js (expected the output of packages/edge-auth's ` +
        `build; run \`pnpm exec turbo run build --filter=@openhands-team/infra...\` first)`,
    );
  });

  it("WHEN the edge stack is built from it THEN it refuses before writing anything", () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), "oh-synth-")) });
    const { network, auth, compute } = buildDeployment(new App({ outdir: mkdtempSync(join(tmpdir(), "oh-synth-")) }), exampleConfig());
    expect(() => new EdgeStack(app, exampleConfig(), { network, auth, compute, edgeAuthPackageRoot: root })).toThrow(
      MissingEdgeBundleError,
    );
  });
});
