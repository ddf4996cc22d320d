// The plan a node agent follows (ConfigMap key plan.json, or --plan-file): a versioned wire contract between
// the controller and the agents. Plain JSON data holding exactly what an agent needs to render its
// keepalived.conf; the controller's own model (pools, allowed ranges, router-ID bookkeeping) stays out of it.
// render/planCodec.ts writes and reads it. Fields are listed in the order plan.json holds them (sorted).

/** The plan version this release writes and reads; a change to the fields below needs a new one. */
export const PLAN_API_VERSION = "plan.keepalived-operator.redhat-cop.io/v1";

export type PlanFamily = 4 | 6;

/** spec.vrrp, defaulted. */
export interface PlanVrrpV1 {
  advertIntervalMs: number;
  garpMasterDelaySeconds: number;
  garpMasterRefreshSeconds: number;
  garpMasterRepeat: number;
  preempt: boolean;
  preemptDelaySeconds: number;
  /**
   * Run keepalived's VRRP process with real-time scheduling (needs CAP_SYS_NICE): the timing profiles
   * whose adverts are too close for a busy node's ordinary scheduling. Absent when off.
   */
  realtimeScheduling?: boolean;
  version: 2 | 3;
}

/** The KeepalivedGroup settings the agent and its renderer read. */
export interface PlanGroupV1 {
  /** spec.interface. */
  interface?: string;
  /** spec.interfaceFromIP, canonical: the agent uses the interface of its route to this IP. */
  interfaceFromIP?: string;
  /** `namespace/name`. */
  key: string;
  name: string;
  namespace: string;
  /** The Secret holding the VRRP password; the password itself is never in the plan. */
  password?: { secretKey: string; secretName: string };
  unicast: boolean;
  /** Extra global_defs lines, sorted by key; an empty value writes the key alone. */
  verbatimGlobal: [string, string][];
  vrrp: PlanVrrpV1;
}

export interface PlanNodeV1 {
  /** The node's address per family: unicast source and peer addresses. */
  addresses: Partial<Record<PlanFamily, string>>;
  name: string;
}

export interface PlanPriorityV1 {
  node: string;
  priority: number;
}

/** One vrrp_instance. */
export interface PlanInstanceV1 {
  /** The VIP named in VRRP adverts (the others go to virtual_ipaddress_excluded); "" when vips is empty. */
  anchor: string;
  family: PlanFamily;
  /** kube-proxy health check port for externalTrafficPolicy: Local Services. */
  healthCheckNodePort?: number;
  name: string;
  /** Nodes that run this instance, best first. */
  priorities: PlanPriorityV1[];
  routerId: number;
  /** `namespace/name` of the Services whose VIPs it carries, sorted (written as comments). */
  services: string[];
  /** Extra vrrp_instance settings, in written order; flags (nopreempt, accept, …) stand alone. */
  settings: [string, string][];
  /** VIPs, canonical and sorted; empty for a node's pooled instance that carries none yet. */
  vips: string[];
}

export interface PlanV1 {
  apiVersion: typeof PLAN_API_VERSION;
  group: PlanGroupV1;
  /** In the planner's order, which is the order of the blocks in keepalived.conf. */
  instances: PlanInstanceV1[];
  /** The group's nodes, sorted by name. */
  nodes: PlanNodeV1[];
  /** VIP → node that should hold it. */
  placement: Record<string, string>;
}
