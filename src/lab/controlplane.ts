// A real etcd + kube-apiserver on loopback for integration tests and the local lab: start, use, stop.
import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiError, KubeClient, loadKubeConfig } from "../kube/rest.js";
import { applyCrds } from "./crds.js";
import { kubeconfigYaml, serviceAccountToken, writePki } from "./credentials.js";
import {
  SERVICE_ACCOUNT_ISSUER,
  startApiserver,
  startEtcd,
  waitReady,
  type Placement,
  type Started,
} from "./controlplaneProcesses.js";
import { freePort, isAlive, repoRoot, runsBinary, tail, terminate } from "./processes.js";
import { sleep } from "./wait.js";
import type { ControlPlaneState } from "./stateFiles.js";

export interface ControlPlaneOptions {
  /** Processes outlive this Node.js process (for `controlplane up`); no exit hooks are installed. */
  detached?: boolean;
  /** Limit for /readyz and CRD establishment; the binary build is not counted. Default 120 s. */
  startupTimeoutMs?: number;
  /** Directory holding `etcd` and `kube-apiserver`; default: the output of tools/controlplane/build.sh. */
  binDir?: string;
  /** More IP addresses the API server's certificate names (the kubelet lab's bridge address, ClusterIP). */
  apiserverIPs?: string[];
  /** Appended to kube-apiserver's flags (feature gates, verbosity). */
  apiserverArgs?: string[];
  /** An audit.k8s.io/v1 Policy (YAML): the API server then writes its audit log to `auditLogPath`. */
  auditPolicy?: string;
  /** Progress lines (build output, phases). */
  log?: (line: string) => void;
}

