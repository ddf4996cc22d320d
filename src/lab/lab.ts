// The local lab behind `keepalived-operator lab up|failover|down`: the walkthrough's cluster on one machine.
// A real control plane, three node network namespaces and a client on a bridge, the controller and one
// API-following agent per node as background processes, a tiny HTTP server per node, the seed's
// KeepalivedGroup (with an address pool instead of OpenShift's autoAssignCIDRs) and its demo Service.
// Everything it starts is recorded in a state file so that `lab down` can remove exactly that.
import { execFile, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { parse, stringify } from "yaml";
import { GROUP_ANNOTATION } from "../api/names.js";
import type { Manifest } from "../api/kube.js";
import { applyManifest, applyManifestFile } from "../kube/apply.js";
import { KubeClient, loadKubeConfig } from "../kube/rest.js";
import { startControlPlane, stopControlPlane } from "./controlplane.js";
import { freePort, isAlive, repoRoot } from "./processes.js";
import {
  readJsonState,
  readState,
  stateFilePath,
  stateIsLive,
  writeState,
  type ControlPlaneState,
} from "./stateFiles.js";
import { failoverTrial } from "./failover.js";
import {
  attachLab,
  createLab,
  deleteNamespacesSync,
  holdersOf,
  listNamespaces,
  NODE_IFACE,
  type Lab,
  type LabNode,
} from "./netns.js";
import { sleep, waitFor } from "./wait.js";

const execFileP = promisify(execFile);

/** Every namespace of the lab starts with this; test labs use kao<pid>-, so the two never meet. */
export const LAB_PREFIX = "kaolab-";
export const OPERATOR_NAMESPACE = "keepalived-operator";
export const GROUP_NAME = "keepalivedgroup-workers";
export const DEMO = { namespace: "demo", name: "demo" };
export const LAB_POOL = "198.18.0.200-198.18.0.220";
const NODE_COUNT = 3;
const LOADBALANCER_LABEL = "node-role.kubernetes.io/loadbalancer";
const STOP_GRACE_MS = 10_000;

/** A background process of the lab; `marker` appears in its command line (guards against recycled pids). */
export interface LabProcess {
  role: string;
  pid: number;
  log: string;
  marker: string;
}

export interface LabState {
  dir: string;
  controlPlane: ControlPlaneState;
  /** The control plane was already running (`controlplane up`) when the lab came up. */
  controlPlaneReused: boolean;
  lab: Omit<Lab, "cleanup">;
  processes: LabProcess[];
  /** Set once the demo Service has answered. */
  demo?: { externalIP: string; answeredBy: string; assignedMs: number; firstAnswerMs: number };
}

export type Log = (line: string) => void;

export interface LabPaths {
  stateFile: string;
  controlPlaneFile: string;
  dir: string;
  /** Names the lab's network namespaces: $KAO_LAB_PREFIX, default kaolab- (tests run a second lab). */
  prefix: string;
}

/** Where the lab records itself: lab.json next to controlplane.json; its files go in lab/ beside it. */
export async function labPaths(env: Record<string, string | undefined>): Promise<LabPaths> {
  const prefix = env.KAO_LAB_PREFIX ?? LAB_PREFIX;
  // Letters only: a kao<digits>- prefix would be swept away as a crashed test run's.
  if (!/^[a-z]{1,12}-$/.test(prefix))
    throw new Error(
      `KAO_LAB_PREFIX=${JSON.stringify(prefix)} must be 1 to 12 letters and a dash, e.g. kaolab-`,
    );
  const controlPlaneFile = await stateFilePath(env);
  const base = dirname(controlPlaneFile);
  return { stateFile: join(base, "lab.json"), controlPlaneFile, dir: join(base, "lab"), prefix };
}

export function readLabState(path: string): Promise<LabState | undefined> {
  return readJsonState(path, "lab", "remove it, then run keepalived-operator lab down");
}

async function writeLabState(path: string, state: LabState): Promise<void> {
  await writeFile(path, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
}

/** The process still runs and is the one we started. */
export function processRuns(p: Pick<LabProcess, "pid" | "marker">): boolean {
  if (!isAlive(p.pid)) return false;
  try {
    return readFileSync(`/proc/${p.pid}/cmdline`, "utf8").includes(p.marker);
  } catch {
    return false;
  }
}

/** What is missing from a recorded lab; empty when every part of it still runs. */
export function labFaults(state: LabState): string[] {
  const faults: string[] = [];
  if (!stateIsLive(state.controlPlane)) faults.push("the control plane is not running");
  const namespaces = new Set(listNamespaces());
  for (const ns of [state.lab.switchNs, state.lab.clientNs, ...state.lab.nodes.map((n) => n.ns)])
    if (!namespaces.has(ns)) faults.push(`network namespace ${ns} is gone`);
  for (const p of state.processes)
    if (!processRuns(p)) faults.push(`${p.role} (pid ${p.pid}) is not running; its log: ${p.log}`);
  if (state.demo === undefined) faults.push("the demo Service never answered");
  return faults;
}

// ---- objects ---------------------------------------------------------------------------------------------

type Obj = Manifest;

/**
 * The walkthrough's KeepalivedGroup; the lab's pool stands in for OpenShift's autoAssignCIDRs, and the fast VRRP
 * profile (100 ms adverts) shows sub-second failover (without it: 1 s adverts, about 3.5 s).
 */
export function labGroup(): Obj {
  return {
    apiVersion: "redhatcop.redhat.io/v1alpha1",
    kind: "KeepalivedGroup",
    metadata: { name: GROUP_NAME, namespace: OPERATOR_NAMESPACE },
    spec: {
      interface: NODE_IFACE,
      nodeSelector: { [LOADBALANCER_LABEL]: "" },
      blacklistRouterIDs: [1, 2],
      addressPools: [{ name: "lab", addresses: [LAB_POOL] }],
      vrrp: { timing: "Fast" },
    },
  };
}

/** The walkthrough's demo Service, unchanged. */
export function demoService(): Obj {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: DEMO.name,
      namespace: DEMO.namespace,
      annotations: { [GROUP_ANNOTATION]: `${OPERATOR_NAMESPACE}/${GROUP_NAME}` },
    },
    spec: {
      type: "LoadBalancer",
      ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 80 }],
      selector: { env: "test" },
    },
  };
}

