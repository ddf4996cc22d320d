// The real control plane for the rows that need one: etcd + kube-apiserver, the operator's RBAC and
// ServiceAccounts, a Node per lab node; controller replicas and API-following agents (in the lab's node
// namespaces) as child processes of the bench, killed when it exits.
import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Manifest } from "../src/api/kube.js";
import { GROUP_ANNOTATION } from "../src/api/names.js";
import type { KeepalivedGroupSpec } from "../src/api/types.js";
import { applyManifest, applyManifestFile } from "../src/kube/apply.js";
import { ApiError, KubeClient, loadKubeConfig } from "../src/kube/rest.js";
import { stopAgent, watchAgent, type AgentProcess } from "../src/lab/agents.js";
import { startControlPlane, type ControlPlane } from "../src/lab/controlplane.js";
import { labNodeObject } from "../src/lab/labObjects.js";
import { NODE_IFACE, type Lab, type LabNode } from "../src/lab/netns.js";
import { agentArgv, controllerArgv, freePort, repoRoot } from "../src/lab/processes.js";
import { waitFor } from "../src/lab/wait.js";

export const OPERATOR_NS = "keepalived-operator";
const FIELD_MANAGER = "keepalived-operator-bench";

const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

export interface Cluster {
  cp: ControlPlane;
  admin: KubeClient;
  lab: Lab;
  controllerKubeconfig: string;
  agentKubeconfig: string;
  stop(): Promise<void>;
}

export function apply(client: KubeClient, o: Manifest, subresource?: "status"): Promise<unknown> {
  return applyManifest(client, o, FIELD_MANAGER, subresource);
}

export async function startCluster(lab: Lab): Promise<Cluster> {
  const cp = await startControlPlane();
  try {
    const admin = KubeClient.fromKubeConfig(loadKubeConfig(cp.kubeconfigPath));
    await apply(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: OPERATOR_NS } });
    for (const f of ["controller.yaml", "agent.yaml"])
      await applyManifestFile(admin, join(repoRoot(), "deploy", "rbac", f), FIELD_MANAGER);
    for (const node of lab.nodes) {
      await apply(admin, labNodeObject(node));
      const status = { addresses: [{ type: "InternalIP", address: node.ip }] };
      await apply(admin, { ...labNodeObject(node), status }, "status");
    }
    return {
      cp,
      admin,
      lab,
      controllerKubeconfig: await cp.mintServiceAccountKubeconfig(OPERATOR_NS, "keepalived-operator"),
      agentKubeconfig: await cp.mintServiceAccountKubeconfig(OPERATOR_NS, "keepalived-agent"),
      stop: () => cp.stop(),
    };
  } catch (err) {
    await cp.stop();
    throw err;
  }
}

/** A KeepalivedGroup over every lab node with an address pool. */
export function benchGroup(name: string, pool: string, spec: KeepalivedGroupSpec = {}): Manifest {
  return {
    apiVersion: "redhatcop.redhat.io/v1alpha1",
    kind: "KeepalivedGroup",
    metadata: { name, namespace: OPERATOR_NS },
    spec: { interface: NODE_IFACE, nodeSelector: {}, addressPools: [{ name, addresses: [pool] }], ...spec },
  };
}

/**
 * A LoadBalancer Service of `group` that takes its address from the group's pool. `nodePorts: false` for
 * thousands of them: the cluster's NodePort range holds fewer than 3000.
 */
export function benchService(namespace: string, name: string, group: string, nodePorts = true): Manifest {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace, annotations: { [GROUP_ANNOTATION]: `${OPERATOR_NS}/${group}` } },
    spec: {
      type: "LoadBalancer",
      ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 80 }],
      ...(nodePorts ? {} : { allocateLoadBalancerNodePorts: false }),
    },
  };
}

