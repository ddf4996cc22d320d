// Properties checked over a recorded history (etcd's robustness tests, in small): "an IP never changes",
// "a router ID never changes", "no write outside the writer's tenure of the lease", "one owner". Pure:
// histories in, violations out; each violation names the object and the two values, so a failure reads alone.
import type { Observed } from "./recorder.js";

export interface ServiceLike {
  metadata: { uid?: string; namespace?: string; name?: string; deletionTimestamp?: string };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

export interface IpChange {
  service: string;
  uid: string;
  from: string[];
  to: string[];
  at: number;
}

const keyOf = (m: { namespace?: string; name?: string }): string => `${m.namespace ?? ""}/${m.name ?? ""}`;

/** The ingress IPs of a Service, sorted. */
export function ingressIps(s: ServiceLike): string[] {
  return (s.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip === undefined ? [] : [i.ip])).sort();
}

/**
 * Every time a Service's published ingress IPs changed while it existed: once a Service (by uid) has shown
 * an IP, any later state of it with other IPs (or none) is a change, until it is deleted.
 */
export function ipChanges(events: readonly Observed<ServiceLike>[]): IpChange[] {
  const published = new Map<string, string[]>();
  const changes: IpChange[] = [];
  for (const e of events) {
    const uid = e.object.metadata.uid ?? keyOf(e.object.metadata);
    if (e.type === "DELETED" || e.object.metadata.deletionTimestamp !== undefined) {
      published.delete(uid);
      continue;
    }
    const ips = ingressIps(e.object);
    const before = published.get(uid);
    if (before !== undefined && before.join(",") !== ips.join(",")) {
      changes.push({ service: keyOf(e.object.metadata), uid, from: before, to: ips, at: e.at });
    }
    if (before !== undefined || ips.length > 0) published.set(uid, ips);
  }
  return changes;
}

/** The last observed state of each Service that still exists, by uid. */
export function lastStates<T extends ServiceLike>(events: readonly Observed<T>[]): Map<string, T> {
  const last = new Map<string, T>();
  for (const e of events) {
    const uid = e.object.metadata.uid ?? keyOf(e.object.metadata);
    if (e.type === "DELETED") last.delete(uid);
    else last.set(uid, e.object);
  }
  return last;
}

export interface GroupLike {
  metadata: { uid?: string; namespace?: string; name?: string };
  status?: { routerIDs?: Record<string, number> | null };
}

export interface RouterIdChange {
  group: string;
  instance: string;
  from: number;
  to: number;
  at: number;
}

/**
 * Every time an instance key of a group's status.routerIDs got another ID. A key that leaves a recorded
 * map is forgotten (its instance is gone); a status without routerIDs keeps what was known.
 */
export function routerIdChanges(events: readonly Observed<GroupLike>[]): RouterIdChange[] {
  const known = new Map<string, Map<string, number>>();
  const changes: RouterIdChange[] = [];
  for (const e of events) {
    const uid = e.object.metadata.uid ?? keyOf(e.object.metadata);
    if (e.type === "DELETED") {
      known.delete(uid);
      continue;
    }
    const ids = e.object.status?.routerIDs;
    if (ids === undefined || ids === null) continue;
    const before = known.get(uid) ?? new Map<string, number>();
    for (const [instance, id] of Object.entries(ids)) {
      const was = before.get(instance);
      if (was !== undefined && was !== id)
        changes.push({ group: keyOf(e.object.metadata), instance, from: was, to: id, at: e.at });
    }
    known.set(uid, new Map(Object.entries(ids)));
  }
  return changes;
}

export interface LeaseLike {
  spec?: { holderIdentity?: string | null; acquireTime?: string | null };
}

/** One holder's time with the lease: from its acquireTime until the next holder's acquireTime. */
export interface Tenure {
  holder: string;
  from: number;
  until: number;
}

/** metav1.MicroTime (RFC 3339 with microseconds) → ms since the epoch. */
export function parseMicroTime(text: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(text);
  if (m === null) return NaN;
  const fraction = Number(`0.${m[2] ?? "0"}`);
  return Date.parse(`${m[1] ?? ""}Z`) + fraction * 1000;
}

/** The leader Lease's history as tenures, in order; an empty holder (a released lease) holds nothing. */
export function tenures(events: readonly Observed<LeaseLike>[]): Tenure[] {
  const out: Tenure[] = [];
  for (const e of events) {
    const holder = e.object.spec?.holderIdentity ?? "";
    const acquired = e.object.spec?.acquireTime;
    const last = out.at(-1);
    if (last !== undefined && last.holder === holder) continue;
    const from = acquired === undefined || acquired === null ? e.at : parseMicroTime(acquired);
    if (last !== undefined) last.until = Math.min(last.until, from, e.at);
    out.push({ holder, from, until: Infinity });
  }
  return out.filter((t) => t.holder !== "");
}

export interface Write {
  /** Who wrote, as the test maps it (e.g. the replica's lease identity). */
  writer: string;
  verb: string;
  object: string;
  code: number;
  /** When the API server received the request (ms since the epoch). */
  at: number;
}

/** Successful writes made while their writer did not hold the lease. */
export function writesOutsideTenure(writes: readonly Write[], held: readonly Tenure[]): Write[] {
  return writes.filter(
    (w) => w.code < 400 && !held.some((t) => t.holder === w.writer && w.at >= t.from && w.at < t.until),
  );
}

export interface HolderSample {
  at: number;
  /** Nodes that had the VIP on their interface at that moment. */
  holders: string[];
}

export interface HolderStats {
  samples: number;
  /** Most nodes seen holding the VIP in one sample. */
  max: number;
  /** Samples in which more than one node held it. */
  multi: number;
  /** Samples in which no node held it. */
  none: number;
}

export function holderStats(samples: readonly HolderSample[]): HolderStats {
  return {
    samples: samples.length,
    max: Math.max(0, ...samples.map((s) => s.holders.length)),
    multi: samples.filter((s) => s.holders.length > 1).length,
    none: samples.filter((s) => s.holders.length === 0).length,
  };
}

/** A VRRP state an agent reported for one of its instances; UNKNOWN when its agent died. */
export interface VrrpTransition {
  at: number;
  node: string;
  instance: string;
  state: string;
}

/** Transitions within [from, to). */
export function transitionsBetween(
  history: readonly VrrpTransition[],
  from: number,
  to: number,
): VrrpTransition[] {
  return history.filter((t) => t.at >= from && t.at < to);
}

/** Instance → the nodes whose last reported state at time `at` was MASTER (instances with any). */
export function mastersAt(history: readonly VrrpTransition[], at: number): Map<string, string[]> {
  const last = new Map<string, VrrpTransition>();
  for (const t of [...history].sort((a, b) => a.at - b.at)) {
    if (t.at > at) break;
    last.set(`${t.instance}\u0000${t.node}`, t);
  }
  const masters = new Map<string, string[]>();
  for (const t of last.values())
    if (t.state === "MASTER") masters.set(t.instance, [...(masters.get(t.instance) ?? []), t.node].sort());
  return masters;
}
