// Who holds which IP during one address assignment, and on what terms a held IP may be shared. Pure.
import { SHARING_KEY_ANNOTATION } from "../api/names.js";
import { serviceObject, warningOn, type Diagnostic } from "./diagnostics.js";
import { compareIPs, type Family, type ParsedIP } from "./ip.js";
import { sortSmall } from "./keys.js";
import { inRanges, type IpRange, type Pool } from "./pools.js";
import { isDedicated, type ServiceClaim } from "./service.js";

const SHARING_HINT = `give both Services the same ${SHARING_KEY_ANNOTATION} key (their ports must differ)`;

/** The Services holding one IP, and what any other Service must match to share it. */
export interface Holder {
  group: string;
  owners: ServiceClaim[];
  ports: Set<string>;
  sharingKey?: string;
  dedicated: boolean;
}

/** A holder with the IP it holds. */
interface HeldIp extends Holder {
  ip: ParsedIP;
}

/**
 * Why `claim` may not share an IP with its holder, finishing "…, which claimed it first; <why>.", or undefined
 * when it may: same group, same sharing key, no port in common, neither with an instance of its own.
 */
export function sharingRefusal(holder: Holder, claim: ServiceClaim): string | undefined {
  const clash = claim.ports.find((p) => holder.ports.has(p));
  const sameKey = holder.sharingKey !== undefined && holder.sharingKey === claim.sharingKey;
  const dedicated = holder.dedicated || isDedicated(claim);
  if (holder.group === claim.groupKey && sameKey && clash === undefined && !dedicated) return undefined;
  if (sameKey && clash !== undefined) return `both use port ${clash}`;
  if (dedicated) {
    return "Services with externalTrafficPolicy: Local or a verbatimconfig annotation cannot share an IP";
  }
  if (holder.group !== claim.groupKey) {
    return `it is announced by another KeepalivedGroup for Service ${holder.owners[0]?.key ?? ""}`;
  }
  return `${SHARING_HINT}, or choose another IP`;
}

export class AddressLedger {
  /** Holder of each IP, by IP text, in the order the IPs were first taken. */
  private readonly holders = new Map<string, HeldIp>();
  /** IPs of each Service, by Service key, in the order it took them. */
  private readonly held = new Map<string, ParsedIP[]>();
  /** The holders of each group and sharing key, in the order of `holders`: where a sharing Service looks. */
  private readonly sharing = new Map<string, Map<string, HeldIp>>();
  /** Held IP values per family, sorted; built when counted, dropped when the holders change. */
  private sorted: Map<Family, bigint[]> | undefined;

  /** Refused takes are reported here, as Warnings on the Service. */
  constructor(private readonly diagnostics: Diagnostic[]) {}

  /** Gives `ip` to the Service unless another holds it and may not share it; `field` names where it came from. */
  take(claim: ServiceClaim, ip: ParsedIP, field: string): boolean {
    const mine = this.heldBy(claim);
    if (mine.some((m) => m.text === ip.text)) return true;
    const holder = this.holders.get(ip.text);
    if (holder === undefined) {
      const fresh = newHolder(claim, ip);
      this.holders.set(ip.text, fresh);
      this.sorted = undefined;
      if (fresh.sharingKey !== undefined) {
        const key = sharingIndexKey(fresh.group, fresh.sharingKey);
        const list = this.sharing.get(key) ?? new Map<string, HeldIp>();
        list.set(ip.text, fresh);
        this.sharing.set(key, list);
      }
    } else {
      const why = sharingRefusal(holder, claim);
      if (why !== undefined) {
        const first = holder.owners[0]?.key ?? "";
        const message = `${ip.text} is already used by Service ${first}, which claimed it first; ${why}.`;
        this.diagnostics.push(warningOn(serviceObject(claim), field, "IPInUse", message));
        return false;
      }
      holder.owners.push(claim);
      for (const p of claim.ports) holder.ports.add(p);
    }
    if (mine.length === 0) this.held.set(claim.key, [ip]);
    else mine.push(ip);
    return true;
  }

