// Addresses that are never VIPs, whatever allows or asks for them: any node's own address (announcing it would
// take that node's traffic), the cluster's Service and Pod networks, and the first and last address (network
// and broadcast) of every CIDR a group or the OpenShift policy allows, or a pool holds without handing them out.
// Pure.
import type { GroupModel } from "./group.js";
import { familyBits, ipFromValue, parseCidr, parseIP, type ParsedIP } from "./ip.js";
import type { NodeObject } from "./objects.js";
import type { OpenShiftPolicy } from "./openshift.js";
import { inRanges, rangesOverlap, type IpRange } from "./pools.js";

/** The address types of a Node that are its own: what its kubelet and its peers use. */
const NODE_ADDRESS_TYPES = ["InternalIP", "ExternalIP"];

export interface NodeAddress {
  ip: ParsedIP;
  node: string;
  type: string;
}

/** Every InternalIP and ExternalIP of the nodes, sorted by node name then type (first one wins a clash). */
export function nodeAddresses(nodes: readonly NodeObject[]): NodeAddress[] {
  const out: NodeAddress[] = [];
  for (const n of nodes) {
    for (const a of n.status?.addresses ?? []) {
      const ip = NODE_ADDRESS_TYPES.includes(a.type) ? parseIP(a.address) : undefined;
      if (ip !== undefined) out.push({ ip, node: n.metadata.name ?? "", type: a.type });
    }
  }
  return out.sort((a, b) =>
    a.node !== b.node ? (a.node < b.node ? -1 : 1) : a.type < b.type ? -1 : a.type > b.type ? 1 : 0,
  );
}

/** The first and last address of a CIDR with room for hosts, as `[ip text, which]`; none for ranges, /31, /32. */
function edges(range: IpRange): [bigint, string][] {
  const c = range.text.includes("/") ? parseCidr(range.text) : undefined;
  if (c === undefined || c.prefix >= familyBits(c.family) - 1) return [];
  return [
    [c.first, `the network address of ${c.text}`],
    [c.last, c.family === 4 ? `the broadcast address of ${c.text}` : `the last address of ${c.text}`],
  ];
}

export class ReservedAddresses {
  private readonly nodes = new Map<string, NodeAddress>();
  /** Group key → IP text → which edge it is, computed once per group. */
  private readonly edgesOf = new Map<string, Map<string, string>>();

  constructor(
    nodeAddresses: readonly NodeAddress[],
    private readonly openshift?: OpenShiftPolicy,
  ) {
    for (const a of nodeAddresses) if (!this.nodes.has(a.ip.text)) this.nodes.set(a.ip.text, a);
  }

  /** Why `ip` can never be a VIP of `group`, naming whose address it is; undefined when it can be. */
  reason(ip: ParsedIP, group: GroupModel): string | undefined {
    const node = this.nodes.get(ip.text);
    if (node !== undefined) {
      return `is the ${node.type} of node ${node.node}; a node's own address is never a VIP (announcing it would take that node's traffic)`;
    }
    const net = this.openshift?.clusterNetworks.find((n) => inRanges([n.range], ip) !== undefined);
    if (net !== undefined) return `is in ${net.what}, whose addresses are never VIPs`;
    const edge = this.groupEdges(group).get(ip.text);
    if (edge !== undefined) return `is ${edge}, which is never a VIP`;
    return undefined;
  }

  /** A node address inside the ranges, if any (a pool holding one is refused). */
  nodeAddressIn(ranges: readonly IpRange[]): NodeAddress | undefined {
    for (const a of this.nodes.values()) if (inRanges(ranges, a.ip) !== undefined) return a;
    return undefined;
  }

  /** The cluster network the ranges overlap, described, if any (a pool overlapping one is refused). */
  clusterNetworkOverlapping(ranges: readonly IpRange[]): string | undefined {
    return this.openshift?.clusterNetworks.find((n) => ranges.some((r) => rangesOverlap(r, n.range)))?.what;
  }

  private groupEdges(group: GroupModel): Map<string, string> {
    let found = this.edgesOf.get(group.key);
    if (found !== undefined) return found;
    found = new Map();
    const os = this.openshift;
    // A pool's CIDR counts unless the pool hands out its edges (includeNetworkAndBroadcast: its range is whole).
    const trimmedPools = group.pools.flatMap((p) => p.ranges).filter((r) => edges(r)[0]?.[0] !== r.first);
    const allowed = [...group.allowed, ...(os?.allowed ?? []), ...(os?.autoAssign ?? [])];
    for (const range of [...allowed, ...trimmedPools]) {
      for (const [value, what] of edges(range)) {
        const text = ipFromValue(value, range.family).text;
        if (!found.has(text)) found.set(text, what);
      }
    }
    this.edgesOf.set(group.key, found);
    return found;
  }
}
