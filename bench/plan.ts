// Planner benchmark: planCluster over n LoadBalancer Services that take an address from a pool (the allocation
// path); every other one carries a verbatimconfig (type checks, verbatim checks, quota, a dedicated instance).
// Clusters: (a) one group of 5 nodes; (b) 100 nodes in 20 groups of 5 (distinct nodeSelectors, router IDs per
// group); (c) one group over all 100 nodes. Prints per size the median and the fastest of 5 warm runs, the
// median CPU time (less disturbed by other load on the machine; it includes the GC's helper threads), µs per
// Service (flat or slowly rising: n log n or better), and a node's share: its instances (instancesForNode) as
// JSON. Never fails on time. Run after a build: node dist/bench/plan.js [sizes…] [a|b|c…]
import { GROUP_ANNOTATION, VERBATIM_CONFIG_ANNOTATION } from "../src/api/names.js";
import type { KeepalivedGroup } from "../src/api/types.js";
import type { ClusterSnapshot, NodeObject, ServiceObject } from "../src/core/objects.js";
import { planCluster } from "../src/core/plan.js";
import { planV1 } from "../src/render/planCodec.js";
import { instancesForNode } from "../src/render/membership.js";

interface Cluster {
  name: string;
  groups: number;
  nodes: number;
  /** Each group selects its own nodes (nodes / groups each); else one group over all nodes. */
  split: boolean;
}

const CLUSTERS: Cluster[] = [
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

function snapshot(n: number, cluster: Cluster): ClusterSnapshot {
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

/** Bytes of one node's share: the instances it runs, as JSON (the group-level fields are the same for all). */
function shareBytes(plan: ReturnType<typeof planCluster>): number {
  const first = plan.groups[0];
  const node = first?.nodes[0]?.name;
  if (first === undefined || node === undefined) return 0;
  return Buffer.byteLength(JSON.stringify(instancesForNode(planV1(first), node)));
}

// Arguments: sizes, and optionally cluster letters (a, b, c) to run only those.
const args = process.argv.slice(2);
const only = args.filter((a) => /^[a-z]$/.test(a));
const sizes = args.filter((a) => /^\d+$/.test(a)).map(Number);
const SIZES = sizes.length > 0 ? sizes : [1000, 2000, 5000, 10000, 20000];
// Warm the process up (JIT, shapes) before timing anything.
if (!only.includes("z")) for (let k = 0; k < 3; k++) planCluster(snapshot(2000, CLUSTERS[1]!));

const rows = [
  "| cluster | Services | median ms | fastest ms | CPU ms | µs / Service | announced | a node's share (bytes) |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
];
for (const cluster of CLUSTERS.filter((c) => only.length === 0 || only.includes(c.name[1] ?? ""))) {
  for (const n of SIZES) {
    const s = snapshot(n, cluster);
    const times: number[] = [];
    const cpu: number[] = [];
    let plan = planCluster(s);
    for (let k = 0; k < 5; k++) {
      const start = performance.now();
      const used = process.cpuUsage();
      plan = planCluster(s);
      times.push(performance.now() - start);
      const { user, system } = process.cpuUsage(used);
      cpu.push((user + system) / 1000);
    }
    const median = (list: number[]): number => list.sort((a, b) => a - b)[2] ?? NaN;
    const wall = median(times);
    const announced = plan.services.filter((p) => p.announced.length > 0).length;
    rows.push(
      `| ${cluster.name} | ${n} | ${wall.toFixed(0)} | ${(times[0] ?? NaN).toFixed(0)} | ${median(cpu).toFixed(0)} | ${((1000 * wall) / n).toFixed(1)} | ${announced} | ${shareBytes(plan)} |`,
    );
  }
}
console.log(rows.join("\n"));
