// vectors/host-config.json against the HostConfiguration type's field lists (bootstrap-scripts runs its installer on it).
import hostConfigVector from "../vectors/host-config.json";
import { HOST_CONFIGURATION_KEYS, HOST_IMAGE_KEYS, HOST_LOG_GROUP_KEYS, HOST_SECRET_KEYS, type HostConfiguration } from "../src";

// The compiler (pnpm typecheck) holds the vector to the type: a field missing or of the wrong type fails the build.
const document: HostConfiguration = { ...hostConfigVector.document, version: 1 };

const sorted = (keys: readonly string[]) => [...keys].sort();

describe("the host configuration vector", () => {
  it("GIVEN the vector THEN its fields are exactly the type's, at every level that has a key list", () => {
    expect(sorted(Object.keys(hostConfigVector.document))).toEqual(sorted(HOST_CONFIGURATION_KEYS));
    expect(sorted(Object.keys(document.secrets))).toEqual(sorted(HOST_SECRET_KEYS));
    expect(sorted(Object.keys(document.logGroups))).toEqual(sorted(HOST_LOG_GROUP_KEYS));
    expect(sorted(Object.keys(document.images))).toEqual(sorted(HOST_IMAGE_KEYS));
    expect(sorted(Object.keys(document.database))).toEqual(["host", "masterSecretArn", "port"]);
    expect(sorted(Object.keys(document.users))).toEqual(["idleMinutes", "maxRunningApps", "maxRunningSandboxes", "sandboxesPerUser"]);
  });

  it("GIVEN the vector THEN it is version 1 with secrets named by ARN, never by value", () => {
    expect(hostConfigVector.document.version).toBe(1);
    for (const arn of Object.values(document.secrets)) expect(arn).toMatch(/^arn:aws:secretsmanager:/);
    expect(document.network.vpcCidrs.length).toBeGreaterThan(0);
  });

  it("GIVEN a document with an extra or a missing field THEN the key comparison notices (the check can fail)", () => {
    const extra = { ...hostConfigVector.document, surprise: true };
    const { eventsBucket: _dropped, ...missing } = hostConfigVector.document;
    expect(sorted(Object.keys(extra))).not.toEqual(sorted(HOST_CONFIGURATION_KEYS));
    expect(sorted(Object.keys(missing))).not.toEqual(sorted(HOST_CONFIGURATION_KEYS));
  });
});
