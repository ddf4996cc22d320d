// The walkthrough on the kubelet cluster (kubeletCluster.ts), the way users run it: the Helm chart installs the
// controller's Deployment, two of three nodes are labelled, the walkthrough's KeepalivedGroup (with the lab's
// address pool standing in for OpenShift's autoAssignCIDRs) and demo.yaml (two Pods pinned to nodes and the
// annotated LoadBalancer Service) are applied, and the controller's DaemonSet runs the agents as Pods.
import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { planFromConfigMap } from "../agent/apiPlanSource.js";
import type { ConfigMapObject, Manifest } from "../api/kube.js";
import { GROUP_LABEL, nodePlanName } from "../api/names.js";
import type { KubeClient } from "../kube/rest.js";
import { DEMO_IMAGE } from "./kubeletConfig.js";
import type { KubeletCluster } from "./kubeletCluster.js";
import type { Lab } from "./netns.js";
import {
  parseProbeOutput,
  summarize,
  vipMoves,
  type ProbeLine,
  type ProbeSummary,
  type VipMove,
} from "./httpProbe.js";
import { apply, demoService, DEMO, GROUP_NAME, labGroup, OPERATOR_NAMESPACE } from "./labObjects.js";
import { repoRoot } from "./processes.js";
import { waitFor } from "./wait.js";

const execFileP = promisify(execFile);
export const LOADBALANCER_LABEL = "node-role.kubernetes.io/loadbalancer";
/** The nodes labelled for the group (two of three). */
export const LB_NODES = ["node-1", "node-2"];
/**
 * The demo Pods, pinned to the node that is not a load balancer: every request crosses from the VIP's holder to
 * node-3 through kube-proxy, and cutting a holder off measures the VIP's move, not an endpoint's removal.
 */
export const DEMO_PODS = [
  { name: "demo-1", node: "node-3" },
  { name: "demo-2", node: "node-3" },
];

export interface PodView {
  name: string;
  node: string;
  phase: string;
  ready: boolean;
  uid: string;
  restarts: number;
  ip: string;
  /** Why a container is not running: its waiting or last termination reason and message. */
  waiting: string[];
}

interface PodJson {
  metadata: { name: string; uid: string };
  spec: { nodeName?: string };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: ContainerStatus[];
  };
}

interface ContainerStatus {
  name: string;
  restartCount: number;
  state?: { waiting?: { reason?: string; message?: string } };
  lastState?: { terminated?: { reason?: string; message?: string; exitCode?: number } };
}

function waitingReasons(statuses: ContainerStatus[]): string[] {
  return statuses.flatMap((c) => {
    const w = c.state?.waiting;
    const t = c.lastState?.terminated;
    return [
      ...(w === undefined ? [] : [`${c.name} waiting: ${w.reason ?? ""} ${w.message ?? ""}`.trim()]),
      ...(t === undefined
        ? []
        : [`${c.name} last exit ${t.exitCode ?? "?"}: ${t.reason ?? ""} ${t.message ?? ""}`.trim()]),
    ];
  });
}

/** Pods of a namespace matching a label selector, as the test reads them. */
export async function pods(client: KubeClient, namespace: string, selector: string): Promise<PodView[]> {
  const list = await client.request<{ items: PodJson[] }>("GET", `/api/v1/namespaces/${namespace}/pods`, {
    query: { labelSelector: selector },
  });
  return list.items.map((p) => ({
    name: p.metadata.name,
    node: p.spec.nodeName ?? "",
    phase: p.status?.phase ?? "",
    ready: p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true,
    uid: p.metadata.uid,
    restarts: (p.status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0),
    ip: p.status?.podIP ?? "",
    waiting: waitingReasons(p.status?.containerStatuses ?? []),
  }));
}

export const AGENT_SELECTOR = `${GROUP_LABEL}=${GROUP_NAME}`;
export const CONTROLLER_SELECTOR = "app.kubernetes.io/name=keepalived-operator";

