/**
 * Contract with packages/bootstrap-scripts: the host configuration this stack writes passes the installer's
 * own checks (HOST_CONFIG_CHECKS in files/host-bundle/steps/20-host-config.sh, a jq program). Values that
 * are Terraform references at synth time are replaced by values of the shape AWS returns.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { synthDeployment, type Json } from "../support/template";
import { only } from "../support/template";

const STEP = join(__dirname, "../../../../packages/bootstrap-scripts/files/host-bundle/steps/20-host-config.sh");
const ACCOUNT = "123456789012";
const secretArn = (name: string) => `arn:aws:secretsmanager:eu-central-1:${ACCOUNT}:secret:${name}-AbCdEf`;

/** What AWS returns where the synthesized JSON still holds a reference, by field path. */
const RESOLVED: Record<string, string> = {
  efsFileSystemId: "fs-0123456789abcdef0",
  eventsBucket: "openhands-prod-events-20261128123456789000000001",
  "database.host": "openhands-prod-aurora.cluster-abcdefghijkl.eu-central-1.rds.amazonaws.com",
  "database.masterSecretArn": secretArn("rds!cluster-0123abcd-4567-89ef-0123-456789abcdef"),
  "secrets.identitySigningKey": secretArn("openhands/prod/identity-signing-key"),
  "secrets.openhandsJwtSecret": secretArn("openhands/prod/openhands-jwt-secret"),
  "secrets.llmGatewayKey": secretArn("openhands/prod/llm-gateway-key"),
  "secrets.dbPasswordKey": secretArn("openhands/prod/db-password-key"),
  "logGroups.host": "/openhands/prod/host",
  "logGroups.proxy": "/openhands/prod/proxy",
  "logGroups.spawner": "/openhands/prod/spawner",
  "logGroups.apps": "/openhands/prod/apps",
};

function resolve(node: unknown, path: string, unresolved: string[]): unknown {
  if (typeof node === "string" && node.includes("${")) {
    if (RESOLVED[path] === undefined) unresolved.push(path);
    return RESOLVED[path] ?? node;
  }
  if (Array.isArray(node)) return node.map((v, i) => resolve(v, `${path}.${i}`, unresolved));
  if (node && typeof node === "object") {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolve(v, path ? `${path}.${k}` : k, unresolved)]));
  }
  return node;
}

const jq = spawnSync("jq", ["--version"]).status === 0;
const ready = jq && existsSync(STEP);
if (!ready) console.warn(`\n!!! SKIPPING the host configuration contract: ${jq ? `${STEP} is missing` : "jq is not installed"}.\n`);

(ready ? describe : describe.skip)("GIVEN the host configuration of the example deployment", () => {
  const synth = synthDeployment();
  const unresolved: string[] = [];
  const config = resolve(JSON.parse(only(synth, "compute", "aws_ssm_parameter").value), "", unresolved) as Json;
  const check = (document: Json) => {
    const file = join(mkdtempSync(join(tmpdir(), "oh-hostcfg-")), "config.json");
    writeFileSync(file, JSON.stringify(document));
    return spawnSync("bash", ["-c", `source "$1" && jq -r "$HOST_CONFIG_CHECKS" "$2"`, "check", STEP, file], { encoding: "utf8" });
  };

  it("THEN every reference is one this test knows how AWS resolves", () => {
    expect(unresolved).toEqual([]);
  });

  it("THEN the installer's checks report no problem", () => {
    const result = check(config);
    expect(result.stderr).toBe("");
    expect(result.stdout.trim()).toBe("");
    expect(result.status).toBe(0);
  });

  it("WHEN an image lost its tag THEN the installer's checks name it (the check can fail)", () => {
    const result = check({ ...config, images: { ...config.images, node: "docker.io/library/node" } });
    expect(result.stdout).toContain('images.node: "docker.io/library/node" is not an image');
  });
});