export function labNodeObject(node: LabNode): Obj {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: node.name, labels: { [LOADBALANCER_LABEL]: "" } },
  };
}

/** Server-side apply as the lab's field manager. */
function apply(client: KubeClient, o: Obj, subresource?: "status"): Promise<unknown> {
  return applyManifest(client, o, "keepalived-operator-lab", subresource);
}

function applyFile(client: KubeClient, path: string): Promise<void> {
  return applyManifestFile(client, path, "keepalived-operator-lab");
}

/** A kubeconfig for a ServiceAccount: the admin's cluster entry with a token valid as long as the lab CA. */
async function mintServiceAccountKubeconfig(
  client: KubeClient,
  adminKubeconfig: string,
  namespace: string,
  name: string,
  path: string,
): Promise<void> {
  const tr = await client.request<{ status?: { token?: string } }>(
    "POST",
    `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    {
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { expirationSeconds: 7 * 24 * 3600 },
      },
    },
  );
  const config = parse(await readFile(adminKubeconfig, "utf8")) as {
    users: { name: string; user: unknown }[];
  };
  config.users = config.users.map((u) => ({ name: u.name, user: { token: tr.status?.token ?? "" } }));
  await writeFile(path, stringify(config), { mode: 0o600 });
}

// ---- processes -------------------------------------------------------------------------------------------

/** Starts a process that outlives this one; its stdout and stderr go to `log`. */
function startDetached(role: string, cmd: string, args: string[], log: string, marker: string): LabProcess {
  const fd = openSync(log, "a");
  const child = spawn(cmd, args, { stdio: ["ignore", fd, fd], detached: true });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${role} (${cmd})`);
  return { role, pid: child.pid, log, marker };
}

