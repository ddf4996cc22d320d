// The clusters bench/plan.ts plans: n Services that take an address from a pool, every other one with a
// verbatimconfig (an instance of its own); (a) one group of 5 nodes, (b) 100 nodes in 20 groups of 5, (c) one
// group over all 100 nodes. Apart from the benchmark so that a profiler can plan one case alone.
import { GROUP_ANNOTATION, VERBATIM_CONFIG_ANNOTATION } from "../src/api/names.js";
import type { KeepalivedGroup } from "../src/api/types.js";
import type { ClusterSnapshot, NodeObject, ServiceObject } from "../src/core/objects.js";

export interface Cluster {
  name: string;
  groups: number;
  nodes: number;
  /** Each group selects its own nodes (nodes / groups each); else one group over all nodes. */
  split: boolean;
}

export const CLUSTERS: Cluster[] = [
  { name: "(a) 1 group, 5 nodes", groups: 1, nodes: 5, split: false },
  { name: "(b) 20 groups × 5 nodes", groups: 20, nodes: 100, split: true },
  { name: "(c) 1 group, 100 nodes", groups: 1, nodes: 100, split: false },
];

function group(g: number, split: boolean): KeepalivedGroup {
  const spec: NonNullable<KeepalivedGroup["spec"]> = {
    interface: "eth0",
    // 198.18.0.0/15 cut into 32 /20s: 4,094 addresses per group (the one-group runs use a /16 instead).
    addressPools: [
      { name: "p", addresses: [split ? `198.${18 + (g >> 4)}.${(g % 16) * 16}.0/20` : "198.18.0.0/16"] },
    ],
  };
  if (split) {
    spec.nodeSelector = { lb: `g${g}` };
    // Groups on nodes of their own: each numbers its instances from 1-255 without the others.
    spec.routerIDScope = "Group";
  }
  return { metadata: { name: `g${g}`, namespace: "kao", creationTimestamp: "2023-01-01T00:00:00Z" }, spec };
}

export function snapshot(n: number, cluster: Cluster): ClusterSnapshot {
  const services: ServiceObject[] = [];
  for (let i = 0; i < n; i++) {
    const annotations: Record<string, string> = { [GROUP_ANNOTATION]: `kao/g${i % cluster.groups}` };
    if (i % 2 === 1)
      annotations[VERBATIM_CONFIG_ANNOTATION] = JSON.stringify({ accept: "", [`bogus${i}`]: "1" });
    services.push({
      metadata: {
        name: `s${i}`,
        namespace: `ns${i % 50}`,
        creationTimestamp: "2024-01-01T00:00:00Z",
        annotations,
      },
      spec: { type: "LoadBalancer", ports: [{ protocol: "TCP", port: 80 }] },
    });
  }
  const perGroup = cluster.nodes / cluster.groups;
  const nodes: NodeObject[] = Array.from({ length: cluster.nodes }, (_, i) => ({
    metadata: { name: `n${i}`, labels: cluster.split ? { lb: `g${Math.floor(i / perGroup)}` } : {} },
    status: { addresses: [{ type: "InternalIP", address: `198.20.${i >> 8}.${(i % 256) + 1}` }] },
  }));
  return {
    groups: Array.from({ length: cluster.groups }, (_, g) => group(g, cluster.split)),
    nodes,
    services,
  };
}

/** The snapshot of cluster (a), (b) or (c) with n Services: for profiling one case. */
export function snapshotFor(letter: string, n: number): ClusterSnapshot {
  const cluster = CLUSTERS.find((c) => c.name[1] === letter) ?? CLUSTERS[0]!;
  return snapshot(n, cluster);
}