export interface ControlPlane {
  kubeconfigPath: string;
  server: string;
  caPem: string;
  dir: string;
  pids: { etcd: number; kubeApiserver: number };
  /** The API server's audit log (JSON lines), when started with `auditPolicy`. */
  auditLogPath?: string;
  /** A client with the admin's certificate (system:masters). */
  client(): KubeClient;
  /** Creates the namespace and ServiceAccount if missing and returns a kubeconfig holding a token for it. */
  mintServiceAccountKubeconfig(namespace: string, name: string): Promise<string>;
  /** Stops one process (for fault tests); its data and flags are kept for startComponent. */
  stopComponent(component: ControlPlaneComponent, signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Starts a stopped process again with its original flags and waits until it serves. */
  startComponent(component: ControlPlaneComponent): Promise<void>;
  stop(): Promise<void>;
}

export type ControlPlaneComponent = "etcd" | "kube-apiserver";

/** Starts one process of the control plane again with its original flags; `serving` waits until it serves. */
interface Relaunch {
  start(component: ControlPlaneComponent): Started;
  serving(component: ControlPlaneComponent, started: Started): Promise<void>;
}

const LOG_TAIL_LINES = 20;
/** Limit for a restarted etcd or API server to serve again. */
const RESTART_TIMEOUT_MS = 60_000;

/** Runs tools/controlplane/build.sh (a no-op when cached) and returns the directory it prints last. */
export async function controlPlaneBinDir(log: (line: string) => void = () => undefined): Promise<string> {
  const script = join(repoRoot(), "tools", "controlplane", "build.sh");
  const child = spawn("bash", [script], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderrTail: string[] = [];
  child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => {
    for (const line of s.split("\n").filter((l) => l !== "")) {
      log(line);
      stderrTail = [...stderrTail, line].slice(-LOG_TAIL_LINES);
    }
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  const dir = stdout.trim().split("\n").at(-1) ?? "";
  if (code !== 0 || dir === "") {
    throw new Error(`${script} failed with code ${code}: ${stderrTail.join("\n")}`);
  }
  return dir;
}

/** Stops the processes of a control plane and removes its directory. */
export async function stopControlPlane(state: Pick<ControlPlaneState, "dir" | "pids">): Promise<void> {
  // The API server first, so it does not log a storm of etcd connection errors.
  for (const [pid, binary] of [
    [state.pids.kubeApiserver, "kube-apiserver"],
    [state.pids.etcd, "etcd"],
  ] as const) {
    if (isAlive(pid) && runsBinary(pid, binary)) await terminate(pid, binary);
  }
  await rm(state.dir, { recursive: true, force: true });
}

// Control planes of this process still running; killed synchronously if the process exits or is signalled.
const running = new Map<string, ControlPlaneState>();
let hooksInstalled = false;

function killAllSync(): void {
  for (const state of running.values()) {
    for (const [pid, binary] of [
      [state.pids.kubeApiserver, "kube-apiserver"],
      [state.pids.etcd, "etcd"],
    ] as const) {
      try {
        if (pid > 0 && runsBinary(pid, binary)) process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    rmSync(state.dir, { recursive: true, force: true });
  }
  running.clear();
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", killAllSync);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = (): void => {
      killAllSync();
      // Listening disables the default action (exit): re-raise it unless someone else handles the signal.
      if (process.listenerCount(signal) === 1) {
        process.off(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

async function ignoreConflict(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 409)) throw err;
  }
}

function handle(
  state: ControlPlaneState,
  caPem: string,
  detached: boolean,
  relaunch: Relaunch,
): ControlPlane {
  const client = (): KubeClient => KubeClient.fromKubeConfig(loadKubeConfig(state.kubeconfigPath));
  const pidKey = (c: ControlPlaneComponent): "etcd" | "kubeApiserver" =>
    c === "etcd" ? "etcd" : "kubeApiserver";
  return {
    ...state,
    caPem,
    client,
    async stopComponent(component, signal = "SIGTERM") {
      const pid = state.pids[pidKey(component)];
      if (!isAlive(pid) || !runsBinary(pid, component)) return;
      if (signal === "SIGTERM") await terminate(pid, component);
      else {
        process.kill(pid, "SIGKILL");
        while (isAlive(pid)) await sleep(20);
      }
    },
    async startComponent(component) {
      const pid = state.pids[pidKey(component)];
      if (isAlive(pid) && runsBinary(pid, component)) throw new Error(`${component} (pid ${pid}) still runs`);
      const started = relaunch.start(component);
      state.pids[pidKey(component)] = started.child.pid ?? 0;
      await relaunch.serving(component, started);
    },
    async mintServiceAccountKubeconfig(namespace, name) {
      const admin = client();
      await ignoreConflict(() =>
        admin.request("POST", "/api/v1/namespaces", { body: { metadata: { name: namespace } } }),
      );
      await ignoreConflict(() =>
        admin.request("POST", `/api/v1/namespaces/${namespace}/serviceaccounts`, {
          body: { metadata: { name, namespace } },
        }),
      );
      const token = await serviceAccountToken(admin, namespace, name, {
        audiences: [SERVICE_ACCOUNT_ISSUER],
        expirationSeconds: 3600,
      });
      const path = join(state.dir, `sa-${namespace}-${name}.kubeconfig`);
      await writeFile(path, kubeconfigYaml(state.server, caPem, { token }), { mode: 0o600 });
      return path;
    },
    async stop() {
      await stopControlPlane(state);
      if (!detached) running.delete(state.dir);
    },
  };
}

/** Checks the binaries, creates the control plane's directory and, unless detached, its exit hooks. */
async function prepare(opts: ControlPlaneOptions, log: (line: string) => void): Promise<Placement> {
  const detached = opts.detached ?? false;
  const binDir = opts.binDir ?? (await controlPlaneBinDir(log));
  for (const binary of ["etcd", "kube-apiserver"]) {
    if (!existsSync(join(binDir, binary))) {
      throw new Error(`no ${binary} in ${binDir}: build it with tools/controlplane/build.sh`);
    }
  }
  return { binDir, dir: await mkdtemp(join(tmpdir(), "kao-controlplane-")), detached };
}

/** The admin kubeconfig (client certificate of system:masters); returns the CA it trusts. */
async function writeAdminKubeconfig(state: ControlPlaneState, pki: string): Promise<string> {
  const caPem = await readFile(join(pki, "ca.crt"), "utf8");
  const b64 = async (file: string): Promise<string> =>
    Buffer.from(await readFile(join(pki, file))).toString("base64");
  await writeFile(
    state.kubeconfigPath,
    kubeconfigYaml(state.server, caPem, {
      "client-certificate-data": await b64("admin.crt"),
      "client-key-data": await b64("admin.key"),
    }),
    { mode: 0o600 },
  );
  return caPem;
}

/** Waits for etcd's /health, then (when the API server runs) for the API server's /readyz. */
async function etcdServing(
  etcdUrl: string,
  state: ControlPlaneState,
  pki: string,
  p: Started,
): Promise<void> {
  const deadline = Date.now() + RESTART_TIMEOUT_MS;
  // The last answer (or why there was none), for the error: etcd says why it is not healthy.
  let last = "no answer yet";
  for (;;) {
    if (p.exit) throw new Error(`etcd exited after a restart: ${tail(p.logPath, LOG_TAIL_LINES)}`);
    const ok = await fetch(`${etcdUrl}/health`).then(
      async (r) => {
        last = `${r.status} ${(await r.text()).slice(0, 300)}`;
        return r.ok;
      },
      (err: unknown) => {
        // fetch says "fetch failed"; what failed (ECONNREFUSED, a reset) is its cause.
        last = String((err as { cause?: unknown }).cause ?? err);
        return false;
      },
    );
    if (ok) break;
    if (Date.now() > deadline)
      throw new Error(
        `etcd not healthy at ${etcdUrl}/health ${RESTART_TIMEOUT_MS / 1000} s after a restart (last answer: ${last}); its log ends: ${tail(p.logPath, LOG_TAIL_LINES)}`,
      );
    await sleep(100);
  }
  if (isAlive(state.pids.kubeApiserver)) await waitReady(state.server, pki, {}, deadline);
}

/** Flags for the API server's audit log, with the policy written next to it. */
async function auditArgs(dir: string, policy: string | undefined): Promise<string[]> {
  if (policy === undefined) return [];
  await writeFile(join(dir, "audit-policy.yaml"), policy);
  return [
    `--audit-policy-file=${join(dir, "audit-policy.yaml")}`,
    `--audit-log-path=${join(dir, "audit.log")}`,
  ];
}

const BIND_RACE_ATTEMPTS = 3;

/**
 * Starts etcd and kube-apiserver on free loopback ports, waits for /readyz and applies deploy/crds. A port taken
 * by another process between the pick and the bind ("address already in use") is retried on new ports.
 */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      const lostRace = /address already in use/.test(String(err));
      if (!lostRace || attempt >= BIND_RACE_ATTEMPTS) throw err;
      opts.log?.(`a port was taken before etcd or kube-apiserver bound it; starting again on new ports`);
    }
  }
}

async function startOnce(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const log = opts.log ?? (() => undefined);
  const at = await prepare(opts, log);
  const { dir, detached } = at;
  const pki = join(dir, "pki");
  const procs: Record<string, Started> = {};
  const state: ControlPlaneState = {
    dir,
    kubeconfigPath: join(dir, "admin.kubeconfig"),
    server: "",
    pids: { etcd: 0, kubeApiserver: 0 },
  };
  if (!detached) {
    installExitHooks();
    running.set(dir, state);
  }
  try {
    const deadline = Date.now() + (opts.startupTimeoutMs ?? 120_000);
    log(`generating certificates in ${pki}`);
    await writePki(pki, opts.apiserverIPs);
    const [clientPort, peerPort, securePort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${clientPort}`;
    state.server = `https://127.0.0.1:${securePort}`;
    const apiserverArgs = [...(await auditArgs(dir, opts.auditPolicy)), ...(opts.apiserverArgs ?? [])];
    const relaunch: Relaunch = {
      start: (c) =>
        c === "etcd"
          ? startEtcd(at, etcdUrl, `http://127.0.0.1:${peerPort}`)
          : startApiserver(at, etcdUrl, securePort, pki, apiserverArgs),
      serving: (c, p) =>
        c === "etcd"
          ? etcdServing(etcdUrl, state, pki, p)
          : waitReady(state.server, pki, { [c]: p }, Date.now() + RESTART_TIMEOUT_MS),
    };

    log(`starting etcd on ${etcdUrl}`);
    procs.etcd = relaunch.start("etcd");
    state.pids.etcd = procs.etcd.child.pid ?? 0;
    log(`starting kube-apiserver on ${state.server}`);
    procs["kube-apiserver"] = relaunch.start("kube-apiserver");
    state.pids.kubeApiserver = procs["kube-apiserver"].child.pid ?? 0;

    await waitReady(state.server, pki, procs, deadline);
    const caPem = await writeAdminKubeconfig(state, pki);
    log("applying deploy/crds");
    const cp = handle(state, caPem, detached, relaunch);
    if (opts.auditPolicy !== undefined) cp.auditLogPath = join(dir, "audit.log");
    await applyCrds(cp.client(), deadline);
    log(`ready: ${state.server}`);
    return cp;
  } catch (err) {
    await stopControlPlane(state);
    running.delete(dir);
    throw err;
  }
}