/** SIGTERM, then SIGKILL after a grace period; resolves once the process is gone. */
async function stopProcess(p: LabProcess, graceMs = STOP_GRACE_MS): Promise<boolean> {
  if (!processRuns(p)) return false;
  try {
    process.kill(p.pid, "SIGTERM");
  } catch {
    return false;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(p.pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(p.pid)) {
    try {
      process.kill(p.pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
    while (isAlive(p.pid)) await sleep(50);
  }
  return true;
}

// Answers every request with the node's name: bound to 0.0.0.0 in the node's namespace, so also on the VIP.
const HTTP_SERVER = `import { createServer } from "node:http";
const [name, port] = process.argv.slice(2);
createServer((req, res) => res.end(name + "\\n")).listen(Number(port), "0.0.0.0", () =>
  console.log(\`\${name}: listening on 0.0.0.0:\${port}\`),
);
process.on("SIGTERM", () => process.exit(0));
`;

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** GET http://<ip>/ from the client namespace; the body, or undefined when nothing answered. */
export async function curlFromClient(lab: Pick<Lab, "clientNs">, ip: string): Promise<string | undefined> {
  try {
    const { stdout } = await execFileP("ip", [
      ...["netns", "exec", lab.clientNs, "curl", "--silent", "--show-error"],
      ...["--connect-timeout", "0.5", "--max-time", "2", `http://${ip}/`],
    ]);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

// ---- up / down / failover --------------------------------------------------------------------------------

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

  const cpRecorded = await readState(paths.controlPlaneFile);
  let controlPlane: ControlPlaneState;
  let controlPlaneReused = false;
  if (cpRecorded !== undefined && stateIsLive(cpRecorded)) {
    log(`reusing the control plane at ${cpRecorded.server}`);
    controlPlane = cpRecorded;
    controlPlaneReused = true;
  } else {
    if (cpRecorded !== undefined) await stopControlPlane(cpRecorded);
    log("starting the control plane (etcd + kube-apiserver)");
    const cp = await startControlPlane({ detached: true, log });
    controlPlane = { dir: cp.dir, kubeconfigPath: cp.kubeconfigPath, server: cp.server, pids: cp.pids };
    await writeState(paths.controlPlaneFile, controlPlane);
  }

  log(`creating network namespaces ${paths.prefix}*: ${NODE_COUNT} nodes and a client on a bridge`);
  const lab = await createLab(NODE_COUNT, { prefix: paths.prefix, dir: paths.dir });
  const labRecord = {
    prefix: lab.prefix,
    switchNs: lab.switchNs,
    clientNs: lab.clientNs,
    nodes: lab.nodes,
    dir: lab.dir,
  };
  const state: LabState = { dir: paths.dir, controlPlane, controlPlaneReused, lab: labRecord, processes: [] };
  const save = (): Promise<void> => writeLabState(paths.stateFile, state);
  await save();
  try {
    await startEverything(state, save, log);
  } catch (err) {
    const logs = state.processes.map((p) => `--- ${p.role} (${p.log}):\n${tail(p.log)}`).join("\n");
    log(`the lab did not come up; removing what was started`);
    await labDown(env, () => undefined);
    throw new Error(`${err instanceof Error ? err.message : String(err)}${logs === "" ? "" : `\n${logs}`}`);
  }
  return { state, alreadyUp: false, answeredBy: state.demo?.answeredBy ?? "" };
}

async function startEverything(state: LabState, save: () => Promise<void>, log: Log): Promise<void> {
  const { lab, dir } = state;
  const admin = KubeClient.fromKubeConfig(loadKubeConfig(state.controlPlane.kubeconfigPath));
  const bin = join(repoRoot(), "bin", "keepalived-operator.js");

  log("applying namespaces, RBAC (deploy/rbac), Nodes and the KeepalivedGroup");
  for (const name of [OPERATOR_NAMESPACE, DEMO.namespace])
    await apply(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  await applyFile(admin, join(repoRoot(), "deploy", "rbac", "controller.yaml"));
  await applyFile(admin, join(repoRoot(), "deploy", "rbac", "agent.yaml"));
  for (const node of lab.nodes) {
    await apply(admin, labNodeObject(node));
    // IPv4 only: server-side apply keys status.addresses by type, so two InternalIPs collide.
    await apply(
      admin,
      { ...labNodeObject(node), status: { addresses: [{ type: "InternalIP", address: node.ip }] } },
      "status",
    );
  }
  await apply(admin, labGroup());
  const controllerKubeconfig = join(dir, "controller.kubeconfig");
  const agentKubeconfig = join(dir, "agent.kubeconfig");
  const adminKc = state.controlPlane.kubeconfigPath;
  await mintServiceAccountKubeconfig(
    admin,
    adminKc,
    OPERATOR_NAMESPACE,
    "keepalived-operator",
    controllerKubeconfig,
  );
  await mintServiceAccountKubeconfig(admin, adminKc, OPERATOR_NAMESPACE, "keepalived-agent", agentKubeconfig);

  log("starting the controller and one agent per node");
  state.processes.push(
    startDetached(
      "controller",
      process.execPath,
      [
        ...[bin, "controller", "--kubeconfig", controllerKubeconfig, "--namespace", OPERATOR_NAMESPACE],
        ...["--identity", "lab", "--metrics-address", `127.0.0.1:${await freePort()}`],
        ...["--lease-duration", "3", "--renew-deadline", "2", "--retry-period", "0.5"],
      ],
      join(dir, "controller.log"),
      dir,
    ),
  );
  await save();
  for (const node of lab.nodes) {
    state.processes.push(
      startDetached(
        `agent ${node.name}`,
        process.execPath,
        [
          ...[bin, "agent", "--group", `${OPERATOR_NAMESPACE}/${GROUP_NAME}`, "--node", node.name],
          ...["--netns", node.ns, "--kubeconfig", agentKubeconfig, "--state-dir", join(dir, node.name)],
          ...["--metrics-address", `127.0.0.1:${await freePort()}`],
        ],
        join(dir, `agent-${node.name}.log`),
        dir,
      ),
    );
    await save();
  }

  log("starting an HTTP server on port 80 in each node namespace");
  const script = join(dir, "http-server.mjs");
  await writeFile(script, HTTP_SERVER);
  for (const node of lab.nodes) {
    state.processes.push(
      startDetached(
        `http ${node.name}`,
        "ip",
        ["netns", "exec", node.ns, process.execPath, script, node.name, "80"],
        join(dir, `http-${node.name}.log`),
        dir,
      ),
    );
    await save();
  }

  const agents = state.processes.filter((p) => p.role.startsWith("agent "));
  await waitFor(
    "every agent to run keepalived",
    () => {
      const dead = state.processes.find((p) => !processRuns(p));
      if (dead !== undefined) throw new Error(`${dead.role} exited; its log: ${dead.log}`);
      return Promise.resolve(
        agents.every((a) => tail(a.log, 1000).includes('"msg":"keepalived started"')) ? true : undefined,
      );
    },
    60_000,
    100,
  );
  for (const node of lab.nodes)
    await waitFor(`${node.name}'s HTTP server`, () => curlFromClient(lab, node.ip), 20_000, 100);

  log(`applying the demo Service ${DEMO.namespace}/${DEMO.name}`);
  const t0 = Date.now();
  await apply(admin, demoService());
  const externalIP = await waitFor(
    `${DEMO.namespace}/${DEMO.name} to get an EXTERNAL-IP`,
    async () => {
      const svc = await admin.request<{ status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }>(
        "GET",
        `/api/v1/namespaces/${DEMO.namespace}/services/${DEMO.name}`,
      );
      return svc.status?.loadBalancer?.ingress?.[0]?.ip;
    },
    30_000,
    20,
  );
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
  if (state !== undefined) {
    // Agents first: on SIGTERM each hands its VIPs to its peers and stops its keepalived.
    const order = (p: LabProcess): number =>
      p.role.startsWith("agent") ? 0 : p.role === "controller" ? 2 : 1;
    const stopped = await Promise.all(
      [...state.processes]
        .sort((a, b) => order(a) - order(b))
        .map(async (p) => ((await stopProcess(p)) ? p : undefined)),
    );
    for (const p of stopped) if (p !== undefined) removed.push(`process ${p.role} (pid ${p.pid})`);
  }
  // Also namespaces of the lab's prefix that no state records (an `up` killed while creating them).
  const namespaces = listNamespaces().filter(
    (n) =>
      n.startsWith(paths.prefix) ||
      (state !== undefined &&
        [state.lab.switchNs, state.lab.clientNs, ...state.lab.nodes.map((x) => x.ns)].includes(n)),
  );
  if (namespaces.length > 0) {
    // Deleting a namespace removes its veths and the bridge with it, and ends what still runs inside.
    deleteNamespacesSync(namespaces);
    removed.push(`network namespaces ${namespaces.join(", ")} (with the bridge br0 and the veths)`);
  }
  if (state !== undefined) {
    const cp = state.controlPlane;
    if (isAlive(cp.pids.kubeApiserver) || isAlive(cp.pids.etcd) || existsSync(cp.dir)) {
      await stopControlPlane(cp);
      removed.push(`the control plane at ${cp.server} (${cp.dir})`);
    }
    const cpRecorded = await readState(paths.controlPlaneFile).catch(() => undefined);
    if (cpRecorded?.dir === cp.dir) await rm(paths.controlPlaneFile, { force: true });
  }
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
