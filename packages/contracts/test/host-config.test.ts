// vectors/host-config.json (docker mode) and vectors/host-config-ecs.json (ECS mode) against the HostConfiguration type's field
// lists (bootstrap-scripts runs its installer on both; apps/infra's contract test holds what it writes to the same lists).
import hostConfigEcsVector from "../vectors/host-config-ecs.json";
import hostConfigVector from "../vectors/host-config.json";
import {
  HOST_CONFIGURATION_KEYS,
  HOST_CONFIGURATION_OPTIONAL_KEYS,
  HOST_ECS_KEYS,
  HOST_IMAGE_KEYS,
  HOST_LOG_GROUP_KEYS,
  HOST_SECRET_KEYS,
  type HostConfiguration,
} from "../src";

// The compiler (pnpm typecheck) holds the vectors to the type: a field missing or of the wrong type fails the build.
const document: HostConfiguration = { ...hostConfigVector.document, version: 1 };
const ecsDocument: HostConfiguration = { ...hostConfigEcsVector.document, version: 1 };

const sorted = (keys: readonly string[]) => [...keys].sort();

/** A CIDR as [first address, size], or undefined when it is not a.b.c.d/n. */
function cidrRange(cidr: string): [number, number] | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  if (!match) return undefined;
  const [a, b, c, d, bits] = match.slice(1).map(Number) as [number, number, number, number, number];
  if ([a, b, c, d].some((octet) => octet > 255) || bits > 32) return undefined;
  return [((a << 24) >>> 0) + (b << 16) + (c << 8) + d, 2 ** (32 - bits)];
}
/** What the installer and the runtime proxy accept as a task subnet: RFC 1918, /16 to /28, on its network boundary. */
function privateTaskCidr(cidr: string): boolean {
  const range = cidrRange(cidr);
  if (!range) return false;
  const [first, size] = range;
  const bits = 32 - Math.log2(size);
  const privateRanges = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
  return bits >= 16 && bits <= 28 && first % size === 0 && privateRanges.some((net) => within(cidr, net));
}
function within(inner: string, outer: string): boolean {
  const [a, aSize] = cidrRange(inner) ?? [NaN, NaN];
  const [b, bSize] = cidrRange(outer) ?? [NaN, NaN];
  const base = b - (b % bSize);
  return a >= base && a + aSize <= base + bSize;
}

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

describe("the ECS-mode host configuration vector", () => {
  it("GIVEN the vector THEN it has every field of the docker-mode document plus ecs, and ecs has exactly the type's fields", () => {
    expect(HOST_CONFIGURATION_OPTIONAL_KEYS).toEqual(["ecs"]);
    expect(sorted(Object.keys(hostConfigEcsVector.document))).toEqual(sorted([...HOST_CONFIGURATION_KEYS, "ecs"]));
    expect(sorted(Object.keys(hostConfigEcsVector.document.ecs))).toEqual(sorted(HOST_ECS_KEYS));
  });

  it("GIVEN the vector THEN apart from ecs it is the docker-mode vector, and ecs names the same region and file system", () => {
    const { ecs, ...rest } = ecsDocument;
    expect(rest).toEqual(document);
    expect(ecs?.region).toBe(document.region);
    expect(ecs?.fileSystemId).toBe(document.efsFileSystemId);
    expect(ecs?.deployment).toBe(`${document.name}-${document.environment}`);
    expect(ecs?.hostAccessPointId).toMatch(/^fsap-[0-9a-f]{17}$/);
    // the installer's shape of a Route 53 zone id (20-host-config.sh)
    expect(ecs?.sandboxZoneId).toMatch(/^Z[A-Z0-9]{1,31}$/);
  });

  it("GIVEN the vector THEN subnetCidrs holds one private IPv4 CIDR (/16 to /28) per subnet, inside the VPC's CIDRs", () => {
    const ecs = ecsDocument.ecs!;
    expect(ecs.subnetCidrs).toHaveLength(ecs.subnets.length);
    for (const cidr of ecs.subnetCidrs) {
      expect(privateTaskCidr(cidr)).toBe(true);
      expect(document.network.vpcCidrs.some((vpc) => within(cidr, vpc))).toBe(true);
    }
    // the helpers can fail: a public range, a /8, host bits set, a subnet of another network
    expect(["8.8.8.0/24", "10.0.0.0/8", "10.0.128.5/20", "10.0.0.0/29"].map(privateTaskCidr)).toEqual([false, false, false, false]);
    expect(within("10.1.0.0/24", "10.0.0.0/16")).toBe(false);
  });

  it("GIVEN an ecs section with a field too many or too few THEN the key comparison notices (the check can fail)", () => {
    const { hostAccessPointId: _dropped, ...missing } = hostConfigEcsVector.document.ecs;
    expect(sorted(Object.keys({ ...hostConfigEcsVector.document.ecs, surprise: 1 }))).not.toEqual(sorted(HOST_ECS_KEYS));
    expect(sorted(Object.keys(missing))).not.toEqual(sorted(HOST_ECS_KEYS));
  });
});
