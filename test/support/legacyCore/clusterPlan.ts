// What the planner produces: one plan per group saying which VRRP instances (virtual routers) exist, which
// VIPs each carries, its router ID and each node's priority; and per Service, which of its IPs are announced.
import type { Diagnostic } from "./diagnostics.js";
import type { GroupModel } from "./group.js";
import type { Family } from "./ip.js";
import type { PoolUsage } from "./addresses.js";

export interface NodeMember {
  name: string;
  /** The node's InternalIP (else ExternalIP) per family: unicast source and peer addresses. */
  addresses: Partial<Record<Family, string>>;
}

export interface NodePriority {
  node: string;
  priority: number;
}

export interface VirtualRouter {
  /** Key in the group's status.routerIDs: `node/<node>/<family>` or `service/<ns>/<name>/<family>`. */
  key: string;
  /** vrrp_instance name. */
  name: string;
  routerId: number;
  family: Family;
  /** VIPs, canonical and sorted. */
  vips: string[];
  /**
   * The link-local address named in VRRP adverts, derived from the router ID (see anchors.ts); every VIP
   * goes to virtual_ipaddress_excluded. It never changes while the instance exists, and lets an instance
   * without VIPs run, so a node's pooled instance is MASTER before its first VIP arrives.
   */
  anchor: string;
  /** Nodes that run this instance, best first; the first is where the VIPs should be. */
  priorities: NodePriority[];
  /** `namespace/name` of the Services whose VIPs it carries, sorted. */
  services: string[];
  /** kube-proxy health check port for externalTrafficPolicy: Local Services. */
  healthCheckNodePort?: number;
  /** Extra vrrp_instance settings from the Service's verbatimconfig annotation. */
  settings: [string, string][];
}

export interface GroupPlan {
  group: GroupModel;
  nodes: NodeMember[];
  instances: VirtualRouter[];
  /** status.routerIDs to record: every instance key → router ID. */
  routerIDs: Record<string, number>;
  /** VIP → node that should hold it. */
  placement: Record<string, string>;
  /** Problems of the group as a whole (no nodes, router IDs exhausted, …). */
  diagnostics: Diagnostic[];
  /** Size and use of each usable address pool. */
  pools: PoolUsage[];
}

export interface VipOutcome {
  ip: string;
  /** Node that should hold it, when announced. */
  node?: string;
  /** vrrp_instance carrying it, when announced. */
  instance?: string;
}

export interface ServicePlan {
  key: string;
  groupKey: string;
  announced: VipOutcome[];
  /** Why some or all of its IPs are not announced, and other problems. */
  diagnostics: Diagnostic[];
}

export interface ClusterPlan {
  groups: GroupPlan[];
  /** Groups that failed validation, with the reasons. */
  invalidGroups: { key: string; diagnostics: Diagnostic[] }[];
  /** Every Service of ours, valid or not, sorted by key. */
  services: ServicePlan[];
}

/**
 * Priorities of the first ranks, spaced so that exactly one backup takes over. A backup declares the master
 * dead after 3 adverts plus a skew of (256 - priority) / 256 of an advert, so close priorities (149, 148)
 * make two backups time out within a millisecond and both enter MASTER. 240 against 120 puts 47% of an
 * advert between the first two backups: the first one's advert reaches the second long before its timer.
 */
const SPACED_PRIORITIES = [250, 240, 120, 60, 30] as const;

/** keepalived priority for a node's rank in an instance: widely spaced first ranks, then descending to 2. */
export function priorityForRank(rank: number): number {
  const spaced = SPACED_PRIORITIES[rank];
  if (spaced !== undefined) return spaced;
  return Math.max(2, 30 - (rank - SPACED_PRIORITIES.length + 1));
}

/** Priority an agent announces while handing its VIPs over before it stops. */
export const HANDOVER_PRIORITY = 1;

/** A virtual router before its router ID (and with it its anchor) is known. */
export type UnnumberedRouter = Omit<VirtualRouter, "routerId" | "anchor">;
