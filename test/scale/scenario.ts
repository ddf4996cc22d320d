// The scale scenario on the real control plane, shared by test/scale/scale.test.ts (5,000 Services, 20 nodes,
// asserting counts) and bench/scale.ts (10,000 and 100, printing figures): plain Node objects (no kubelet),
// one KeepalivedGroup with an address pool (or SCALE_GROUPS groups, each on its own nodes and pool, as in
// bench/plan.ts), Services created concurrently, the controller as its own process.
import { readFileSync } from "node:fs";
import type { ConfigMapObject, Manifest } from "../../src/api/kube.js";
import {
  GROUP_ANNOTATION,
  GROUP_LABEL,
  LOAD_BALANCER_IPS_ANNOTATION,
  NODE_LABEL,
} from "../../src/api/names.js";
import type { PlanInstanceV1 } from "../../src/api/plan.js";
import { forEachLimited } from "../../src/controller/writer.js";
import { Informer } from "../../src/kube/informer.js";
import { startControlPlane, type ControlPlane } from "../../src/lab/controlplane.js";
import type { Logger } from "../../src/lib/log.js";
import { nodePlanText } from "../../src/render/nodePlans.js";
import { parsePlan } from "../../src/render/planCodec.js";
import {
  adminClient,
  apply,
  applyFile,
  eventually,
  get,
  startController,
  type ControllerProcess,
  type KubeClient,
} from "../support/kube.js";
import { readGroupPlans, type GroupPlans, type StoredPlan } from "../support/nodePlans.js";

export const NS = "keepalived-operator";
/** Groups: one (the default), or SCALE_GROUPS (at most 32), each with nodes and an address pool of its own. */
export const GROUPS = Number(process.env.SCALE_GROUPS ?? 1);
const SERVICE_NS = "scale";
const LABEL = { "node-role.kubernetes.io/loadbalancer": "" };
const GROUP_NODE_LABEL = "scale-group";

export function groupName(g: number): string {
  return GROUPS === 1 ? "scale" : `scale-${g}`;
}

/**
 * Group g's pool: one group has 198.18.128.0/17 (32,768 addresses), each of several a /22 of it (1,024).
 * Services applied one at a time (lateService) ask for addresses the created ones never get.
 */
function pool(g: number): string {
  return GROUPS === 1 ? "198.18.128.0/17" : `198.18.${128 + 4 * g}.0/22`;
}

/** The k-th Service applied one at a time: its name, group and the IP it asks for (in its group's pool). */
export function lateService(k: number): { name: string; group: string; ip: string } {
  const g = k % GROUPS;
  const ip = GROUPS === 1 ? `198.18.200.${k + 1}` : `198.18.${128 + 4 * g + 3}.${Math.floor(k / GROUPS) + 1}`;
  return { name: `late-${k}`, group: groupName(g), ip };
}

/** The nodes of group g when there are several (the nodes split evenly, in order); else every node. */
export function groupOfNode(i: number, nodes: number): number {
  return Math.floor(i / Math.ceil(nodes / GROUPS));
}
/**
 * The controller's default leader-election timers: the integration tests' 3 s lease is too short for a
 * reconcile of thousands of Services on two busy cores (its renewal misses the 2 s deadline and it stops).
 */
export const LEADER_ELECTION = ["--lease-duration", "15", "--renew-deadline", "10", "--retry-period", "2"];
const quiet: Logger = { info() {}, warn() {}, error() {}, with: () => quiet };

export interface ScaleWorld {
  cp: ControlPlane;
  admin: KubeClient;
  kubeconfig: string;
  controller: ControllerProcess;
}

export function nodeName(i: number): string {
  return `node-${String(i).padStart(3, "0")}`;
}

export function service(name: string, ip?: string, group = groupName(0)): Manifest {
  const annotations: Record<string, string> = { [GROUP_ANNOTATION]: `${NS}/${group}` };
  if (ip !== undefined) annotations[LOAD_BALANCER_IPS_ANNOTATION] = ip;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: SERVICE_NS, annotations },
    spec: {
      type: "LoadBalancer",
      // Without this the API server runs out of NodePorts (30000-32767) at 2,768 Services.
      allocateLoadBalancerNodePorts: false,
      ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 80 }],
    },
  };
}

