// `lab up --kubelet`: the walkthrough on real kubelet nodes (kubeletCluster.ts, kubeletWalkthrough.ts) for a
// person to try. It outlives the command and is recorded in kubelet-lab.json (next to lab.json) so that
// `lab down` removes exactly what it started: the cgroup tree with every node process, the namespaces, the
// control plane and the directory.
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { removeCgroup } from "./kubeletCgroups.js";
import { clusterPrereqs, startKubeletCluster, type KubeletCluster } from "./kubeletCluster.js";
import {
  AGENT_SELECTOR,
  applyWalkthrough,
  CONTROLLER_SELECTOR,
  curlOnce,
  DEMO,
  DEMO_PODS,
  externalIP,
  helmInstall,
  labelNodes,
  OPERATOR_NAMESPACE,
  waitPodsReady,
} from "./kubeletWalkthrough.js";
import { labPaths } from "./labState.js";
import { deleteNamespacesSync, labNamespaces, listNamespaces, type Lab } from "./netns.js";
import { stopControlPlane } from "./controlplane.js";
import { readJsonState, stateIsLive, writeJsonState, type ControlPlaneState } from "./stateFiles.js";
import { waitFor } from "./wait.js";

/** The kubelet lab's namespaces and cgroup tree start with this (letters only: never swept as a test's). */
export const KUBELET_LAB_PREFIX = "kaokube-";

export interface KubeletLabState {
  controlPlane: ControlPlaneState;
  lab: Omit<Lab, "cleanup">;
  cgroup: string;
  dir: string;
  vip: string;
  answeredBy: string;
  /** Milliseconds from the start of `lab up --kubelet` to each milestone. */
  timings: Record<string, number>;
}

async function statePath(env: Record<string, string | undefined>): Promise<string> {
  return join(dirname((await labPaths(env)).stateFile), "kubelet-lab.json");
}

/** The walkthrough's steps 1–3 on a running cluster; returns the EXTERNAL-IP and the first answer. */
export async function walkthrough(
  c: KubeletCluster,
  helm: string,
  mark: (what: string) => void,
): Promise<{ vip: string; answeredBy: string }> {
  const client = c.client();
  await helmInstall(c, helm);
  mark("helm install done");
  await waitPodsReady(client, OPERATOR_NAMESPACE, CONTROLLER_SELECTOR, 2);
  mark("controller Pods Ready");
  await labelNodes(client);
  await applyWalkthrough(client);
  mark("group and demo.yaml applied");
  await waitPodsReady(client, OPERATOR_NAMESPACE, AGENT_SELECTOR, 2);
  await waitPodsReady(client, DEMO.namespace, "env=test", DEMO_PODS.length);
  mark("agent and demo Pods Ready");
  const vip = await externalIP(client);
  mark(`EXTERNAL-IP ${vip}`);
  const answeredBy = await waitFor(`an answer from http://${vip}/`, () => curlOnce(c, vip), 60_000, 100);
  mark("first answer through the VIP");
  return { vip, answeredBy };
}

/** Starts the kubelet lab, or reports the recorded one when it still answers. */
export async function kubeletLabUp(
  env: Record<string, string | undefined>,
  log: (line: string) => void,
): Promise<{ state: KubeletLabState; alreadyUp: boolean }> {
  const path = await statePath(env);
  const recorded = await readJsonState<KubeletLabState>(path, "kubelet lab", "remove it, then run lab down");
  if (recorded !== undefined) {
    const answer = stateIsLive(recorded.controlPlane)
      ? await curlOnce({ lab: recorded.lab }, recorded.vip)
      : undefined;
    if (answer !== undefined) return { state: { ...recorded, answeredBy: answer }, alreadyUp: true };
    log(`the kubelet lab in ${path} does not answer: removing it and starting again`);
    await kubeletLabDown(env, log);
  }
  const leftovers = listNamespaces().filter((n) => n.startsWith(KUBELET_LAB_PREFIX));
  if (leftovers.length > 0) deleteNamespacesSync(leftovers);
  const t0 = Date.now();
  const timings: Record<string, number> = {};
  const mark = (what: string): void => {
    timings[what] = Date.now() - t0;
    log(`${what} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  };
  log("installing and building what the kubelet lab needs (scripts/setup.sh kubelet)");
  const prereqs = await clusterPrereqs(log);
  mark("prerequisites ready");
  const c = await startKubeletCluster(prereqs, { prefix: KUBELET_LAB_PREFIX, detached: true, log });
  mark("3 nodes Ready");
  const state: KubeletLabState = {
    controlPlane: {
      dir: c.cp.dir,
      kubeconfigPath: c.cp.kubeconfigPath,
      server: c.cp.server,
      pids: c.cp.pids,
    },
    lab: {
      prefix: c.lab.prefix,
      switchNs: c.lab.switchNs,
      clientNs: c.lab.clientNs,
      nodes: c.lab.nodes,
      dir: c.lab.dir,
    },
    cgroup: c.cgroup,
    dir: c.dir,
    vip: "",
    answeredBy: "",
    timings,
  };
  await writeJsonState(path, state);
  try {
    Object.assign(state, await walkthrough(c, prereqs.helm, mark));
  } catch (err) {
    log("the kubelet lab did not come up; removing what was started");
    await kubeletLabDown(env, () => undefined);
    throw err;
  }
  await writeJsonState(path, state);
  return { state, alreadyUp: false };
}

/** Removes the recorded kubelet lab; says what it removed. Safe to run twice. */
export async function kubeletLabDown(
  env: Record<string, string | undefined>,
  log: (line: string) => void,
): Promise<string[]> {
  const path = await statePath(env);
  const state = await readJsonState<KubeletLabState>(path, "kubelet lab", "remove it");
  const removed: string[] = [];
  if (state !== undefined) {
    await removeCgroup(state.cgroup);
    removed.push(`every node process and the cgroup tree ${state.cgroup}`);
  }
  const recorded = state === undefined ? [] : labNamespaces(state.lab);
  const namespaces = listNamespaces().filter((n) => n.startsWith(KUBELET_LAB_PREFIX) || recorded.includes(n));
  if (namespaces.length > 0) {
    deleteNamespacesSync(namespaces);
    removed.push(`network namespaces ${namespaces.join(", ")}`);
  }
  if (state !== undefined) {
    await stopControlPlane(state.controlPlane);
    removed.push(`the control plane at ${state.controlPlane.server}`);
    if (existsSync(state.lab.dir)) await rm(state.lab.dir, { recursive: true, force: true });
    removed.push(`the directory ${state.lab.dir}`);
    await rm(path, { force: true });
    removed.push(`the state file ${path}`);
  }
  for (const r of removed) log(`removed ${r}`);
  return removed;
}
