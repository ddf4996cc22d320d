// How many VIPs each node of a group is planned to hold, and a warning where keepalived cannot carry that many.
import { groupObject, warningOn, type Diagnostic } from "./diagnostics.js";
import type { ObjectName } from "./keys.js";

/**
 * VIPs per node that keepalived 2.2.7 holds steadily (docs/benchmarks.md row 7, README "Scale"): with 1,500 per
 * node, adding Services made no VRRP transition; taking over 3,000 kept its VRRP process from advertising for
 * about 300 ms, close to the master-down interval at 100 ms adverts, and with 3,333 per node row 7 saw 1-2
 * extra transitions per node and the same VIP on two nodes during the burst.
 */
export const STEADY_VIPS_PER_NODE = 1500;

/** Nodes over STEADY_VIPS_PER_NODE in `placement` (VIP → node), most loaded first; ties by name. */
export function crowdedNodes(
  placement: Readonly<Record<string, string>>,
  limit = STEADY_VIPS_PER_NODE,
): { node: string; vips: number }[] {
  const counts = new Map<string, number>();
  for (const node of Object.values(placement)) counts.set(node, (counts.get(node) ?? 0) + 1);
  return [...counts]
    .filter(([, vips]) => vips > limit)
    .map(([node, vips]) => ({ node, vips }))
    .sort((a, b) => b.vips - a.vips || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
}

/** A warning on the group naming its crowded nodes and what to do, or none. */
export function crowdedNodesWarning(
  group: ObjectName,
  placement: Readonly<Record<string, string>>,
  limit = STEADY_VIPS_PER_NODE,
): Diagnostic | undefined {
  const crowded = crowdedNodes(placement, limit);
  if (crowded.length === 0) return undefined;
  const shown = crowded.slice(0, 5).map((c) => `${c.node} (${c.vips})`);
  const more = crowded.length > shown.length ? ` and ${crowded.length - shown.length} more` : "";
  return warningOn(
    groupObject(group),
    "spec.nodeSelector",
    "TooManyVIPsPerNode",
    `nodes are planned to hold more than ${limit} VIPs each: ${shown.join(", ")}${more}. keepalived stops advertising for about the master-down interval while it takes over that many addresses, so another node may take them too; select more nodes for the group (spec.nodeSelector) or spread its Services over more groups.`,
  );
}
