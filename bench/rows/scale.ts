// Row 7, scale: the planner's time for 1k-10k Services in a warm process; then, on the real control plane,
// that many Services in one group with the controller and an API-following agent per node namespace: how
// long until every EXTERNAL-IP is written and every VIP is on a node, the processes' memory, and the
// largest object the operator keeps in the API server.
import type { Manifest } from "../../src/api/kube.js";
import { GROUP_LABEL, NODE_LABEL } from "../../src/api/names.js";
import type { NodeObject, ServiceObject } from "../../src/core/objects.js";
import { planCluster } from "../../src/core/plan.js";
import { NODE_IFACE, NODE_IP, type Lab } from "../../src/lab/netns.js";
import { labGroup, labService } from "../../src/lab/plans.js";
import { sleep, waitFor } from "../../src/lab/wait.js";
import {
  apply,
  benchGroup,
  benchService,
  ensureNamespace,
  memoryKiB,
  OPERATOR_NS,
  startApiAgents,
  startController,
  stopAgents,
  type Cluster,
} from "../cluster.js";
import { measure, type Measure } from "../report.js";
import type { BenchRow } from "../row.js";
import { median } from "../stats.js";
import type { BenchContext } from "../testbed.js";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

const SIZES = [1000, 2000, 5000, 10_000];
const GROUP = "bench-scale";
const NAMESPACE = "bench-scale";
const POOL = "198.18.64.0/18";
const ORIGINAL_LIMIT = 250;

/** VIP i of 198.18.64.0/18 (16k addresses), for the planner's Services. */
const scaleVip = (i: number): string => `198.18.${64 + (i >> 8)}.${i & 255}`;

function planTimes(size: number, runs: number): number[] {
  const services: ServiceObject[] = Array.from({ length: size }, (_, i) =>
    labService(`svc-${i}`, [scaleVip(i)], i % 60),
  );
  const nodes: NodeObject[] = [0, 1, 2].map((i) => ({
    metadata: { name: `node-${i + 1}`, labels: {} },
    status: { addresses: [{ type: "InternalIP", address: NODE_IP(i) }] },
  }));
  const snapshot = { groups: [labGroup()], services, nodes };
  // Warm-up, and the placement a running controller passes back in.
  const first = planCluster(snapshot).groups[0];
  const previousPlacement = first === undefined ? {} : { [first.group.key]: first.placement };
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    planCluster({ ...snapshot, previousPlacement });
    times.push(performance.now() - t0);
  }
  return times;
}

interface ListOf<T> {
  items: T[];
  metadata?: { continue?: string };
}
type Svc = { status?: { loadBalancer?: { ingress?: { ip?: string }[] } } };

/** Every item of a list in the Services' namespace, in pages of 2,000 (one consistent snapshot). */
async function listAll<T>(cluster: Cluster, resource: string): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const page = await cluster.admin.request<ListOf<T>>(
      "GET",
      `/api/v1/namespaces/${NAMESPACE}/${resource}`,
      {
        query: { limit: 2000, ...(token === undefined ? {} : { continue: token }) },
        timeoutMs: 120_000,
      },
    );
    items.push(...page.items);
    token = page.metadata?.continue === "" ? undefined : page.metadata?.continue;
  } while (token !== undefined);
  return items;
}

async function externalIPs(cluster: Cluster): Promise<string[]> {
  return (await listAll<Svc>(cluster, "services")).flatMap((s) => {
    const ip = s.status?.loadBalancer?.ingress?.[0]?.ip;
    return ip === undefined ? [] : [ip];
  });
}

/** The Events in the Services' namespace, counted by reason (each Event object once, whatever its count). */
async function eventReasons(cluster: Cluster): Promise<Map<string, number>> {
  const reasons = new Map<string, number>();
  for (const e of await listAll<{ reason?: string }>(cluster, "events"))
    reasons.set(e.reason ?? "", (reasons.get(e.reason ?? "") ?? 0) + 1);
  return reasons;
}

