/**
 * The launch template's user data: a small cloud-config that fetches the host bundle from S3, checks its
 * SHA-256 and runs its installer with the name of the SSM parameter holding the host configuration.
 * Values may be Terraform expressions (`${...}`); they are embedded verbatim.
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

export function renderUserData(params: UserDataParams): string {
  return [
    "#cloud-config",
    "runcmd:",
    `  - [bash, -c, "aws s3 cp '${params.bundleS3Uri}' /tmp/host-bundle.zip --region '${params.region}' && echo '${params.bundleSha256}  /tmp/host-bundle.zip' | sha256sum -c - && mkdir -p /opt/openhands-team && cd /opt/openhands-team && unzip -o /tmp/host-bundle.zip && ./install.sh '${params.hostConfigParameter}'"]`,
    "",
  ].join("\n");
}
