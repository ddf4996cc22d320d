// Agent Leases → which node actually holds each VIP. Pure: `now` is passed in.
import { GROUP_LABEL, HELD_VIPS_ANNOTATION, NODE_LABEL } from "../api/names.js";

export interface AgentLease {
  metadata: {
    namespace?: string;
    name?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number };
}

/** Group key → VIP → nodes that report holding it (sorted), from Leases that have not expired. */
export function actualHolders(
  leases: readonly AgentLease[],
  now: number,
): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  for (const lease of leases) {
    const group = lease.metadata.labels?.[GROUP_LABEL];
    const node = lease.metadata.labels?.[NODE_LABEL] ?? lease.spec?.holderIdentity;
    const renewed = Date.parse(lease.spec?.renewTime ?? "");
    const ttl = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
    if (group === undefined || node === undefined || !Number.isFinite(renewed) || renewed + ttl < now)
      continue;
    let vips: unknown;
    try {
      vips = JSON.parse(lease.metadata.annotations?.[HELD_VIPS_ANNOTATION] ?? "[]");
    } catch {
      continue;
    }
    if (!Array.isArray(vips)) continue;
    const key = `${lease.metadata.namespace ?? ""}/${group}`;
    const byVip = out.get(key) ?? new Map<string, string[]>();
    for (const vip of vips) {
      if (typeof vip !== "string") continue;
      byVip.set(vip, [...(byVip.get(vip) ?? []), node].sort());
    }
    out.set(key, byVip);
  }
  return out;
}

export interface HolderChange {
  vip: string;
  before: string[];
  after: string[];
}

/** VIPs whose set of holders changed between two observations. */
export function holderChanges(
  before: ReadonlyMap<string, string[]>,
  after: ReadonlyMap<string, string[]>,
): HolderChange[] {
  const vips = [...new Set([...before.keys(), ...after.keys()])].sort();
  return vips
    .map((vip) => ({ vip, before: before.get(vip) ?? [], after: after.get(vip) ?? [] }))
    .filter((c) => c.before.join(",") !== c.after.join(","));
}