export async function ensureNamespace(admin: KubeClient, name: string): Promise<void> {
  await apply(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
}

interface ServiceStatus {
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

/** The Service's EXTERNAL-IP (its first ingress IP), or undefined while it has none. */
export async function externalIP(
  admin: KubeClient,
  namespace: string,
  name: string,
): Promise<string | undefined> {
  try {
    const s = await admin.request<ServiceStatus>("GET", `/api/v1/namespaces/${namespace}/services/${name}`);
    return s.status?.loadBalancer?.ingress?.[0]?.ip;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}

export interface ControllerProcess {
  identity: string;
  child: ChildProcess;
  metricsPort: number;
  /** The last lines of its log. */
  tail: string[];
  leading(): Promise<boolean>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** A controller replica; `lease` flags in seconds, the production defaults unless given. */
export async function startController(
  cluster: Cluster,
  identity: string,
  lease: string[] = [],
): Promise<ControllerProcess> {
  const metricsPort = await freePort();
  const child = spawn(
    process.execPath,
    controllerArgv([
      ...["--kubeconfig", cluster.controllerKubeconfig, "--namespace", OPERATOR_NS, "--identity", identity],
      ...["--metrics-address", `127.0.0.1:${metricsPort}`, ...lease],
    ]),
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  children.add(child);
  const tail: string[] = [];
  child.stderr.setEncoding("utf8").on("data", (s: string) => {
    tail.push(...s.split("\n").filter((l) => l !== ""));
    tail.splice(0, Math.max(0, tail.length - 50));
  });
  const exited = new Promise<void>((r) =>
    child.on("exit", () => {
      children.delete(child);
      r();
    }),
  );
  const metrics = async (): Promise<string | undefined> => {
    try {
      return await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    } catch {
      return undefined;
    }
  };
  await waitFor(
    `controller ${identity}'s metrics`,
    async () => ((await metrics()) === undefined ? undefined : true),
    30_000,
    50,
  );
  return {
    identity,
    child,
    metricsPort,
    tail,
    leading: async () => /^keepalived_operator_leader 1$/m.test((await metrics()) ?? ""),
    kill: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** An agent following `group` through the API server, running keepalived in the node's namespace. */
export async function startApiAgent(cluster: Cluster, node: LabNode, group: string): Promise<AgentProcess> {
  const stateDir = join(cluster.lab.dir, `api-${group}-${node.name}`);
  const child = spawn(
    process.execPath,
    agentArgv([
      ...["--group", `${OPERATOR_NS}/${group}`],
      ...["--node", node.name, "--netns", node.ns, "--kubeconfig", cluster.agentKubeconfig],
      ...["--state-dir", stateDir, "--metrics-address", `127.0.0.1:${await freePort()}`],
    ]),
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  children.add(child);
  child.on("exit", () => children.delete(child));
  return watchAgent(child, node, stateDir, `${group}/${node.name}`);
}

/** Starts an API-following agent on every lab node and waits until each runs keepalived. */
export async function startApiAgents(cluster: Cluster, group: string): Promise<AgentProcess[]> {
  const agents = await Promise.all(cluster.lab.nodes.map((n) => startApiAgent(cluster, n, group)));
  await waitFor(
    "every agent to run keepalived",
    () => {
      const dead = agents.find((a) => a.child.exitCode !== null);
      if (dead !== undefined)
        throw new Error(`the agent on ${dead.node.name} exited: ${JSON.stringify(dead.logs.slice(-5))}`);
      return Promise.resolve(
        agents.every((a) => a.logs.some((l) => l.msg === "keepalived started")) ? true : undefined,
      );
    },
    60_000,
    100,
  );
  return agents;
}

export async function stopAgents(agents: AgentProcess[]): Promise<void> {
  await Promise.all(agents.map((a) => stopAgent(a, 10_000)));
}

/** Resident memory of a process: now (VmRSS) and its peak (VmHWM), in KiB; zeros once it is gone. */
export async function memoryKiB(pid: number | undefined): Promise<{ rss: number; peak: number }> {
  if (pid === undefined) return { rss: 0, peak: 0 };
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const field = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? "0");
    return { rss: field("VmRSS"), peak: field("VmHWM") };
  } catch {
    return { rss: 0, peak: 0 };
  }
}