  /** Gives back every IP the Service took (RequireDualStack: all families or none). */
  release(claim: ServiceClaim): void {
    for (const ip of this.heldBy(claim)) {
      const holder = this.holders.get(ip.text);
      if (holder === undefined) continue;
      holder.owners = holder.owners.filter((o) => o.key !== claim.key);
      if (holder.owners.length > 0) continue;
      this.holders.delete(ip.text);
      this.sorted = undefined;
      if (holder.sharingKey !== undefined)
        this.sharing.get(sharingIndexKey(holder.group, holder.sharingKey))?.delete(ip.text);
    }
    this.held.delete(claim.key);
  }

  isHeld(ip: string): boolean {
    return this.holders.has(ip);
  }

  heldBy(claim: ServiceClaim): ParsedIP[] {
    return this.held.get(claim.key) ?? [];
  }

  /** An IP of the Service's sharing key, in `pools` and of `family`, that it may join (no port in common). */
  shareableIp(claim: ServiceClaim, family: Family, pools: readonly Pool[]): ParsedIP | undefined {
    if (claim.sharingKey === undefined) return undefined;
    const candidates =
      this.sharing.get(sharingIndexKey(claim.groupKey, claim.sharingKey)) ?? new Map<string, HeldIp>();
    for (const holder of candidates.values()) {
      const ip = holder.ip;
      if (
        ip.family === family &&
        pools.some((p) => inRanges(p.ranges, ip) !== undefined) &&
        !claim.ports.some((port) => holder.ports.has(port))
      ) {
        return ip;
      }
    }
    return undefined;
  }

  /** Each Service's IPs, sorted. */
  vipsOf(claims: readonly ServiceClaim[]): Map<string, ParsedIP[]> {
    return new Map(claims.map((claim) => [claim.key, sortSmall([...this.heldBy(claim)], compareIPs)]));
  }

  /** Services that share each shared IP, sorted. */
  sharedWith(): Map<string, string[]> {
    const shared = new Map<string, string[]>();
    for (const [ip, holder] of this.holders) {
      if (holder.owners.length > 1) shared.set(ip, holder.owners.map((o) => o.key).sort());
    }
    return shared;
  }

  /** How many held IPs lie in the ranges. */
  countIn(ranges: readonly IpRange[]): number {
    if (this.sorted === undefined) {
      this.sorted = new Map([
        [4, []],
        [6, []],
      ]);
      for (const holder of this.holders.values()) this.sorted.get(holder.ip.family)?.push(holder.ip.value);
      for (const values of this.sorted.values()) values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    }
    let count = 0;
    for (const [family, values] of this.sorted)
      for (const [first, last] of disjoint(ranges.filter((r) => r.family === family)))
        count += firstAbove(values, last) - firstAbove(values, first - 1n);
    return count;
  }
}

/** Key of the sharing index: group and sharing key. */
function sharingIndexKey(group: string, sharingKey: string): string {
  return `${group}\u0000${sharingKey}`;
}

/** The ranges as sorted, non-overlapping [first, last] intervals (a pool's ranges may overlap). */
function disjoint(ranges: readonly IpRange[]): [bigint, bigint][] {
  const sorted = [...ranges].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const out: [bigint, bigint][] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && r.first <= last[1] + 1n) last[1] = r.last > last[1] ? r.last : last[1];
    else out.push([r.first, r.last]);
  }
  return out;
}

/** Index of the first value above `v` in sorted `values`. */
function firstAbove(values: readonly bigint[], v: bigint): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((values[mid] as bigint) <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function newHolder(claim: ServiceClaim, ip: ParsedIP): HeldIp {
  const holder: HeldIp = {
    group: claim.groupKey,
    owners: [claim],
    ports: new Set(claim.ports),
    dedicated: isDedicated(claim),
    ip,
  };
  if (claim.sharingKey !== undefined) holder.sharingKey = claim.sharingKey;
  return holder;
}