/** `helm install` of deploy/helm/keepalived-operator with the cluster's admin kubeconfig. */
export async function helmInstall(c: KubeletCluster, helm: string): Promise<string> {
  const chart = join(repoRoot(), "deploy", "helm", "keepalived-operator");
  const { stdout } = await execFileP(helm, [
    ...["install", "keepalived-operator", chart, "-n", OPERATOR_NAMESPACE, "--create-namespace"],
    ...["--kubeconfig", c.cp.kubeconfigPath],
  ]);
  return stdout;
}

function demoPod(name: string, node: string): Manifest {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: DEMO.namespace, labels: { env: "test" } },
    spec: {
      nodeSelector: { "kubernetes.io/hostname": node },
      enableServiceLinks: false,
      containers: [
        {
          name: "http",
          image: DEMO_IMAGE,
          imagePullPolicy: "IfNotPresent",
          env: [
            { name: "PORT", value: "80" },
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
          ],
          ports: [{ containerPort: 80, name: "http" }],
          readinessProbe: { httpGet: { path: "/", port: 80 }, periodSeconds: 2 },
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
        },
      ],
    },
  };
}

/** Step 1: label two of three nodes for the group. */
export async function labelNodes(client: KubeClient): Promise<void> {
  for (const name of LB_NODES) {
    await apply(client, {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name, labels: { [LOADBALANCER_LABEL]: "" } },
    });
  }
}

/** Step 2: the KeepalivedGroup, the demo namespace, its two Pods and the annotated Service. */
export async function applyWalkthrough(client: KubeClient): Promise<void> {
  await apply(client, labGroup());
  await apply(client, { apiVersion: "v1", kind: "Namespace", metadata: { name: DEMO.namespace } });
  for (const p of DEMO_PODS) {
    // Server-side apply, as labObjects.ts apply() does (kube/apply.ts knows no path for Pods).
    await client.request("PATCH", `/api/v1/namespaces/${DEMO.namespace}/pods/${p.name}`, {
      query: { fieldManager: "keepalived-operator-lab", force: true },
      body: demoPod(p.name, p.node),
      contentType: "application/apply-patch+yaml",
    });
  }
  await apply(client, demoService());
}

/** Waits until `count` Pods of the selector run Ready (and, with `nodes`, on exactly those nodes). */
export async function waitPodsReady(
  client: KubeClient,
  namespace: string,
  selector: string,
  count: number,
  timeoutMs = 180_000,
): Promise<PodView[]> {
  let last: PodView[] = [];
  try {
    return await waitFor(
      `${count} Ready Pods ${selector} in ${namespace}`,
      async () => {
        last = await pods(client, namespace, selector);
        const ready = last.filter((p) => p.ready && p.phase === "Running");
        return ready.length === count && last.length === count ? ready : undefined;
      },
      timeoutMs,
      250,
    );
  } catch (err) {
    const events = await recentEvents(client, namespace).catch((e: unknown) => [String(e)]);
    throw new Error(`${String(err)}; Pods: ${JSON.stringify(last)}\nEvents:\n${events.join("\n")}`);
  }
}

/** The last Events of a namespace, one line each, for error messages. */
export async function recentEvents(client: KubeClient, namespace: string, count = 15): Promise<string[]> {
  const list = await client.request<{
    items: {
      involvedObject: { kind: string; name: string };
      reason?: string;
      message?: string;
      count?: number;
    }[];
  }>("GET", `/api/v1/namespaces/${namespace}/events`);
  return list.items
    .slice(-count)
    .map(
      (e) =>
        `${e.involvedObject.kind}/${e.involvedObject.name} ${e.reason ?? ""} (x${e.count ?? 1}): ${e.message ?? ""}`,
    );
}

/** The Service's EXTERNAL-IP, once the controller has written it. */
export async function externalIP(client: KubeClient, timeoutMs = 60_000): Promise<string> {
  return waitFor(
    `${DEMO.namespace}/${DEMO.name} to get an EXTERNAL-IP`,
    async () => {
      const svc = await client.request<{ status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }>(
        "GET",
        `/api/v1/namespaces/${DEMO.namespace}/services/${DEMO.name}`,
      );
      return svc.status?.loadBalancer?.ingress?.[0]?.ip;
    },
    timeoutMs,
    50,
  );
}

