// Wire types of the KeepalivedGroup resource, as a user writes them. `core/` validates these into its own model.

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export interface ResourceRequirements {
  limits?: Record<string, string>;
  requests?: Record<string, string>;
}

export interface AddressPoolSpec {
  name: string;
  /** CIDRs (`198.18.10.0/24`) or ranges (`198.18.10.10-198.18.10.20`). */
  addresses: string[];
  autoAssign?: boolean;
  /** Hand out the network and broadcast addresses of a CIDR too (off by default). */
  includeNetworkAndBroadcast?: boolean;
  serviceSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface KeepalivedGroupSpec {
  // Fields of the original operator, same meaning.
  nodeSelector?: Record<string, string>;
  image?: string;
  interface?: string;
  interfaceFromIP?: string;
  passwordAuth?: { secretRef: { name: string }; secretKey?: string };
  verbatimConfig?: Record<string, string>;
  blacklistRouterIDs?: (number | string)[];
  unicastEnabled?: boolean;
  daemonsetPodPriorityClassName?: string;
  /** Spelling used by one release of the original; read when the camel-case one is absent. */
  DaemonsetPodPriorityClassName?: string;
  daemonsetPodAnnotations?: Record<string, string>;
  /** Older name of daemonsetPodAnnotations; read when the newer one is absent. */
  daemonsetAnnotations?: Record<string, string>;
  // Additions, all optional.
  vrrp?: {
    version?: 2 | 3;
    timing?: "Default" | "Fast" | "Fastest";
    advertIntervalMilliseconds?: number;
    /** IPv4 link-local /24 the instances' anchor addresses come from; default 169.254.240.0/24. */
    anchorIPv4CIDR?: string;
    preempt?: boolean;
    preemptDelaySeconds?: number;
    garp?: { masterDelaySeconds?: number; masterRepeat?: number; masterRefreshSeconds?: number };
    /**
     * Nodes that run each VRRP instance: its primary and the best-ranked backups (rendezvous hashing), so a
     * node's config grows with the Services it may hold, not with the group. 2 to 255; default 5.
     */
    instanceNodes?: number;
  };
  spreadVIPs?: boolean;
  routerIDRange?: { min?: number; max?: number };
  routerIDScope?: "Cluster" | "Group";
  /**
   * How many VRRP instances of their own (Services with a verbatimconfig annotation or
   * externalTrafficPolicy: Local) the Services of one namespace may have in this group; default 16.
   */
  dedicatedInstancesPerNamespace?: number;
  agent?: {
    tolerations?: Toleration[];
    resources?: ResourceRequirements;
    /** Port of the agents' /metrics, /healthz and /readyz on the node; default: one per group from 9650 up. */
    metricsPort?: number;
  };
  addressPools?: AddressPoolSpec[];
  /** CIDRs or ranges that Service authors may use in spec.externalIPs or ask for; pools are allowed too. */
  allowedCIDRs?: string[];
}

export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface KeepalivedGroupStatus {
  conditions?: Condition[];
  routerIDs?: Record<string, number>;
  observedGeneration?: number;
  nodes?: number;
  vips?: number;
  /** What a hard failover costs at the group's VRRP settings, and why when VRRPv2 makes it slow. */
  failover?: string;
  /** Size and use of each usable address pool. */
  addressPools?: { name: string; size: string; used: number }[];
}

export interface KeepalivedGroup {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: KeepalivedGroupSpec;
  status?: KeepalivedGroupStatus;
}
