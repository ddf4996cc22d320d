// Planner benchmark: planCluster over n LoadBalancer Services that take an address from a pool (the allocation
// path); every other one carries a verbatimconfig (type checks, verbatim checks, quota, a dedicated instance).
// Clusters: (a) one group of 5 nodes; (b) 100 nodes in 20 groups of 5 (distinct nodeSelectors, router IDs per
// group); (c) one group over all 100 nodes. Prints per size the median and the fastest of 5 warm runs, the
// median CPU time (less disturbed by other load on the machine; it includes the GC's helper threads), µs per
// Service (flat or slowly rising: n log n or better), and a node's share: its instances (instancesForNode) as
// JSON. Never fails on time. Run after a build: node dist/bench/plan.js [sizes…] [a|b|c…]
import { planCluster } from "../src/core/plan.js";
import { planV1 } from "../src/render/planCodec.js";
import { instancesForNode } from "../src/render/membership.js";
import { CLUSTERS, snapshot } from "./planClusters.js";

/** Bytes of one node's share: the instances it runs, as JSON (the group-level fields are the same for all). */
function shareBytes(plan: ReturnType<typeof planCluster>): number {
  const first = plan.groups[0];
  const node = first?.nodes[0]?.name;
  if (first === undefined || node === undefined) return 0;
  return Buffer.byteLength(JSON.stringify(instancesForNode(planV1(first), node)));
}

// Arguments: sizes, and optionally cluster letters (a, b, c) to run only those.
const args = process.argv.slice(2);
const only = args.filter((a) => /^[abc]$/.test(a));
const sizes = args.filter((a) => /^\d+$/.test(a)).map(Number);
const SIZES = sizes.length > 0 ? sizes : [1000, 2000, 5000, 10000, 20000];
// Warm the process up (JIT, shapes) before timing anything.
for (let k = 0; k < 3; k++) planCluster(snapshot(2000, CLUSTERS[1]!));

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
