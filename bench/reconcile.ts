// Reconcile benchmark, offline: one Service applied to a cluster of n Services, 100 nodes and 20 groups that
// has converged, decided as the controller decides it (planState + decidePlan with the memo it keeps across
// reconciles), then its writes landed in the caches as new objects, as the API server's echoes replace them.
// Prints per size the median and p95 of the planner half, the decision half and both, over `changes` changes.
// This is the CPU part of "Service apply → node plan"; the watch, the writes and the API server come on top.
// Never fails on time. Run after a build: node dist/bench/reconcile.js [sizes…] [--changes N]
import { GROUP_ANNOTATION, LOAD_BALANCER_IPS_ANNOTATION } from "../src/api/names.js";
import type { ConfigMapObject, Manifest } from "../src/api/kube.js";
import type { KeepalivedGroup, KeepalivedGroupStatus } from "../src/api/types.js";
import { decidePlan, planState, type Action, type ClusterState } from "../src/controller/decide.js";
import { ReconcileMemo } from "../src/controller/snapshot.js";
import type { NodeObject } from "../src/core/objects.js";
import type { ServiceWithManagedFields } from "../src/render/serviceStatus.js";

const NODES = 100;
const GROUPS = 20;
const NS = "kao";
const NOW = Date.parse("2026-11-27T12:00:00Z");
const ours = [
  {
    manager: "keepalived-operator",
    operation: "Apply",
    subresource: "status",
    fieldsV1: { "f:status": { "f:loadBalancer": { "f:ingress": {} } } },
  },
];

type Named = { metadata: { namespace?: string; name?: string } };
const key = (o: Named): string => `${o.metadata.namespace ?? ""}/${o.metadata.name ?? ""}`;

function groupObject(g: number): KeepalivedGroup {
  return {
    apiVersion: "redhatcop.redhat.io/v1alpha1",
    kind: "KeepalivedGroup",
    metadata: { name: `g${g}`, namespace: NS, uid: `uid-g${g}`, generation: 1 },
    spec: {
      interface: "eth0",
      nodeSelector: { group: String(g) },
      routerIDScope: "Group",
      addressPools: [{ name: "p", addresses: [`198.18.${128 + 4 * g}.0/22`] }],
    },
  };
}

function nodeObject(i: number): NodeObject {
  return {
    metadata: { name: `node-${String(i).padStart(3, "0")}`, labels: { group: String(i % GROUPS) } },
    status: { addresses: [{ type: "InternalIP", address: `198.19.0.${i + 1}` }] },
  };
}

function serviceObject(i: number, ip?: string): ServiceWithManagedFields {
  const annotations: Record<string, string> = { [GROUP_ANNOTATION]: `${NS}/g${i % GROUPS}` };
  if (ip !== undefined) annotations[LOAD_BALANCER_IPS_ANNOTATION] = ip;
  return {
    metadata: {
      name: `svc-${i}`,
      namespace: "scale",
      uid: `uid-${i}`,
      resourceVersion: String(i + 1),
      creationTimestamp: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
      annotations,
      managedFields: [],
    },
    spec: { type: "LoadBalancer", ports: [{ name: "http", protocol: "TCP", port: 80 }] },
  };
}

/** The caches as maps (by namespace/name), so that a write replaces one object as an informer does. */
class Caches {
  services = new Map<string, ServiceWithManagedFields>();
  groups = new Map<string, KeepalivedGroup>();
  configMaps = new Map<string, ConfigMapObject>();
  daemonSets = new Map<string, Manifest>();
  nodes: NodeObject[] = [];
  rv = 1_000_000;

  state(): ClusterState {
    return {
      groups: [...this.groups.values()],
      services: [...this.services.values()],
      nodes: this.nodes,
      endpointSlices: [],
      configMaps: [...this.configMaps.values()],
      daemonSets: [...this.daemonSets.values()],
      leases: [],
      namespaces: [],
      networks: [],
    };
  }