/**
 * The API server alone, with no controller and nothing else: how long its own control plane takes `count`
 * Services created at once as createServices does it (the floor under "created at once → converged"), in ms.
 */
export async function bareCreatesMs(count: number): Promise<number> {
  const cp = await startControlPlane();
  try {
    const admin = adminClient(cp);
    await apply(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: SERVICE_NS } });
    const t0 = performance.now();
    await createServices(admin, count);
    return performance.now() - t0;
  } finally {
    await cp.stop();
  }
}

/** Control plane, RBAC, `nodes` Node objects, the group, and the controller under its own ServiceAccount. */
export async function startWorld(nodes: number): Promise<ScaleWorld> {
  const cp = await startControlPlane();
  const admin = adminClient(cp);
  for (const ns of [NS, SERVICE_NS])
    await apply(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  await applyFile(admin, "deploy/rbac/controller.yaml");
  const kubeconfig = await cp.mintServiceAccountKubeconfig(NS, "keepalived-operator");
  await forEachLimited(
    Array.from({ length: nodes }, (_, i) => i),
    8,
    async (i) => {
      const labels = GROUPS === 1 ? LABEL : { ...LABEL, [GROUP_NODE_LABEL]: String(groupOfNode(i, nodes)) };
      const node = { apiVersion: "v1", kind: "Node", metadata: { name: nodeName(i), labels } };
      await apply(admin, node);
      const address = `198.19.${Math.floor(i / 250)}.${(i % 250) + 1}`;
      await apply(admin, { ...node, status: { addresses: [{ type: "InternalIP", address }] } }, "status");
    },
  );
  for (let g = 0; g < GROUPS; g++) {
    const spec: Record<string, unknown> = {
      interface: "eth0",
      nodeSelector: GROUPS === 1 ? LABEL : { [GROUP_NODE_LABEL]: String(g) },
      addressPools: [{ name: "scale", addresses: [pool(g)] }],
    };
    // Groups on nodes of their own number their instances without the others (as in bench/plan.ts).
    if (GROUPS > 1) spec.routerIDScope = "Group";
    await apply(admin, {
      apiVersion: "redhatcop.redhat.io/v1alpha1",
      kind: "KeepalivedGroup",
      metadata: { name: groupName(g), namespace: NS },
      spec,
    });
  }
  const controller = await startController(kubeconfig, "scale-a", LEADER_ELECTION);
  return { cp, admin, kubeconfig, controller };
}

/** Creates `count` Services named svc-<i> (POST: cheaper for the API server than apply), `concurrency` at a time. */
export async function createServices(admin: KubeClient, count: number, concurrency = 32): Promise<void> {
  await forEachLimited(
    Array.from({ length: count }, (_, i) => i),
    concurrency,
    async (i) => {
      const body = service(`svc-${i}`, undefined, groupName(i % GROUPS));
      await admin.request("POST", `/api/v1/namespaces/${SERVICE_NS}/services`, { body });
    },
  );
}

/** Times of the controller's reconciles logged since line `from`: total, planner and decision, in ms. */
export function reconcileTimes(
  logs: readonly string[],
  from: number,
): { total: number[]; plan: number[]; decide: number[] } {
  const out = { total: [] as number[], plan: [] as number[], decide: [] as number[] };
  for (const line of logs.slice(from)) {
    if (!line.includes('"reconciled"')) continue;
    const r = JSON.parse(line) as { seconds?: number; planSeconds?: number; decideSeconds?: number };
    out.total.push((r.seconds ?? NaN) * 1000);
    out.plan.push((r.planSeconds ?? NaN) * 1000);
    out.decide.push((r.decideSeconds ?? NaN) * 1000);
  }
  for (const list of Object.values(out)) list.sort((a, b) => a - b);
  return out;
}

interface ServiceList {
  items: { metadata: { name: string }; status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }[];
}

/** Ingress IPs of every Service of the scenario, by name. */
export async function ingressByService(admin: KubeClient): Promise<Map<string, string[]>> {
  const list = await admin.request<ServiceList>("GET", `/api/v1/namespaces/${SERVICE_NS}/services`);
  return new Map(
    list.items.map((s) => [
      s.metadata.name,
      (s.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip === undefined ? [] : [i.ip])),
    ]),
  );
}

