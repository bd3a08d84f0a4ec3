/** Subnet allocation for users' bridge networks: `<prefix>.N.0/24`, gateway `.1`, app `.2` (docs/CONTRACTS.md). */
import type { NetworkState } from "./host-view";

export interface UserSubnet {
  index: number;
  subnet: string;
  gateway: string;
  appAddress: string;
  /** Addresses dockerd hands out dynamically (sandboxes), kept clear of the app's fixed `.2`. */
  dynamicRange: string;
}

export function userSubnet(prefix: string, index: number): UserSubnet {
  const base = `${prefix}.${index}`;
  return { index, subnet: `${base}.0/24`, gateway: `${base}.1`, appAddress: `${base}.2`, dynamicRange: `${base}.128/25` };
}

/** The lowest index in 1..254 whose /24 overlaps no existing network under the prefix. */
export function nextFreeSubnetIndex(prefix: string, existing: NetworkState[], alsoTaken: Iterable<number> = []): number | undefined {
  const taken = new Set<number>(alsoTaken);
  for (const network of existing) {
    if (!network.subnet) continue;
    const [address, bits] = network.subnet.split("/");
    const octets = (address ?? "").split(".").map(Number);
    if (`${octets[0]}.${octets[1]}` !== prefix) {
      // A network wider than /16 that contains the prefix blocks everything.
      if (Number(bits) < 16 && prefix.startsWith(`${octets[0]}.`)) return undefined;
      continue;
    }
    if (Number(bits) < 24) return undefined;
    taken.add(octets[2] ?? -1);
  }
  for (let index = 1; index <= 254; index += 1) if (!taken.has(index)) return index;
  return undefined;
}

export function subnetIndexOf(prefix: string, subnet: string | undefined): number | undefined {
  if (!subnet) return undefined;
  const match = /^(\d+)\.(\d+)\.(\d+)\.0\/24$/.exec(subnet);
  if (!match || `${match[1]}.${match[2]}` !== prefix) return undefined;
  return Number(match[3]);
}
