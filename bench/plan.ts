// Planner benchmark: planCluster over n LoadBalancer Services that all take an address from one pool (the
// allocation path), plus as many with a verbatimconfig each (type checks, verbatim checks, quota). Prints the
// median of 5 runs per size; never fails on time. Run after a build: node dist/bench/plan.js
import { GROUP_ANNOTATION, VERBATIM_CONFIG_ANNOTATION } from "../src/api/names.js";
import type { ClusterSnapshot, ServiceObject } from "../src/core/objects.js";
import { planCluster } from "../src/core/plan.js";

function snapshot(n: number): ClusterSnapshot {
  const services: ServiceObject[] = [];
  for (let i = 0; i < n; i++) {
    const annotations: Record<string, string> = { [GROUP_ANNOTATION]: "kao/g" };
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
  return {
    groups: [
      {
        metadata: { name: "g", namespace: "kao", creationTimestamp: "2023-01-01T00:00:00Z" },
        spec: { interface: "eth0", addressPools: [{ name: "p", addresses: ["198.18.0.0/18"] }] },
      },
    ],
    nodes: Array.from({ length: 5 }, (_, i) => ({
      metadata: { name: `n${i}` },
      status: { addresses: [{ type: "InternalIP", address: `198.19.0.${i + 1}` }] },
    })),
    services,
  };
}

const rows = ["| Services | median ms | announced |", "| ---: | ---: | ---: |"];
for (const n of [1000, 5000, 10000]) {
  const s = snapshot(n);
  const times: number[] = [];
  let announced = 0;
  for (let k = 0; k < 5; k++) {
    const start = performance.now();
    const plan = planCluster(s);
    times.push(performance.now() - start);
    announced = plan.services.filter((p) => p.announced.length > 0).length;
  }
  times.sort((a, b) => a - b);
  rows.push(`| ${n} | ${(times[2] ?? NaN).toFixed(0)} | ${announced} |`);
}
console.log(rows.join("\n"));
