/**
 * The launch template's user data: a small cloud-config that writes the bundle's coordinates and a
 * bootstrap script, then runs it once. The script fetches the host bundle from S3, refuses it unless its
 * SHA-256 is the one named here, unpacks it and runs its installer with the host configuration
 * parameter. No secret is ever in the user data: the installer reads them from Secrets Manager and SSM.
 *
 * Values may be Terraform expressions or CDKTF tokens (`${...}`); they are embedded verbatim and
 * resolved by Terraform. Everything else in the text avoids `${` and `%{`, which Terraform would
 * take for its own template syntax.
 */
export interface UserDataParams {
  /** Main region. */
  readonly region: string;
  /** S3 URI of the host bundle archive (zip). */
  readonly bundleS3Uri: string;
  /** Hex SHA-256 of the bundle archive. */
  readonly bundleSha256: string;
  /** SSM parameter (main region) with the host configuration JSON, see docs/CONTRACTS.md. */
  readonly hostConfigParameter: string;
}

/** Where the bootstrap script and its settings land on the host. */
export const BOOTSTRAP_SCRIPT_PATH = "/usr/local/sbin/oh-bootstrap";
export const BOOTSTRAP_ENV_PATH = "/etc/openhands-team/bootstrap.env";

/** A Terraform expression or CDKTF token: no quotes, backslashes or newlines inside. */
const TOKEN = /\$\{[^}'"\\\n]*\}/g;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const SHA256 = /^[0-9a-f]{64}$/;
const S3_URI = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/[A-Za-z0-9!_.*()/-]+$/;
const PARAMETER = /^\/[A-Za-z0-9_./-]{1,1010}$/;

/**
 * The bootstrap script (bash). Reads its settings from BOOTSTRAP_ENV_PATH; OH_ROOT (unset on a host)
 * prefixes its paths for dry runs. Written without `${`: it is embedded in a Terraform string.
 */
export const BOOTSTRAP_SCRIPT = `#!/usr/bin/env bash
# openhands-team first boot: fetch the host bundle, check its SHA-256, unpack it, run its installer.
set -euo pipefail
root="$(printenv OH_ROOT || true)"
# shellcheck source=/dev/null
source "$root${BOOTSTRAP_ENV_PATH}"
bundles="$root/opt/openhands-team/bundle"
archive="$bundles/$OH_BUNDLE_SHA256.zip"
target="$bundles/$OH_BUNDLE_SHA256"

fetch_bundle() {
  local attempt
  for attempt in 1 2 3 4 5; do
    if aws s3 cp --only-show-errors --region "$OH_REGION" "$OH_BUNDLE_S3_URI" "$archive.part"; then
      return 0
    fi
    echo "oh-bootstrap: download of $OH_BUNDLE_S3_URI failed ($attempt/5)" >&2
    sleep 10
  done
  return 1
}

# a tampered or truncated bundle never runs: its digest must be the one in the launch template
verify_bundle() {
  if ! echo "$OH_BUNDLE_SHA256  $archive.part" | sha256sum -c --status -; then
    rm -f "$archive.part"
    echo "oh-bootstrap: $OH_BUNDLE_S3_URI does not have the SHA-256 $OH_BUNDLE_SHA256, refusing it" >&2
    return 1
  fi
  mv -f "$archive.part" "$archive"
}

unpack_bundle() {
  command -v unzip >/dev/null || dnf install -y -q unzip
  rm -rf "$target.tmp"
  mkdir -p "$target.tmp"
  unzip -q -o "$archive" -d "$target.tmp"
  rm -rf "$target"
  mv "$target.tmp" "$target"
}

mkdir -p "$bundles"
fetch_bundle
verify_bundle
unpack_bundle
exec bash "$target/install.sh" --region "$OH_REGION" --host-config-parameter "$OH_HOST_CONFIG_PARAMETER"
`;

/** Whether the value is exactly one Terraform expression. */
function isToken(value: string): boolean {
  return value.replace(TOKEN, "") === "" && (value.match(TOKEN) ?? []).length === 1;
}

/** The value with each Terraform expression replaced by a plain word, for checking what is around it. */
function literal(value: string): string {
  return value.replace(TOKEN, "token0");
}

function check(field: keyof UserDataParams, value: unknown, ok: (v: string) => boolean, expected: string): string {
  // shell and YAML injection: each value lands inside a quoted shell assignment, so only its documented
  // shape (or a Terraform expression, resolved by Terraform from our own resources) is accepted
  if (typeof value !== "string" || !ok(value)) {
    throw new Error(`renderUserData: ${field} ${JSON.stringify(value)} is not ${expected}, or a Terraform expression`);
  }
  return value;
}

export function renderUserData(params: UserDataParams): string {
  const region = check("region", params.region, (v) => isToken(v) || REGION.test(v), "an AWS region such as eu-central-1");
  const uri = check(
    "bundleS3Uri",
    params.bundleS3Uri,
    (v) => isToken(v) || S3_URI.test(literal(v)),
    "an S3 URI such as s3://bucket/host-bundle/<sha256>.zip",
  );
  const sha = check("bundleSha256", params.bundleSha256, (v) => isToken(v) || SHA256.test(v), "a lower-case hex SHA-256 (64 characters)");
  const parameter = check(
    "hostConfigParameter",
    params.hostConfigParameter,
    (v) => isToken(v) || PARAMETER.test(literal(v)),
    "an SSM parameter name such as /openhands/prod/host/config",
  );
  const indent = (text: string) =>
    text
      .split("\n")
      .map((line) => (line ? `      ${line}` : ""))
      .join("\n");
  return [
    "#cloud-config",
    "# openhands-team host: fetch the host bundle, check its SHA-256, run its installer (no secrets here).",
    "write_files:",
    `  - path: ${BOOTSTRAP_ENV_PATH}`,
    "    owner: root:root",
    '    permissions: "0644"',
    "    content: |",
    indent(
      [
        `OH_REGION='${region}'`,
        `OH_BUNDLE_S3_URI='${uri}'`,
        `OH_BUNDLE_SHA256='${sha}'`,
        `OH_HOST_CONFIG_PARAMETER='${parameter}'`,
        "",
      ].join("\n"),
    ),
    `  - path: ${BOOTSTRAP_SCRIPT_PATH}`,
    "    owner: root:root",
    '    permissions: "0755"',
    "    content: |",
    indent(BOOTSTRAP_SCRIPT),
    "runcmd:",
    `  - [${BOOTSTRAP_SCRIPT_PATH}]`,
    "",
  ].join("\n");
}
