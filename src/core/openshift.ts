// OpenShift's cluster Network (config.openshift.io/v1, name "cluster"): its externalIP policy. Pure.
import { parseRange, type IpRange } from "./pools.js";

export interface OpenShiftNetwork {
  metadata: { name?: string };
  spec?: {
    externalIP?: {
      policy?: { allowedCIDRs?: string[]; rejectedCIDRs?: string[] };
      autoAssignCIDRs?: string[];
    };
  };
}

/** Which external IPs the cluster allows, refuses, and assigns itself. */
export interface OpenShiftPolicy {
  allowed: IpRange[];
  rejected: IpRange[];
  autoAssign: IpRange[];
}

const ranges = (list: string[] | undefined): IpRange[] =>
  (list ?? []).map((t) => parseRange(t, true)).filter((r): r is IpRange => typeof r !== "string");

/** The policy of the Network named "cluster", or undefined when there is none. */
export function openShiftPolicy(networks: readonly OpenShiftNetwork[]): OpenShiftPolicy | undefined {
  const n = networks.find((x) => x.metadata.name === "cluster");
  if (n === undefined) return undefined;
  const ext = n.spec?.externalIP;
  return {
    allowed: ranges(ext?.policy?.allowedCIDRs),
    rejected: ranges(ext?.policy?.rejectedCIDRs),
    autoAssign: ranges(ext?.autoAssignCIDRs),
  };
}