async function createServices(ctx: BenchContext, cluster: Cluster, count: number): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const svc: Manifest = benchService(NAMESPACE, `svc-${i}`, GROUP, false);
      await cluster.admin.request("POST", `/api/v1/namespaces/${NAMESPACE}/services`, { body: svc });
      if ((i + 1) % 1000 === 0) ctx.progress(`${i + 1}/${count} Services created`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

/** The largest object of the kinds the operator writes in its namespace, by its JSON size. */
async function largestObject(cluster: Cluster): Promise<{ name: string; bytes: number }> {
  let best = { name: "none", bytes: 0 };
  for (const [kind, path] of [
    ["ConfigMap", `/api/v1/namespaces/${OPERATOR_NS}/configmaps`],
    ["Lease", `/apis/coordination.k8s.io/v1/namespaces/${OPERATOR_NS}/leases`],
    ["KeepalivedGroup", `/apis/redhatcop.redhat.io/v1alpha1/namespaces/${OPERATOR_NS}/keepalivedgroups`],
    ["DaemonSet", `/apis/apps/v1/namespaces/${OPERATOR_NS}/daemonsets`],
  ] as const) {
    const list = await cluster.admin.request<ListOf<{ metadata: { name?: string } }>>("GET", path, {
      timeoutMs: 120_000,
    });
    for (const item of list.items) {
      const bytes = Buffer.byteLength(JSON.stringify(item));
      if (bytes > best.bytes) best = { name: `${kind} ${OPERATOR_NS}/${item.metadata.name ?? "?"}`, bytes };
    }
  }
  return best;
}

/** The IPv4 addresses on the nodes' interfaces (one-line output: thousands of addresses stay small). */
async function heldAddresses(lab: Lab): Promise<Set<string>> {
  const held = new Set<string>();
  for (const node of lab.nodes) {
    const { stdout } = await execFileP("ip", ["-n", node.ns, "-4", "-o", "addr", "show", "dev", NODE_IFACE], {
      maxBuffer: 256 << 20,
    });
    for (const m of stdout.matchAll(/ inet (\d+\.\d+\.\d+\.\d+)\//g)) if (m[1] !== undefined) held.add(m[1]);
  }
  return held;
}

/**
 * Times any instance on the node entered MASTER since keepalived started, from its last statistics dump (the
 * agent asks for one at each sample): each node's own instances once per family, the rest are spurious.
 */
async function becameMaster(stateDir: string): Promise<number> {
  // keepalived rewrites the dump in place: a read can find it empty or half written. Read again until it parses.
  for (let attempt = 1; ; attempt++) {
    const text = await readFile(join(stateDir, "keepalived.json"), "utf8").catch(() => "[]");
    try {
      const dump = JSON.parse(text) as { stats?: { become_master?: number } }[];
      return dump.reduce((sum, i) => sum + (i.stats?.become_master ?? 0), 0);
    } catch (err) {
      if (attempt >= 20) throw new Error(`${join(stateDir, "keepalived.json")} never parsed: ${String(err)}`);
      await sleep(100);
    }
  }
}

async function keepalivedKiB(stateDir: string): Promise<number> {
  let total = 0;
  for (const f of ["keepalived.pid", "vrrp.pid"]) {
    const pid = Number((await readFile(join(stateDir, f), "utf8").catch(() => "")).trim());
    if (pid > 0) total += (await memoryKiB(pid)).rss;
  }
  return total;
}

/**
 * Polls `count()` every 2 s until it reaches `target` or stops growing for `stallMs`; returns what it
 * reached and when (ms after `t0`) it last grew.
 */
async function untilDoneOrStalled(
  ctx: BenchContext,
  what: string,
  count: () => Promise<number>,
  target: number,
  t0: number,
  stallMs: number,
): Promise<{ reached: number; atMs: number }> {
  let reached = -1;
  let grewAt = Date.now();
  for (;;) {
    const n = await count();
    if (n > reached) [reached, grewAt] = [n, Date.now()];
    ctx.progress(`${n}/${target} ${what}`);
    if (n >= target || Date.now() - grewAt > stallMs) return { reached, atMs: grewAt - t0 };
    await sleep(2000);
  }
}

/** The group's node plans (one ConfigMap per node): how many, and the most bytes of data one holds. */
async function nodePlanBytes(cluster: Cluster): Promise<{ count: number; maxBytes: number }> {
  const list = await cluster.admin.request<
    ListOf<{
      metadata: { labels?: Record<string, string> };
      data?: Record<string, string>;
      binaryData?: Record<string, string>;
    }>
  >("GET", `/api/v1/namespaces/${OPERATOR_NS}/configmaps`, { timeoutMs: 120_000 });
  const plans = list.items.filter(
    (cm) => cm.metadata.labels?.[NODE_LABEL] !== undefined && cm.metadata.labels[GROUP_LABEL] === GROUP,
  );
  const bytes = plans.map((cm) =>
    [...Object.values(cm.data ?? {}), ...Object.values(cm.binaryData ?? {})].reduce(
      (sum, v) => sum + Buffer.byteLength(v),
      0,
    ),
  );
  return { count: plans.length, maxBytes: Math.max(0, ...bytes) };
}

async function onControlPlane(
  ctx: BenchContext,
  count: number,
): Promise<{ measures: Measure[]; notes: string[] }> {
  const cluster = await ctx.cluster();
  await ensureNamespace(cluster.admin, NAMESPACE);
  await apply(cluster.admin, benchGroup(GROUP, POOL));
  const controller = await startController(cluster, GROUP);
  const agents = await startApiAgents(cluster, GROUP);
  const stallMs = ctx.quick ? 30_000 : 120_000;
  try {
    await waitFor(
      "the controller to lead",
      async () => ((await controller.leading()) ? true : undefined),
      60_000,
      100,
    );
    const t0 = Date.now();
    await createServices(ctx, cluster, count);
    const createdMs = Date.now() - t0;
    let ips: string[] = [];
    const written = await untilDoneOrStalled(
      ctx,
      "Services have an EXTERNAL-IP",
      async () => (ips = await externalIPs(cluster)).length,
      count,
      t0,
      stallMs,
    );
    const up = await untilDoneOrStalled(
      ctx,
      "VIPs on a node",
      async () => {
        const addresses = await heldAddresses(cluster.lab);
        return ips.filter((ip) => addresses.has(ip)).length;
      },
      count,
      t0,
      stallMs,
    );
    const ctl = await memoryKiB(controller.child.pid);
    const agentKiB = await Promise.all(agents.map(async (a) => (await memoryKiB(a.child.pid)).rss));
    const kaKiB = await Promise.all(agents.map((a) => keepalivedKiB(a.stateDir)));
    const masters = await Promise.all(agents.map((a) => becameMaster(a.stateDir)));
    const largest = await largestObject(cluster);
    const plans = await nodePlanBytes(cluster);
    const reasons = await eventReasons(cluster);
    const mib = (k: number): number => k / 1024;
    const at = `${count} Services`;
    const notes = [
      `On the control plane: ${count} Services created in ${createdMs} ms (16 at a time); the largest object was ${largest.name} (${largest.bytes} bytes of JSON; etcd's default limit is 1.5 MiB); the group's ${plans.count} node plans held at most ${plans.maxBytes} bytes of data each (the API server refuses more than 1 MiB).`,
      "The Services set allocateLoadBalancerNodePorts: false: a cluster's NodePort range (30000-32767) holds fewer than 3000 LoadBalancer Services that take node ports.",
      `Events in the Services' namespace by reason: ${[...reasons].map(([r, n]) => `${r} ${n}`).join(", ")}.`,
      `The original gives each Service a VRRP instance of its own with a router ID from 1-255, so a group stops at ${ORIGINAL_LIMIT} Services.`,
    ];
    if (up.reached < count)
      notes.push(
        `Only ${up.reached} of ${count} VIPs reached a node: nothing more arrived for ${stallMs / 1000} s (${written.reached} EXTERNAL-IPs were written). Ours served ${up.reached} Services in this group, not ${count}.`,
      );
    return {
      measures: [
        measure("Services in one group", "original", "Services", [ORIGINAL_LIMIT], true),
        measure("Services in one group", "ours (VIPs that reached a node)", "Services", [up.reached]),
        measure(`${at}: created → ${written.reached} EXTERNAL-IPs written`, "ours", "ms", [written.atMs]),
        measure(`${at}: created → ${up.reached} VIPs on a node`, "ours", "ms", [up.atMs]),
        measure(`${at}: controller RSS`, "ours", "MiB", [mib(ctl.rss)]),
        measure(`${at}: controller peak RSS`, "ours", "MiB", [mib(ctl.peak)]),
        measure(`${at}: agent RSS, per node`, "ours", "MiB", agentKiB.map(mib)),
        measure(`${at}: keepalived RSS, per node`, "ours", "MiB", kaKiB.map(mib)),
        measure(
          `${at}: agent log lines from start to convergence, per node`,
          "ours",
          "lines",
          agents.map((a) => a.counted.lines),
        ),
        measure(
          `${at}: instances entering MASTER from start to convergence, per node (1 per family of its own expected)`,
          "ours",
          "transitions",
          masters,
        ),
        measure(`${at}: VIPMoved Events (VIPs moved by the burst; 0 expected)`, "ours", "Events", [
          reasons.get("VIPMoved") ?? 0,
        ]),
        measure(`${at}: largest API object`, "ours", "KiB", [largest.bytes / 1024]),
        measure(`${at}: the largest node plan's data`, "ours", "KiB", [plans.maxBytes / 1024]),
      ],
      notes,
    };
  } finally {
    await stopAgents(agents);
    await controller.kill();
  }
}

export const scale: BenchRow = {
  id: "scale",
  title: "Scale",
  async run(ctx) {
    const runs = ctx.quick ? 3 : 7;
    const measures: Measure[] = [];
    const curve: { services: number; planMs: number }[] = [];
    // A warm-up of every size first: otherwise the first size measured pays for the compiler (1,000 Services
    // once took longer than 2,000).
    for (const size of SIZES) planTimes(size, 1);
    for (const size of SIZES) {
      const times = planTimes(size, runs);
      curve.push({ services: size, planMs: median(times) });
      measures.push(measure(`planCluster, ${size} Services (3 nodes)`, "ours", "ms", times));
      ctx.progress(`planCluster with ${size} Services: median ${median(times).toFixed(1)} ms of ${runs}`);
    }
    const count = ctx.quick ? 300 : 10_000;
    const cp = await onControlPlane(ctx, count);
    return {
      ran: `planCluster: ${runs} runs per size in this process after a warm-up, with the previous placement (as the controller plans); control plane: ${count} Services in one group${ctx.quick ? " (quick run: 300 instead of 10 000)" : ""}, the controller and 3 API-following agents`,
      measures: [...measures, ...cp.measures],
      notes: cp.notes,
      plots: { scale: curve },
    };
  },
};