  /** What the watches deliver once `actions` are written: new objects for the written ones only. */
  land(actions: readonly Action[]): void {
    for (const a of actions) {
      const rv = String(++this.rv);
      if (a.kind === "apply" && a.manifest.kind === "ConfigMap") {
        const cm = a.manifest as ConfigMapObject;
        this.configMaps.set(key(cm), { ...cm, metadata: { ...cm.metadata, resourceVersion: rv } });
      } else if (a.kind === "apply" && a.manifest.kind === "DaemonSet")
        this.daemonSets.set(key(a.manifest), a.manifest);
      else if (a.kind === "delete" && a.target.kind === "ConfigMap") this.configMaps.delete(key(a.target));
      else if (a.kind === "applyStatus" && a.manifest.kind === "KeepalivedGroup") {
        const g = this.groups.get(key(a.manifest));
        if (g !== undefined)
          this.groups.set(key(g), { ...g, status: a.manifest.status as KeepalivedGroupStatus });
      } else if (a.kind === "applyStatus" && a.manifest.kind === "Service") {
        const s = this.services.get(key(a.manifest));
        if (s === undefined) continue;
        const status = a.manifest.status as NonNullable<ServiceWithManagedFields["status"]>;
        this.services.set(key(s), {
          ...s,
          status,
          metadata: { ...s.metadata, resourceVersion: rv, managedFields: ours },
        });
      }
    }
  }
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

interface Timed {
  planMs: number;
  decideMs: number;
  actions: Action[];
}

function reconcile(c: Caches, memo: ReconcileMemo): Timed {
  const t0 = performance.now();
  const state = c.state();
  const seen = { nowMs: NOW, holders: undefined, memo };
  const plan = planState(state, seen);
  const t1 = performance.now();
  const decision = decidePlan(plan, state, seen);
  const t2 = performance.now();
  return { planMs: t1 - t0, decideMs: t2 - t1, actions: decision.actions.filter((a) => a.kind !== "event") };
}

function run(n: number, changes: number): string {
  const c = new Caches();
  for (let g = 0; g < GROUPS; g++) c.groups.set(`${NS}/g${g}`, groupObject(g));
  c.nodes = Array.from({ length: NODES }, (_, i) => nodeObject(i));
  for (let i = 0; i < n; i++) {
    const s = serviceObject(i);
    c.services.set(key(s), s);
  }
  const memo = new ReconcileMemo();
  for (let pass = 0; pass < 4; pass++) c.land(reconcile(c, memo).actions);
  const plans: number[] = [];
  const decisions: number[] = [];
  const wholes: number[] = [];
  const written: number[] = [];
  const cpus: number[] = [];
  for (let k = 0; k < changes; k++) {
    const g = k % GROUPS;
    const s = serviceObject(n + k, `198.18.${128 + 4 * g + 3}.${Math.floor(k / GROUPS) + 1}`);
    s.metadata.annotations = { ...s.metadata.annotations, [GROUP_ANNOTATION]: `${NS}/g${g}` };
    c.services.set(key(s), s);
    const cpu0 = process.cpuUsage();
    const t = reconcile(c, memo);
    const cpu = process.cpuUsage(cpu0);
    cpus.push((cpu.user + cpu.system) / 1000);
    plans.push(t.planMs);
    decisions.push(t.decideMs);
    wholes.push(t.planMs + t.decideMs);
    written.push(t.actions.length);
    c.land(t.actions);
    // The echoes of those writes: a reconcile that finds nothing to write.
    const echo = reconcile(c, memo);
    if (echo.actions.length > 0)
      throw new Error(`the echo of change ${k} wrote ${echo.actions.length} objects`);
  }
  for (const l of [plans, decisions, wholes, written, cpus]) l.sort((a, b) => a - b);
  const f = (l: number[]): string => `${percentile(l, 0.5).toFixed(1)} / ${percentile(l, 0.95).toFixed(1)}`;
  const mib = (b: number): string => (b / 1048576).toFixed(0);
  const heap = process.memoryUsage();
  return `| ${n} | ${f(plans)} | ${f(decisions)} | ${f(wholes)} | ${f(cpus)} | ${percentile(written, 0.5)} | ${mib(heap.rss)} / ${mib(heap.heapUsed)} |`;
}

const args = process.argv.slice(2);
const changesAt = args.indexOf("--changes");
const changes = changesAt >= 0 ? Number(args[changesAt + 1]) : 40;
const sizes = args.filter((a, i) => /^\d+$/.test(a) && args[i - 1] !== "--changes").map(Number);
console.log(`${NODES} nodes, ${GROUPS} groups, ${changes} changes (one Service applied each), ms p50 / p95`);
console.log(
  "| Services | planner | decision | both | CPU (all threads) | objects written per change | RSS / heap used after, MiB |",
);
console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const n of sizes.length > 0 ? sizes : [2000, 10000]) console.log(run(n, changes));
