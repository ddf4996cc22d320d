// Who holds which IP during one address assignment, and on what terms a held IP may be shared. Pure.
import { SHARING_KEY_ANNOTATION } from "../../../src/api/names.js";
import { serviceObject, warningOn, type Diagnostic } from "./diagnostics.js";
import { compareIPs, parseIP, type Family, type ParsedIP } from "./ip.js";
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
  private readonly holders = new Map<string, Holder>();
  /** IPs of each Service, by Service key, in the order it took them. */
  private readonly held = new Map<string, ParsedIP[]>();

  /** Refused takes are reported here, as Warnings on the Service. */
  constructor(private readonly diagnostics: Diagnostic[]) {}

  /** Gives `ip` to the Service unless another holds it and may not share it; `field` names where it came from. */
  take(claim: ServiceClaim, ip: ParsedIP, field: string): boolean {
    const mine = this.heldBy(claim);
    if (mine.some((m) => m.text === ip.text)) return true;
    const holder = this.holders.get(ip.text);
    if (holder === undefined) {
      this.holders.set(ip.text, newHolder(claim));
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
    this.held.set(claim.key, [...mine, ip]);
    return true;
  }

  /** Gives back every IP the Service took (RequireDualStack: all families or none). */
  release(claim: ServiceClaim): void {
    for (const ip of this.heldBy(claim)) {
      const holder = this.holders.get(ip.text);
      if (holder === undefined) continue;
      holder.owners = holder.owners.filter((o) => o.key !== claim.key);
      if (holder.owners.length === 0) this.holders.delete(ip.text);
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
    for (const [text, holder] of this.holders) {
      const ip = parseIP(text);
      if (
        ip !== undefined &&
        holder.group === claim.groupKey &&
        holder.sharingKey === claim.sharingKey &&
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
    return new Map(claims.map((claim) => [claim.key, [...this.heldBy(claim)].sort(compareIPs)]));
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
    return [...this.holders.keys()].filter((ip) => inRanges(ranges, parseIP(ip) as ParsedIP) !== undefined)
      .length;
  }
}

function newHolder(claim: ServiceClaim): Holder {
  const holder: Holder = {
    group: claim.groupKey,
    owners: [claim],
    ports: new Set(claim.ports),
    dedicated: isDedicated(claim),
  };
  if (claim.sharingKey !== undefined) holder.sharingKey = claim.sharingKey;
  return holder;
}
