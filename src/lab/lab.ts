// The local lab behind `keepalived-operator lab up|failover|down`: the walkthrough's cluster on one machine.
// A real control plane, three node network namespaces and a client on a bridge, the controller and one
// API-following agent per node as background processes, a tiny HTTP server per node, the seed's
// KeepalivedGroup (with an address pool instead of OpenShift's autoAssignCIDRs) and its demo Service.
// Everything it starts is recorded in a state file so that `lab down` can remove exactly that.
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { KubeClient, loadKubeConfig } from "../kube/rest.js";
import { startControlPlane, stopControlPlane } from "./controlplane.js";
import { failoverTrial } from "./failover.js";
import {
  applyClusterObjects,
  applyDemoService,
  DEMO,
  mintServiceAccountKubeconfig,
  OPERATOR_NAMESPACE,
} from "./labObjects.js";
import {
  curlFromClient,
  logTail,
  startHttpServers,
  startOperator,
  stopProcess,
  waitForProcesses,
} from "./labProcesses.js";
import {
  labFaults,
  labPaths,
  readLabState,
  writeLabState,
  type LabPaths,
  type LabProcess,
  type LabState,
} from "./labState.js";
import {
  attachLab,
  createLab,
  deleteNamespacesSync,
  holdersOf,
  labNamespaces,
  listNamespaces,
} from "./netns.js";
import { isAlive } from "./processes.js";
import { readState, stateIsLive, writeState, type ControlPlaneState } from "./stateFiles.js";
import { waitFor } from "./wait.js";

const NODE_COUNT = 3;

export type Log = (line: string) => void;

export interface UpResult {
  state: LabState;
  alreadyUp: boolean;
  /** The node that answered the curl just now. */
  answeredBy: string;
}

/** Brings the lab up, or reports the one that is up. A lab with a dead part is removed and rebuilt. */
export async function labUp(env: Record<string, string | undefined>, log: Log): Promise<UpResult> {
  const paths = await labPaths(env);
  const recorded = await readLabState(paths.stateFile);
  if (recorded !== undefined) {
    const faults = labFaults(recorded);
    if (faults.length === 0 && recorded.demo !== undefined) {
      const answeredBy = await curlFromClient(recorded.lab, recorded.demo.externalIP);
      if (answeredBy !== undefined) return { state: recorded, alreadyUp: true, answeredBy };
      faults.push(`http://${recorded.demo.externalIP}/ does not answer`);
    }
    log(`the lab in ${paths.stateFile} is broken (${faults.join("; ")}): removing it and starting again`);
    await labDown(env, log);
  } else {
    const leftovers = listNamespaces().filter((n) => n.startsWith(paths.prefix));
    if (leftovers.length > 0)
      throw new Error(
        `network namespaces ${leftovers.join(", ")} exist but no lab is recorded in ${paths.stateFile}: ` +
          "remove them with keepalived-operator lab down (or use another KAO_LAB_PREFIX)",
      );
  }
  await rm(paths.dir, { recursive: true, force: true });
  const { controlPlane, reused } = await ensureControlPlane(paths, log);

  log(`creating network namespaces ${paths.prefix}*: ${NODE_COUNT} nodes and a client on a bridge`);
  const lab = await createLab(NODE_COUNT, { prefix: paths.prefix, dir: paths.dir });
  const labRecord = {
    prefix: lab.prefix,
    switchNs: lab.switchNs,
    clientNs: lab.clientNs,
    nodes: lab.nodes,
    dir: lab.dir,
  };
  const state: LabState = {
    dir: paths.dir,
    controlPlane,
    controlPlaneReused: reused,
    lab: labRecord,
    processes: [],
  };
  const save = (): Promise<void> => writeLabState(paths.stateFile, state);
  await save();
  try {
    await startEverything(state, save, log);
  } catch (err) {
    const logs = state.processes.map((p) => `--- ${p.role} (${p.log}):\n${logTail(p)}`).join("\n");
    log(`the lab did not come up; removing what was started`);
    await labDown(env, () => undefined);
    throw new Error(`${err instanceof Error ? err.message : String(err)}${logs === "" ? "" : `\n${logs}`}`);
  }
  return { state, alreadyUp: false, answeredBy: state.demo?.answeredBy ?? "" };
}

/** The control plane `controlplane up` left running, or a new one recorded the same way. */
async function ensureControlPlane(
  paths: LabPaths,
  log: Log,
): Promise<{ controlPlane: ControlPlaneState; reused: boolean }> {
  const cpRecorded = await readState(paths.controlPlaneFile);
  if (cpRecorded !== undefined && stateIsLive(cpRecorded)) {
    log(`reusing the control plane at ${cpRecorded.server}`);
    return { controlPlane: cpRecorded, reused: true };
  }
  if (cpRecorded !== undefined) await stopControlPlane(cpRecorded);
  log("starting the control plane (etcd + kube-apiserver)");
  const cp = await startControlPlane({ detached: true, log });
  const controlPlane = { dir: cp.dir, kubeconfigPath: cp.kubeconfigPath, server: cp.server, pids: cp.pids };
  await writeState(paths.controlPlaneFile, controlPlane);
  return { controlPlane, reused: false };
}