/** Every group's node plans, by group name, and their placements merged. */
export interface AllPlans {
  groups: Map<string, GroupPlans>;
  placement: Record<string, string>;
}

export async function readAllPlans(admin: KubeClient): Promise<AllPlans> {
  const groups = new Map<string, GroupPlans>();
  const placement: Record<string, string> = {};
  for (let g = 0; g < GROUPS; g++) {
    const plans = await readGroupPlans(admin, NS, groupName(g));
    groups.set(groupName(g), plans);
    Object.assign(placement, plans.placement);
  }
  return { groups, placement };
}

/** Waits until `count` Services have an IP and the node plans place every one of them. */
export async function converged(admin: KubeClient, count: number, limitMs: number): Promise<AllPlans> {
  return eventually(
    `${count} Services with an IP, placed in the node plans`,
    async () => {
      const ingress = await ingressByService(admin);
      const withIp = [...ingress.values()].filter((ips) => ips.length > 0).length;
      if (withIp < count) return undefined;
      const plans = await readAllPlans(admin);
      const placed = [...ingress.values()].every((ips) =>
        ips.every((ip) => plans.placement[ip] !== undefined),
      );
      return placed ? plans : undefined;
    },
    limitMs,
    1000,
  );
}

/** Every group's status.routerIDs, keyed `<group>:<instance key>`. */
export async function routerIds(admin: KubeClient): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let g = 0; g < GROUPS; g++) {
    const group = await get<{ status?: { routerIDs?: Record<string, number> } }>(admin, {
      apiVersion: "redhatcop.redhat.io/v1alpha1",
      kind: "KeepalivedGroup",
      metadata: { name: groupName(g), namespace: NS },
    });
    for (const [key, id] of Object.entries(group?.status?.routerIDs ?? {}))
      out[`${groupName(g)}:${key}`] = id;
  }
  return out;
}

/** CPU time a process has used so far, user and system, in seconds (/proc/<pid>/stat; 100 ticks a second). */
export function cpuSeconds(pid: number | undefined): number {
  const stat = readFileSync(`/proc/${pid ?? 0}/stat`, "utf8");
  // The fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident memory of a process, in MiB (VmRSS of /proc/<pid>/status). */
export function rssMiB(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid ?? 0}/status`, "utf8");
  const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/**
 * Problems with the stored node plans, counted: each share must hold exactly the instances that list its node
 * (the same content in every member's share), the addresses of their members, and nothing else.
 */
export function shareProblems(plans: GroupPlans, nodes: readonly string[]): string[] {
  const problems: string[] = [];
  const byName = new Map<string, { text: string; members: string[]; holders: Set<string> }>();
  for (const [node, stored] of plans.byNode) {
    for (const i of stored.plan.instances) {
      const text = JSON.stringify(i);
      const seen = byName.get(i.name);
      if (seen !== undefined && seen.text !== text) problems.push(`${i.name} differs in ${node}'s plan`);
      const entry = seen ?? { text, members: i.priorities.map((p) => p.node), holders: new Set<string>() };
      entry.holders.add(node);
      byName.set(i.name, entry);
      if (!i.priorities.some((p) => p.node === node))
        problems.push(`${node}'s plan holds ${i.name}, not a member`);
    }
    const wantNodes = new Set([
      node,
      ...stored.plan.instances.flatMap((i) => i.priorities.map((p) => p.node)),
    ]);
    const got = stored.plan.nodes.map((n) => n.name);
    if (got.length !== wantNodes.size || !got.every((n) => wantNodes.has(n)))
      problems.push(`${node}'s plan lists nodes ${got.join(",")}`);
  }
  for (const [name, { members, holders }] of byName) {
    for (const m of members)
      if (!holders.has(m)) problems.push(`${m}'s plan lacks ${name}, of which it is a member`);
  }
  const missing = nodes.filter((n) => !plans.byNode.has(n));
  if (missing.length > 0) problems.push(`no plan for ${missing.join(",")}`);
  return problems;
}

