/**
 * CIDR ranges parsed for real (not matched by a pattern): `10.0.0.0/33`, `::/0`, `1.2.3.4/24` with host bits,
 * `10.0.0.010/32` and malformed IPv6 are refused with a reason the configuration error shows.
 */

export interface Cidr {
  readonly version: 4 | 6;
  /** The network address as a number (host bits zero). */
  readonly network: bigint;
  readonly prefix: number;
  /** The range in canonical text. */
  readonly text: string;
}

export type CidrResult = { readonly ok: true; readonly cidr: Cidr } | { readonly ok: false; readonly reason: string };

function parseIpv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    // Leading zeros are refused: some tools read 010 as octal (8), others as 10.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256n + BigInt(part);
  }
  return value;
}

function parseIpv6(text: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string): string[] | undefined => {
    if (half === "") return [];
    const groups = half.split(":");
    const last = groups[groups.length - 1]!;
    // An embedded IPv4 tail (::ffff:192.0.2.1) counts as two groups.
    if (last.includes(".")) {
      const v4 = parseIpv4(last);
      if (v4 === undefined) return undefined;
      groups.splice(groups.length - 1, 1, (v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16));
    }
    return groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g)) ? groups : undefined;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  return groups.reduce((value, g) => (value << 16n) + BigInt(parseInt(g, 16)), 0n);
}

function format(version: 4 | 6, value: bigint): string {
  if (version === 4) return [24n, 16n, 8n, 0n].map((shift) => ((value >> shift) & 255n).toString()).join(".");
  const groups = Array.from({ length: 8 }, (_, i) => ((value >> BigInt((7 - i) * 16)) & 0xffffn).toString(16));
  // The longest run of two or more zero groups becomes "::" (RFC 5952).
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > best.length && j - i >= 2) best = { start: i, length: j - i };
    i = j;
  }
  if (best.start < 0) return groups.join(":");
  return `${groups.slice(0, best.start).join(":")}::${groups.slice(best.start + best.length).join(":")}`;
}

/** Parses `address/prefix` (IPv4 or IPv6); `/0` is refused: an allow list of everyone is no allow list. */
export function parseCidr(text: string): CidrResult {
  const match = /^([^/\s]+)\/([0-9]{1,3})$/.exec(text);
  if (!match) return { ok: false, reason: "is not a CIDR (expected address/prefix such as 203.0.113.0/24 or 2001:db8::/32)" };
  const [, address, prefixText] = match as unknown as [string, string, string];
  const version: 4 | 6 = address.includes(":") ? 6 : 4;
  const value = version === 4 ? parseIpv4(address) : parseIpv6(address);
  if (value === undefined) {
    return {
      ok: false,
      reason:
        version === 4
          ? "is not an IPv4 CIDR (expected four numbers 0-255 without leading zeros, such as 203.0.113.0/24)"
          : "is not an IPv6 CIDR (expected hex groups with at most one ::, such as 2001:db8::/32)",
    };
  }
  const bits = version === 4 ? 32 : 128;
  const prefix = Number(prefixText);
  if (prefix > bits) return { ok: false, reason: `has a prefix longer than ${bits} bits (expected /1 to /${bits} for IPv${version})` };
  if (prefix === 0) return { ok: false, reason: "allows every address (/0 is refused: leave the list empty to allow everyone)" };
  const hostBits = BigInt(bits - prefix);
  const network = (value >> hostBits) << hostBits;
  const canonical = `${format(version, network)}/${prefix}`;
  if (network !== value) return { ok: false, reason: `has host bits set (expected the network address ${canonical})` };
  return { ok: true, cidr: { version, network, prefix, text: canonical } };
}

/** Whether two parsed ranges of the same version share an address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.version !== b.version) return false;
  const bits = a.version === 4 ? 32 : 128;
  const end = (c: Cidr) => c.network + (1n << BigInt(bits - c.prefix)) - 1n;
  return a.network <= end(b) && b.network <= end(a);
}
