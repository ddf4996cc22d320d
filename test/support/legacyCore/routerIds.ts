// Virtual router IDs: kept where already recorded, lowest free otherwise; unique within each group and,
// for groups of scope Cluster, across all of them (groups often share one network).
import { byAge, type Aged } from "./keys.js";

export interface RouterIdRequest {
  groupKey: string;
  createdAt: string;
  scope: "Cluster" | "Group";
  range: { min: number; max: number };
  blacklist: ReadonlySet<number>;
  /** Instance keys that need an ID. */
  keys: readonly string[];
  /** IDs recorded in the group's status by an earlier reconcile. */
  recorded: Readonly<Record<string, number>>;
}

export interface RouterIdAllocation {
  /** Group key → instance key → router ID, for every key that got one. */
  assigned: Map<string, Record<string, number>>;
  /** Group key → instance keys left without an ID (range exhausted). */
  exhausted: Map<string, string[]>;
}

const asAged = (r: RouterIdRequest): Aged => ({ createdAt: r.createdAt, key: r.groupKey });

export function allocateRouterIds(requests: readonly RouterIdRequest[]): RouterIdAllocation {
  const ordered = [...requests].sort((a, b) => byAge(asAged(a), asAged(b)));
  const clusterUsed = new Set<number>();
  const used = new Map<string, Set<number>>();
  const assigned = new Map<string, Record<string, number>>();
  const exhausted = new Map<string, string[]>();
  const taken = (r: RouterIdRequest, id: number): boolean =>
    (used.get(r.groupKey)?.has(id) ?? false) || (r.scope === "Cluster" && clusterUsed.has(id));
  const take = (r: RouterIdRequest, key: string, id: number): void => {
    used.get(r.groupKey)?.add(id);
    if (r.scope === "Cluster") clusterUsed.add(id);
    const ids = assigned.get(r.groupKey);
    if (ids !== undefined) ids[key] = id;
  };
  for (const r of ordered) {
    used.set(r.groupKey, new Set());
    assigned.set(r.groupKey, {});
  }
  // Pass 1, oldest group first: keep recorded IDs that are still valid, so restarts never renumber.
  for (const r of ordered) {
    for (const key of [...r.keys].sort()) {
      const id = r.recorded[key];
      if (id === undefined || id < r.range.min || id > r.range.max || r.blacklist.has(id) || taken(r, id))
        continue;
      take(r, key, id);
    }
  }
  // Pass 2: new keys get the lowest free ID of their group's range.
  for (const r of ordered) {
    const ids = assigned.get(r.groupKey) ?? {};
    let next = r.range.min;
    for (const key of [...r.keys].sort()) {
      if (ids[key] !== undefined) continue;
      while (next <= r.range.max && (r.blacklist.has(next) || taken(r, next))) next++;
      if (next > r.range.max) {
        exhausted.set(r.groupKey, [...(exhausted.get(r.groupKey) ?? []), key]);
        continue;
      }
      take(r, key, next);
    }
  }
  return { assigned, exhausted };
}