/** Problems of every group's node plans (see shareProblems); `nodes` are all nodes, in index order. */
export function allShareProblems(plans: AllPlans, nodes: readonly string[]): string[] {
  return [...plans.groups].flatMap(([group, p]) => {
    const mine = nodes.filter((_, i) => GROUPS === 1 || groupName(groupOfNode(i, nodes.length)) === group);
    return shareProblems(p, mine).map((problem) => `${group}: ${problem}`);
  });
}

/** Every group's stored plan objects. */
export function storedPlans(plans: AllPlans): StoredPlan[] {
  return [...plans.groups.values()].flatMap((p) => [...p.byNode.values()]);
}

/** Every instance of the stored plans, once (instances are per group). */
export function storedInstances(plans: AllPlans): PlanInstanceV1[] {
  const out = new Map<string, PlanInstanceV1>();
  for (const [group, p] of plans.groups)
    for (const stored of p.byNode.values())
      for (const i of stored.plan.instances) out.set(`${group}/${i.name}`, i);
  return [...out.values()];
}

/**
 * Follows the group's node plans with a watch: per change (a batch of writes), the bytes written, and the
 * moment a VIP first appears in its holder's plan.
 */
export class PlanWatch {
  private readonly informer: Informer<ConfigMapObject>;
  private readonly versions = new Map<string, string>();
  private readonly waiting = new Map<string, (ms: number) => void>();
  bytesWritten = 0;
  objectsWritten = 0;
  private started = false;

  constructor(admin: KubeClient) {
    this.informer = new Informer<ConfigMapObject>(
      admin,
      { path: `/api/v1/namespaces/${NS}/configmaps`, labelSelector: GROUP_LABEL },
      () => {
        this.changed();
      },
      quiet,
    );
  }

  async start(): Promise<void> {
    this.informer.start();
    await this.informer.synced;
    for (const cm of this.informer.list())
      this.versions.set(cm.metadata.name ?? "", cm.metadata.resourceVersion ?? "");
    this.started = true;
  }

  /** Resolves with the time (performance.now()) at which `vip` appeared in its holder's plan. */
  placed(vip: string): Promise<number> {
    return new Promise((resolve) => this.waiting.set(vip, resolve));
  }

  private changed(): void {
    // The first list is what was there before: not a write.
    if (!this.started) return;
    const now = performance.now();
    for (const cm of this.informer.list()) {
      const name = cm.metadata.name ?? "";
      const rv = cm.metadata.resourceVersion ?? "";
      if (this.versions.get(name) === rv) continue;
      this.versions.set(name, rv);
      this.objectsWritten++;
      this.bytesWritten += Buffer.byteLength(JSON.stringify({ data: cm.data, binaryData: cm.binaryData }));
      if (this.waiting.size === 0) continue;
      const read = nodePlanText(cm);
      if ("error" in read) continue;
      const placement = parsePlan(read.text, name).placement;
      for (const [vip, done] of this.waiting) {
        if (placement[vip] !== undefined && cm.metadata.labels?.[NODE_LABEL] === placement[vip]) {
          this.waiting.delete(vip);
          done(now);
        }
      }
    }
  }

  stop(): void {
    this.informer.stop();
  }
}

/**
 * Applies the k-th late Service; resolves with ms from the apply to its VIP in its holder's plan, and to the
 * API server's answer (the controller hears of the Service about when the answer comes).
 */
export async function applyToPlan(
  admin: KubeClient,
  watch: PlanWatch,
  k: number,
): Promise<{ toPlanMs: number; answeredMs: number }> {
  const { name, group, ip } = lateService(k);
  const placed = watch.placed(ip);
  const t0 = performance.now();
  await apply(admin, service(name, ip, group));
  const answeredMs = performance.now() - t0;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<number>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${ip} of Service ${name} not in its node's plan after 60 s`));
    }, 60_000);
  });
  try {
    return { toPlanMs: (await Promise.race([placed, late])) - t0, answeredMs };
  } finally {
    clearTimeout(timer);
  }
}

export function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}
