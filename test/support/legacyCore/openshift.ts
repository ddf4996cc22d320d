// OpenShift's cluster Network (config.openshift.io/v1, name "cluster"): its externalIP policy, and the cluster's
// Service and Pod networks, whose addresses are never VIPs. Pure.
import { parseRange, type IpRange } from "./pools.js";
import { conformNetwork, readable } from "./wireShapes.js";

/** The Service and Pod networks, as spec (asked for) and status (in use) carry them. */
interface NetworkFields {
  serviceNetwork?: string[];
  clusterNetwork?: { cidr: string; hostPrefix?: number }[];
}

export interface OpenShiftNetwork {
  metadata: { name?: string };
  spec?: NetworkFields & {
    externalIP?: {
      policy?: { allowedCIDRs?: string[]; rejectedCIDRs?: string[] };
      autoAssignCIDRs?: string[];
    };
  };
  status?: NetworkFields;
}

/** Which external IPs the cluster allows, refuses, and assigns itself; and its own networks. */
export interface OpenShiftPolicy {
  allowed: IpRange[];
  rejected: IpRange[];
  autoAssign: IpRange[];
  /** The Service and Pod networks (spec and status): never VIPs, whatever allows them. */
  clusterNetworks: { range: IpRange; what: string }[];
}

const ranges = (list: string[] | undefined): IpRange[] =>
  (list ?? []).map((t) => parseRange(t, true)).filter((r): r is IpRange => typeof r !== "string");

/** The Service and Pod networks named in the Network's spec and status, each with where it was read. */
function clusterNetworks(n: OpenShiftNetwork): OpenShiftPolicy["clusterNetworks"] {
  const out: OpenShiftPolicy["clusterNetworks"] = [];
  for (const [part, fields] of [
    ["spec", n.spec],
    ["status", n.status],
  ] as const) {
    for (const range of ranges(fields?.serviceNetwork))
      out.push({
        range,
        what: `the cluster's Service network ${range.text} (Network cluster ${part}.serviceNetwork)`,
      });
    for (const range of ranges((fields?.clusterNetwork ?? []).map((c) => c.cidr)))
      out.push({
        range,
        what: `the cluster's Pod network ${range.text} (Network cluster ${part}.clusterNetwork)`,
      });
  }
  return out;
}

/** The policy of the Network named "cluster", or undefined when there is none. Wrongly typed values are dropped. */
export function openShiftPolicy(networks: readonly unknown[]): OpenShiftPolicy | undefined {
  const n = readable(networks, conformNetwork).find((x) => x.metadata.name === "cluster");
  if (n === undefined) return undefined;
  const ext = n.spec?.externalIP;
  return {
    allowed: ranges(ext?.policy?.allowedCIDRs),
    rejected: ranges(ext?.policy?.rejectedCIDRs),
    autoAssign: ranges(ext?.autoAssignCIDRs),
    clusterNetworks: clusterNetworks(n),
  };
}
