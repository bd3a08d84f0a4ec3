import { parseConfig } from "../../src/config/load";
import { configProblems, exampleInput } from "../support/template";

describe("GIVEN the main-region fields added to the configuration", () => {
  it("THEN the example needs none of them: prefix list from the region table, default host images, no route tables", () => {
    const config = parseConfig(exampleInput());
    expect(config.network.cloudFrontPrefixListId).toBeUndefined();
    expect(config.network.privateRouteTableIds).toEqual([]);
    expect(config.hostImages.openresty).toEqual({ repository: "docker.io/openresty/openresty", tag: "1.27.1.2-alpine" });
  });

  it("WHEN the region has no known prefix list and none is given THEN the field is named with the fix", () => {
    expect(configProblems((raw) => (raw.region = "me-central-1"))).toEqual([
      expect.stringMatching(
        new RegExp(
          [
            String.raw`^config\.network\.cloudFrontPrefixListId: is missing: `,
            "no published CloudFront origin-facing prefix list is known for me-central-1 ",
            String.raw`\(expected .*describe-managed-prefix-lists\)$`,
          ].join(""),
        ),
      ),
    ]);
  });

  it("WHEN the prefix list id is malformed THEN the value and the expected form are named", () => {
    expect(configProblems((raw) => (raw.network.cloudFrontPrefixListId = "sg-123"))).toEqual([
      'config.network.cloudFrontPrefixListId: "sg-123" is not a managed prefix list id (expected pl- followed by 8-17 hex digits)',
    ]);
  });

  it("WHEN the VPC-origin group or a route table id is malformed THEN each is refused by name", () => {
    expect(configProblems((raw) => (raw.network.vpcOriginSecurityGroupId = "CloudFront-VPCOrigins-Service-SG"))).toEqual([
      'config.network.vpcOriginSecurityGroupId: "CloudFront-VPCOrigins-Service-SG" is not a security group id (expected sg- ' +
        "followed by 8 or 17 hex digits)",
    ]);
    expect(configProblems((raw) => (raw.network.privateRouteTableIds = ["rtb-0123456789abcdef0", "main"]))).toEqual([
      'config.network.privateRouteTableIds[1]: "main" is not a route table id (expected rtb- followed by 8 or 17 hex digits)',
    ]);
  });

  it("WHEN a host image uses a floating tag THEN it is refused (images are pinned)", () => {
    const message = configProblems((raw) => {
      raw.hostImages = {
        openresty: { repository: "docker.io/openresty/openresty", tag: "latest" },
        llmGateway: { repository: "ghcr.io/berriai/litellm", tag: "main-v1.74.9-stable" },
        node: { repository: "docker.io/library/node", tag: "24.11.1-bookworm-slim" },
      };
    });
    expect(message).toEqual([
      'config.hostImages.openresty.tag: "latest" is not a pinned tag for the OpenResty proxy (expected an exact version such as ' +
        "1.27.1.2-alpine or v1.74.9-stable, never latest)",
    ]);
  });

  it("WHEN a host image repository carries a tag THEN it is refused", () => {
    const message = configProblems((raw) => {
      raw.hostImages = {
        openresty: { repository: "docker.io/openresty/openresty", tag: "1.27.1.2-alpine" },
        llmGateway: { repository: "ghcr.io/berriai/litellm:v1", tag: "v1.74.9-stable" },
        node: { repository: "docker.io/library/node", tag: "24.11.1-bookworm-slim" },
      };
    });
    expect(message).toEqual([
      expect.stringMatching(
        /^config\.hostImages\.llmGateway\.repository: "ghcr\.io\/berriai\/litellm:v1" is not an image repository for the LLM gateway/,
      ),
    ]);
  });
});
