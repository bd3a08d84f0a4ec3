import { EDGE_SECRETS_PLACEHOLDER, edgeParameterNames } from "../src";

describe("the edge parameters", () => {
  it("GIVEN the prefix /<name>/<environment> THEN the names are .../edge/config and .../edge/secrets", () => {
    expect(edgeParameterNames("/openhands/prod")).toEqual({
      config: "/openhands/prod/edge/config",
      secrets: "/openhands/prod/edge/secrets",
    });
  });

  it("GIVEN the placeholder THEN it is the JSON object {unset: true} the edge answers 503 for", () => {
    expect(JSON.parse(EDGE_SECRETS_PLACEHOLDER)).toEqual({ unset: true });
  });
});
