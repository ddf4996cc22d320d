// The whole product for the network faults: a real control plane, three node namespaces and a client on a
// bridge, the controller and one API-following agent per node as their own processes, each kept running by
// a supervisor (the kubelet's part), and a KeepalivedGroup with Fast VRRP timing and a pool on the lab's
// subnet. stop() removes all of it, whatever state a failed test left.
import { join } from "node:path";
import { parseIpAddrJson } from "../../../src/agent/addresses.js";
import { createLab, ip as runIp, NODE_IFACE, type Lab, type LabNode } from "../../../src/lab/netns.js";
import { settledHolder } from "../../../src/lab/failover.js";
import { waitFor } from "../../../src/lab/wait.js";
import { apply, eventually } from "../../support/kube.js";
import {
  APPS_NS,
  applyNode,
  groupManifest,
  lbService,
  replicaKubeconfig,
  startFaultCluster,
  type FaultCluster,
} from "./cluster.js";
import { ingressIps, type ServiceLike, type VrrpTransition } from "./invariants.js";
import { keepalivedsOn, killKeepalived, partitionNodes } from "./net.js";
import { logged, startAgent, startController, stopAll, Supervised } from "./operator.js";

export const NET_GROUP = "net";
/** The group's advert interval (vrrp.timing Fast). */
export const ADVERT_MS = 100;

export interface NetCluster extends FaultCluster {
  lab: Lab;
  controller: Supervised;
  /** Node name → its agent, restarted when it exits. */
  agents: Map<string, Supervised>;
  stop(): Promise<void>;
}

export interface NetClusterOptions {
  /** The controller's --lease-duration, --renew-deadline, --retry-period (s); default 3, 2, 0.5. */
  lease?: [number, number, number];
}

export async function startNetCluster(opts: NetClusterOptions = {}): Promise<NetCluster> {
  const c = await startFaultCluster();
  let lab: Lab | undefined;
  const agents = new Map<string, Supervised>();
  let controller: Supervised | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all([...agents.values()].map((a) => a.stop("SIGTERM")));
    await controller?.stop("SIGTERM");
    await stopAll();
    if (lab !== undefined) {
      await partitionNodes(lab, false).catch(() => undefined);
      for (const n of lab.nodes) await killKeepalived(n).catch(() => 0);
      await lab.cleanup();
    }
    await c.cp.stop();
  };
  try {
    const l = await createLab(3);
    lab = l;
    for (const n of l.nodes) await applyNode(c.admin, n.name, n.ip);
    await apply(
      c.admin,
      groupManifest(NET_GROUP, {
        vrrp: { timing: "Fast" },
        addressPools: [{ name: "lab", addresses: ["198.18.0.200-198.18.0.250"] }],
      }),
    );
    const kubeconfig = await replicaKubeconfig(c, "net");
    const flags = { kubeconfig, identity: "net", ...(opts.lease === undefined ? {} : { lease: opts.lease }) };
    controller = new Supervised(() => startController(flags), 1000);
    await controller.run();
    for (const node of l.nodes) {
      const agent = new Supervised(
        () =>
          startAgent({
            group: NET_GROUP,
            node,
            kubeconfig: c.agentKubeconfig,
            stateDir: join(l.dir, node.name),
          }),
        1000,
      );
      agents.set(node.name, agent);
      await agent.run();
    }
    for (const [name, agent] of agents)
      await waitFor(
        `${name}'s agent to start keepalived`,
        () => Promise.resolve(logged(agent.current!, "keepalived started").length > 0 ? true : undefined),
        60_000,
        50,
      );
    return { ...c, lab: l, controller, agents, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Creates a Service of the group and waits for its IP to be published and held by one node. */
export async function publish(c: NetCluster, name: string): Promise<{ ip: string; holder: string }> {
  await apply(c.admin, lbService(name, NET_GROUP));
  const ip = await eventually(
    `${name} to get an IP`,
    async () =>
      ingressIps(
        await c.admin.request<ServiceLike>("GET", `/api/v1/namespaces/${APPS_NS}/services/${name}`),
      )[0],
    60_000,
    50,
  );
  return { ip, holder: await settledHolder(c.lab, ip, 30_000) };
}

export function nodeNamed(c: NetCluster, name: string): LabNode {
  const node = c.lab.nodes.find((n) => n.name === name);
  if (node === undefined) throw new Error(`no lab node ${name}`);
  return node;
}

/** Waits until the agent of `node` has been restarted since `before` incarnations and has started. */
export async function agentRestarted(c: NetCluster, node: string, before: number): Promise<void> {
  const agent = c.agents.get(node)!;
  await waitFor(
    `${node}'s agent to be restarted`,
    () =>
      Promise.resolve(
        agent.incarnations.length > before && logged(agent.current!, "agent started").length > 0
          ? true
          : undefined,
      ),
    30_000,
    20,
  );
}

/**
 * Every VRRP transition the agents reported ("vrrp state" log lines, all incarnations), in time order; when an
 * agent died, its instances turn UNKNOWN at that moment (it no longer reports what its keepalived does).
 */
export function vrrpHistory(c: NetCluster): VrrpTransition[] {
  const out: VrrpTransition[] = [];
  for (const [node, agent] of c.agents) {
    for (const p of agent.incarnations) {
      const instances = new Set<string>();
      for (const l of logged(p, "vrrp state")) {
        const instance = String(l.instance);
        instances.add(instance);
        out.push({ at: Date.parse(String(l.time)), node, instance, state: String(l.state) });
      }
      const exit = p.exitedAt();
      if (exit !== undefined)
        for (const instance of instances) out.push({ at: exit, node, instance, state: "UNKNOWN" });
    }
  }
  return out.sort((a, b) => a.at - b.at);
}

/**
 * Puts a node back to a clean state after a test that may have left it broken (e.g. a second keepalived):
 * SIGKILLs its agent and every keepalived there, removes every VIP (/32, /128) from its interface, and waits
 * for the supervisor's restarted agent to run keepalived again. Does nothing when it runs one keepalived.
 */
export async function resetNodeIfBroken(c: NetCluster, name: string): Promise<boolean> {
  const node = nodeNamed(c, name);
  if ((await keepalivedsOn(node)).length === 1) return false;
  const agent = c.agents.get(name)!;
  const before = agent.incarnations.length;
  await agent.current?.kill("SIGKILL");
  await killKeepalived(node);
  const addrs = parseIpAddrJson(await runIp("-n", node.ns, "-j", "addr", "show", "dev", NODE_IFACE));
  for (const a of addrs.filter((x) => x.prefix === 32 || x.prefix === 128))
    await runIp("-n", node.ns, "addr", "del", `${a.ip}/${a.prefix}`, "dev", NODE_IFACE).catch(() => "");
  await agentRestarted(c, name, before);
  await waitFor(
    `${name}'s agent to start keepalived again`,
    async () => ((await keepalivedsOn(node)).length === 1 ? true : undefined),
    30_000,
    50,
  );
  return true;
}
