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
   * The one VIP named in VRRP adverts (the others go to virtual_ipaddress_excluded). keepalived drops
   * adverts whose address list differs from its own, so this must change as rarely as possible: it is a
   * VIP of the instance's oldest Service, and adding a Service never changes it.
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

/** keepalived priority for a node's rank in an instance: 200 for the preferred node, then descending. */
export function priorityForRank(rank: number): number {
  return rank === 0 ? 200 : Math.max(2, 150 - rank);
}

/** Priority an agent announces while handing its VIPs over before it stops. */
export const HANDOVER_PRIORITY = 1;

/** A virtual router before its router ID is known. */
export type UnnumberedRouter = Omit<VirtualRouter, "routerId">;
