// Address pools and allowed ranges as lists of [first, last] ranges per family. Pure.
import type { AddressPoolSpec, LabelSelector } from "../../../src/api/types.js";
import type { Findings } from "./diagnostics.js";
import { familyBits, ipFromValue, parseCidr, parseIP, type Family, type ParsedIP } from "./ip.js";
import { selectorProblem } from "./labels.js";
import { quote } from "./validate.js";

export interface IpRange {
  family: Family;
  first: bigint;
  last: bigint;
  /** As the user wrote it, for messages. */
  text: string;
}

export interface Pool {
  name: string;
  ranges: IpRange[];
  autoAssign: boolean;
  serviceSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
}

/** Parses a CIDR or `first-last` range; a CIDR loses its first and last address unless `whole`. */
export function parseRange(text: string, whole: boolean): IpRange | string {
  if (text.includes("/")) {
    const c = parseCidr(text);
    if (c === undefined) return `${quote(text)} is not a CIDR such as 198.18.10.0/24`;
    const bits = familyBits(c.family);
    const trim = !whole && c.prefix < bits - 1 ? 1n : 0n;
    return { family: c.family, first: c.first + trim, last: c.last - trim, text };
  }
  const parts = text.split("-");
  const a = parts.length === 2 ? parseIP(parts[0] ?? "") : undefined;
  const b = parts.length === 2 ? parseIP(parts[1] ?? "") : undefined;
  if (a === undefined || b === undefined)
    return `${quote(text)} is neither a CIDR nor a range such as 198.18.10.10-198.18.10.20`;
  if (a.family !== b.family) return `${quote(text)} mixes IPv4 and IPv6`;
  if (a.value > b.value) return `${quote(text)} starts after it ends`;
  return { family: a.family, first: a.value, last: b.value, text };
}

export function parsePool(spec: AddressPoolSpec): Pool | string[] {
  const problems: string[] = [];
  const ranges: IpRange[] = [];
  for (const text of spec.addresses) {
    const r = parseRange(text, spec.includeNetworkAndBroadcast === true);
    if (typeof r === "string") problems.push(r);
    else ranges.push(r);
  }
  for (const [name, sel] of [
    ["serviceSelector", spec.serviceSelector],
    ["namespaceSelector", spec.namespaceSelector],
  ] as const) {
    const p = sel === undefined ? undefined : selectorProblem(sel);
    if (p !== undefined) problems.push(`${name}: ${p}`);
  }
  if (problems.length > 0) return problems;
  const pool: Pool = { name: spec.name, ranges, autoAssign: spec.autoAssign ?? true };
  if (spec.serviceSelector !== undefined) pool.serviceSelector = spec.serviceSelector;
  if (spec.namespaceSelector !== undefined) pool.namespaceSelector = spec.namespaceSelector;
  return pool;
}

/** A group's spec.addressPools, in spec order; an address must belong to one pool. */
export function readAddressPools(specs: readonly AddressPoolSpec[] | undefined, findings: Findings): Pool[] {
  const pools: Pool[] = [];
  (specs ?? []).forEach((p, i) => {
    const parsed = parsePool(p);
    if (Array.isArray(parsed)) {
      for (const problem of parsed)
        findings.error(`spec.addressPools[${i}]`, "InvalidAddressPool", `pool ${quote(p.name)}: ${problem}.`);
      return;
    }
    for (const other of pools) {
      const clash = parsed.ranges.find((r) => other.ranges.some((o) => rangesOverlap(r, o)));
      if (clash !== undefined) {
        findings.error(
          `spec.addressPools[${i}]`,
          "OverlappingAddressPools",
          `pool ${quote(p.name)} (${clash.text}) overlaps pool ${quote(other.name)}; an address must belong to one pool.`,
        );
      }
    }
    pools.push(parsed);
  });
  return pools;
}

/** A group's spec.allowedCIDRs: whole CIDRs or ranges that Service authors may use. */
export function readAllowedRanges(texts: readonly string[] | undefined, findings: Findings): IpRange[] {
  const allowed: IpRange[] = [];
  (texts ?? []).forEach((text, i) => {
    const r = parseRange(text, true);
    if (typeof r === "string") findings.error(`spec.allowedCIDRs[${i}]`, "InvalidAllowedCIDR", `${r}.`);
    else allowed.push(r);
  });
  return allowed;
}

export function inRanges(ranges: readonly IpRange[], ip: ParsedIP): IpRange | undefined {
  return ranges.find((r) => r.family === ip.family && ip.value >= r.first && ip.value <= r.last);
}

export function rangesOverlap(a: IpRange, b: IpRange): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

/**
 * The lowest address of `family` in the ranges that `taken` does not hold. `scanned` remembers, per range, where
 * the taken addresses end, so allocating n addresses in a row costs n steps, not n²/2: pass the same map while
 * addresses are only taken, and a new (or cleared) one after any is given back.
 */
export function lowestFree(
  ranges: readonly IpRange[],
  family: Family,
  taken: (ip: ParsedIP) => boolean,
  scanned: Map<IpRange, bigint> = new Map(),
): ParsedIP | undefined {
  for (const r of ranges) {
    if (r.family !== family) continue;
    for (let v = scanned.get(r) ?? r.first; v <= r.last; v++) {
      const ip = ipFromValue(v, family);
      scanned.set(r, v);
      if (!taken(ip)) return ip;
    }
    scanned.set(r, r.last + 1n);
  }
  return undefined;
}

export function rangeSize(ranges: readonly IpRange[]): bigint {
  return ranges.reduce((n, r) => n + (r.last - r.first + 1n), 0n);
}
