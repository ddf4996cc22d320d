// IP addresses and CIDRs as canonical strings and integers; no lookups, no I/O.
import { isIPv4, isIPv6 } from "node:net";

export type Family = 4 | 6;

export interface ParsedIP {
  /** Canonical text: dotted quad, or lower-case RFC 5952 IPv6. */
  text: string;
  family: Family;
  value: bigint;
}

function v4ToBigint(s: string): bigint {
  return s.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function v6ToBigint(s: string): bigint {
  let text = s;
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = v4ToBigint(tail);
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = "", rest] = text.split("::");
  const headParts = head === "" ? [] : head.split(":");
  const restParts = rest === undefined || rest === "" ? [] : rest.split(":");
  const fill = rest === undefined ? 0 : 8 - headParts.length - restParts.length;
  const parts = [...headParts, ...Array<string>(fill).fill("0"), ...restParts];
  return parts.reduce((acc, p) => (acc << 16n) | BigInt(parseInt(p, 16)), 0n);
}

function bigintToV4(v: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => ((v >> s) & 0xffn).toString()).join(".");
}

function bigintToV6(v: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => (v >> BigInt((7 - i) * 16)) & 0xffffn);
  // RFC 5952: compress the longest run (length >= 2) of zero groups, the first such run on ties.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0n) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0n) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** Parses an IPv4 or IPv6 address (no zone, no prefix); undefined if it is not one (or not even a string). */
export function parseIP(input: unknown): ParsedIP | undefined {
  if (typeof input !== "string" || input.length > 100) return undefined;
  const s = input.trim();
  if (isIPv4(s)) {
    const value = v4ToBigint(s);
    return { text: bigintToV4(value), family: 4, value };
  }
  if (isIPv6(s) && !s.includes("%")) {
    const value = v6ToBigint(s.toLowerCase());
    return { text: bigintToV6(value), family: 6, value };
  }
  return undefined;
}

export function ipFromValue(value: bigint, family: Family): ParsedIP {
  return { text: family === 4 ? bigintToV4(value) : bigintToV6(value), family, value };
}

export interface Cidr {
  text: string;
  family: Family;
  first: bigint;
  last: bigint;
  prefix: number;
}

export function familyBits(family: Family): number {
  return family === 4 ? 32 : 128;
}

/** Parses `addr/prefix`; the address is masked to the network. Undefined if malformed. */
export function parseCidr(input: string): Cidr | undefined {
  const [addr, prefixText, extra] = input.trim().split("/");
  if (
    addr === undefined ||
    prefixText === undefined ||
    extra !== undefined ||
    !/^\d{1,3}$/.test(prefixText)
  ) {
    return undefined;
  }
  const ip = parseIP(addr);
  if (ip === undefined) return undefined;
  const bits = familyBits(ip.family);
  const prefix = Number(prefixText);
  if (prefix > bits) return undefined;
  const hostBits = BigInt(bits - prefix);
  const first = (ip.value >> hostBits) << hostBits;
  const last = first + (1n << hostBits) - 1n;
  return { text: `${ipFromValue(first, ip.family).text}/${prefix}`, family: ip.family, first, last, prefix };
}

export function cidrContains(cidr: Cidr, ip: ParsedIP): boolean {
  return cidr.family === ip.family && ip.value >= cidr.first && ip.value <= cidr.last;
}

const NOT_A_VIP: { cidr: Cidr; why: string }[] = [
  ["0.0.0.0/8", "is in 0.0.0.0/8 ('this network')"],
  ["127.0.0.0/8", "is a loopback address"],
  ["169.254.0.0/16", "is a link-local address"],
  ["224.0.0.0/4", "is a multicast address"],
  ["240.0.0.0/4", "is a reserved or broadcast address"],
  ["::/128", "is the unspecified address"],
  ["::1/128", "is the loopback address"],
  ["::ffff:0:0/96", "is an IPv4-mapped IPv6 address (write the IPv4 address instead)"],
  ["fe80::/10", "is a link-local address"],
  ["ff00::/8", "is a multicast address"],
].map(([c, why]) => ({ cidr: parseCidr(c ?? "") as Cidr, why: why ?? "" }));

/** Why an address can never be announced as a VIP, or undefined if it can. */
export function notAVipReason(ip: ParsedIP): string | undefined {
  return NOT_A_VIP.find((r) => cidrContains(r.cidr, ip))?.why;
}

export function compareIPs(a: ParsedIP, b: ParsedIP): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

export function familyName(family: Family): "ipv4" | "ipv6" {
  return family === 4 ? "ipv4" : "ipv6";
}