async function startEverything(state: LabState, save: () => Promise<void>, log: Log): Promise<void> {
  const { lab, dir } = state;
  const adminKubeconfig = state.controlPlane.kubeconfigPath;
  const admin = KubeClient.fromKubeConfig(loadKubeConfig(adminKubeconfig));

  log("applying namespaces, RBAC (deploy/rbac), Nodes and the KeepalivedGroup");
  await applyClusterObjects(admin, lab.nodes);
  const kubeconfigs = {
    controller: join(dir, "controller.kubeconfig"),
    agent: join(dir, "agent.kubeconfig"),
  };
  for (const [name, path] of [
    ["keepalived-operator", kubeconfigs.controller],
    ["keepalived-agent", kubeconfigs.agent],
  ] as const)
    await mintServiceAccountKubeconfig(admin, adminKubeconfig, { namespace: OPERATOR_NAMESPACE, name }, path);

  const record = async (p: LabProcess): Promise<void> => {
    state.processes.push(p);
    await save();
  };
  log("starting the controller and one agent per node");
  await startOperator(dir, lab.nodes, kubeconfigs, record);
  log("starting an HTTP server on port 80 in each node namespace");
  await startHttpServers(dir, lab.nodes, record);
  await waitForProcesses(lab, state.processes);

  log(`applying the demo Service ${DEMO.namespace}/${DEMO.name}`);
  const t0 = Date.now();
  const externalIP = await applyDemoService(admin);
  const assignedMs = Date.now() - t0;
  log(`EXTERNAL-IP ${externalIP}; waiting for http://${externalIP}/ to answer from the client`);
  const answeredBy = await waitFor(
    `http://${externalIP}/ to answer from ${lab.clientNs}`,
    () => curlFromClient(lab, externalIP),
    60_000,
    20,
  );
  state.demo = { externalIP, answeredBy, assignedMs, firstAnswerMs: Date.now() - t0 };
  await save();
}

/** Removes the recorded lab and anything it may have left; says what it removed. Safe to run twice. */
export async function labDown(env: Record<string, string | undefined>, log: Log): Promise<string[]> {
  const paths = await labPaths(env);
  const state = await readLabState(paths.stateFile);
  const removed: string[] = [];
  if (state !== undefined) removed.push(...(await stopProcesses(state.processes)));
  // Also namespaces of the lab's prefix that no state records (an `up` killed while creating them).
  const recorded = state === undefined ? [] : labNamespaces(state.lab);
  const namespaces = listNamespaces().filter((n) => n.startsWith(paths.prefix) || recorded.includes(n));
  if (namespaces.length > 0) {
    // Deleting a namespace removes its veths and the bridge with it, and ends what still runs inside.
    deleteNamespacesSync(namespaces);
    removed.push(`network namespaces ${namespaces.join(", ")} (with the bridge br0 and the veths)`);
  }
  if (state !== undefined) removed.push(...(await removeControlPlane(state.controlPlane, paths)));
  if (existsSync(paths.dir)) {
    await rm(paths.dir, { recursive: true, force: true });
    removed.push(`the directory ${paths.dir} (kubeconfigs, logs, agent state)`);
  }
  if (state !== undefined) {
    await rm(paths.stateFile, { force: true });
    removed.push(`the state file ${paths.stateFile}`);
  }
  for (const r of removed) log(`removed ${r}`);
  return removed;
}

/** Stops the lab's processes, agents first: on SIGTERM each hands its VIPs to its peers and stops keepalived. */
async function stopProcesses(processes: LabProcess[]): Promise<string[]> {
  const order = (p: LabProcess): number => (p.role.startsWith("agent") ? 0 : p.role === "controller" ? 2 : 1);
  const stopped = await Promise.all(
    [...processes]
      .sort((a, b) => order(a) - order(b))
      .map(async (p) => ((await stopProcess(p)) ? p : undefined)),
  );
  return stopped.flatMap((p) => (p === undefined ? [] : [`process ${p.role} (pid ${p.pid})`]));
}

/** Stops the lab's control plane and forgets it, unless `controlplane up` has recorded another one since. */
async function removeControlPlane(cp: ControlPlaneState, paths: LabPaths): Promise<string[]> {
  const removed: string[] = [];
  if (isAlive(cp.pids.kubeApiserver) || isAlive(cp.pids.etcd) || existsSync(cp.dir)) {
    await stopControlPlane(cp);
    removed.push(`the control plane at ${cp.server} (${cp.dir})`);
  }
  const cpRecorded = await readState(paths.controlPlaneFile).catch(() => undefined);
  if (cpRecorded?.dir === cp.dir) await rm(paths.controlPlaneFile, { force: true });
  return removed;
}

export interface FailoverReport {
  vip: string;
  from: string;
  to: string;
  /** The node that answered http://<vip>/ once `to` held the VIP. */
  answeredBy: string | undefined;
  gapMs: number;
  sent: number;
  lost: number;
  duplicates: number;
}

/** Cuts the holder of the demo VIP off the bridge while the client pings it; reconnects it afterwards. */
export async function labFailover(
  env: Record<string, string | undefined>,
  log: Log,
): Promise<FailoverReport> {
  const { stateFile } = await labPaths(env);
  const state = await readLabState(stateFile);
  if (state?.demo === undefined) throw new Error("no lab is up: run keepalived-operator lab up first");
  const faults = labFaults(state);
  if (faults.length > 0)
    throw new Error(`the lab is broken (${faults.join("; ")}): run lab down, then lab up`);
  const lab = attachLab(state.lab);
  const vip = state.demo.externalIP;
  log(`${vip} is on ${(await holdersOf(lab, vip)).join(", ") || "no node"}; cutting that node's link`);
  let answeredBy: string | undefined;
  const trial = await failoverTrial(lab, vip, async () => {
    answeredBy = await curlFromClient(lab, vip);
  });
  log(`${trial.from}'s link is back and ${trial.from} holds ${vip} again`);
  return {
    vip,
    from: trial.from,
    to: trial.to,
    answeredBy,
    gapMs: trial.maxGapMs,
    sent: trial.sent,
    lost: trial.lost,
    duplicates: trial.duplicates,
  };
}