/** A running request loop in the client namespace (httpProbe.ts); stop() returns its counts. */
export interface RunningProbe {
  /** The requests finished so far. */
  lines(): ProbeLine[];
  stop(): Promise<ProbeSummary & { lines: ProbeLine[] }>;
}

/** The probe (httpProbe.ts): a request started every `intervalMs`, each given up after `timeoutMs`. */
export function startProbe(c: KubeletCluster, url: string, intervalMs = 20, timeoutMs = 1000): RunningProbe {
  const script = join(repoRoot(), "dist", "src", "lab", "httpProbe.js");
  const child = spawn(
    "ip",
    ["netns", "exec", c.lab.clientNs, process.execPath, script, url, `${intervalMs}`, `${timeoutMs}`],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let out = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
  const exited = new Promise<void>((resolve) => {
    child.on("close", () => {
      resolve();
    });
  });
  return {
    lines: () => parseProbeOutput(out),
    async stop() {
      child.kill("SIGTERM");
      await exited;
      const lines = parseProbeOutput(out);
      return { ...summarize(lines), lines };
    },
  };
}

/** The node the controller's plan puts `vip` on: the placement in the labelled nodes' plan shares. */
export async function plannedHolder(client: KubeClient, vip: string): Promise<string | undefined> {
  for (const node of LB_NODES) {
    const cm = await client
      .request<ConfigMapObject>(
        "GET",
        `/api/v1/namespaces/${OPERATOR_NAMESPACE}/configmaps/${nodePlanName(GROUP_NAME, node)}`,
      )
      .catch(() => undefined);
    const read = planFromConfigMap({ namespace: OPERATOR_NAMESPACE, name: GROUP_NAME, node }, cm);
    const holder = "plan" in read ? read.plan.placement[vip] : undefined;
    if (holder !== undefined) return holder;
  }
  return undefined;
}

/** The client's view of where a VIP is: its neighbour entry, watched with `ip monitor neigh`. */
export interface MoveWatch {
  /** The moves seen so far, each with the node whose MAC the VIP went to ("?" for an unknown MAC). */
  moves(): (VipMove & { node: string })[];
  stop(): Promise<void>;
}

/** Watches the client namespace's neighbour entry for `vip`: every move of the VIP, timed as the client saw it. */
export async function watchVipMoves(c: KubeletCluster, vip: string): Promise<MoveWatch> {
  const macs = new Map<string, string>();
  for (const n of c.lab.nodes) {
    const { stdout } = await execFileP("ip", ["-n", n.ns, "-o", "link", "show", "eth0"]);
    const mac = /link\/ether (\S+)/.exec(stdout)?.[1];
    if (mac !== undefined) macs.set(mac.toLowerCase(), n.name);
  }
  const seen: [number, string][] = [];
  const child = spawn("ip", ["-n", c.lab.clientNs, "monitor", "neigh"], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let partial = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => {
    const parts = (partial + s).split("\n");
    partial = parts.pop() ?? "";
    const at = Date.now();
    for (const line of parts) seen.push([at, line]);
  });
  const exited = new Promise<void>((resolve) => {
    child.on("close", () => {
      resolve();
    });
  });
  // The entry as it is now, so that the first change is a move.
  const { stdout } = await execFileP("ip", ["-n", c.lab.clientNs, "neigh", "show", vip]);
  for (const line of stdout.split("\n")) if (line.trim() !== "") seen.unshift([Date.now(), line]);
  return {
    moves: () => vipMoves(seen, vip).map((m) => ({ ...m, node: macs.get(m.to) ?? "?" })),
    async stop() {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

/** One GET from the client namespace; the body, or undefined when nothing answered. */
export async function curlOnce(c: { lab: Pick<Lab, "clientNs"> }, ip: string): Promise<string | undefined> {
  try {
    const { stdout } = await execFileP("ip", [
      ...["netns", "exec", c.lab.clientNs, "curl", "--silent", "--show-error", "--fail"],
      ...["--connect-timeout", "1", "--max-time", "2", `http://${ip}/`],
    ]);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

export { OPERATOR_NAMESPACE, GROUP_NAME, DEMO };
