// A real etcd + kube-apiserver on loopback for integration tests and the local lab: start, use, stop.
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- client-node models are data-only classes: object literals are how its API takes them */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { constants, existsSync, openSync, closeSync, readFileSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile, access } from "node:fs/promises";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  KubeConfig,
  loadAllYaml,
  type KubernetesObject,
  type V1CustomResourceDefinition,
} from "@kubernetes/client-node";
import { stringify } from "yaml";

const execFileP = promisify(execFile);

export interface ControlPlaneOptions {
  /** Processes outlive this Node.js process (for `controlplane up`); no exit hooks are installed. */
  detached?: boolean;
  /** Limit for /readyz and CRD establishment; the binary build is not counted. Default 120 s. */
  startupTimeoutMs?: number;
  /** Directory holding `etcd` and `kube-apiserver`; default: the output of tools/controlplane/build.sh. */
  binDir?: string;
  /** Appended to kube-apiserver's flags (feature gates, verbosity). */
  apiserverArgs?: string[];
  /** Progress lines (build output, phases). */
  log?: (line: string) => void;
}

export interface ControlPlane {
  kubeconfigPath: string;
  server: string;
  caPem: string;
  dir: string;
  pids: { etcd: number; kubeApiserver: number };
  kubeConfig(): KubeConfig;
  /** Creates the namespace and ServiceAccount if missing and returns a kubeconfig holding a token for it. */
  mintServiceAccountKubeconfig(namespace: string, name: string): Promise<string>;
  stop(): Promise<void>;
}

/** What `controlplane up` leaves behind for `controlplane down` and for a second `up`. */
export interface ControlPlaneState {
  dir: string;
  kubeconfigPath: string;
  server: string;
  pids: { etcd: number; kubeApiserver: number };
}

const SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";
const STOP_GRACE_MS = 10_000;
const LOG_TAIL_LINES = 20;

/** The repository root, found from this module's own location (src/lab or dist/src/lab). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "tools", "controlplane", "build.sh"))) return dir;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(`tools/controlplane/build.sh not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

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

/** A loopback port nobody listens on right now (bind port 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execFileP("openssl", args, { cwd });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error("openssl not found on PATH: install it (Debian/Ubuntu: apt-get install openssl)");
    }
    throw new Error(
      `openssl ${args.join(" ")} failed: ${(err as { stderr?: string }).stderr ?? String(err)}`,
    );
  }
}

/** A key pair and a certificate signed by the lab CA. */
async function issueCert(pki: string, name: string, subject: string, extensions: string): Promise<void> {
  await writeFile(join(pki, `${name}.ext`), extensions);
  await openssl(
    [
      ...["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject],
    ],
    pki,
  );
  await openssl(
    [
      ...["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"],
      ...["-days", "7", "-out", `${name}.crt`, "-extfile", `${name}.ext`],
    ],
    pki,
  );
}

async function writePki(pki: string): Promise<void> {
  await mkdir(pki, { recursive: true });
  await openssl(
    [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-keyout", "ca.key", "-out", "ca.crt", "-days", "7", "-subj", "/CN=keepalived-operator-lab-ca"],
    ],
    pki,
  );
  await issueCert(
    pki,
    "apiserver",
    "/CN=kube-apiserver",
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n",
  );
  // system:masters is bound to cluster-admin by the API server's bootstrap RBAC policy.
  await issueCert(
    pki,
    "admin",
    "/O=system:masters/CN=admin",
    "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n",
  );
  const sa = generateKeyPairSync("ec", { namedCurve: "P-256" });
  await writeFile(join(pki, "sa.key"), sa.privateKey.export({ type: "sec1", format: "pem" }));
  await writeFile(join(pki, "sa.pub"), sa.publicKey.export({ type: "spki", format: "pem" }));
}

function kubeconfigYaml(server: string, caPem: string, user: Record<string, string>): string {
  const b64 = (s: string): string => Buffer.from(s).toString("base64");
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "lab", cluster: { server, "certificate-authority-data": b64(caPem) } }],
    users: [{ name: "lab", user }],
    contexts: [{ name: "lab", context: { cluster: "lab", user: "lab" } }],
    "current-context": "lab",
  });
}

function tail(path: string): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-LOG_TAIL_LINES).join("\n");
  } catch {
    return "(no log)";
  }
}

/** True while the process exists and is not a zombie (a reparented child may never be reaped in a container). */
export function isAlive(pid: number): boolean {
  // pid 0 or negative would address a whole process group, ours included.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}

/** The process still runs the binary we started (guards against a recycled pid). */
function runs(pid: number, binary: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0]?.endsWith(`/${binary}`) === true;
  } catch {
    return isAlive(pid);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, then SIGKILL after a grace period; resolves once the process is gone. */
async function terminate(pid: number, binary: string): Promise<void> {
  if (!isAlive(pid) || !runs(pid, binary)) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + STOP_GRACE_MS;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return;
  }
  const killDeadline = Date.now() + STOP_GRACE_MS;
  while (isAlive(pid)) {
    if (Date.now() > killDeadline) throw new Error(`${binary} (pid ${pid}) still runs after SIGKILL`);
    await sleep(50);
  }
}

/** Stops the processes of a control plane and removes its directory. */
export async function stopControlPlane(state: Pick<ControlPlaneState, "dir" | "pids">): Promise<void> {
  // The API server first, so it does not log a storm of etcd connection errors.
  await terminate(state.pids.kubeApiserver, "kube-apiserver");
  await terminate(state.pids.etcd, "etcd");
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
        if (pid > 0 && runs(pid, binary)) process.kill(pid, "SIGKILL");
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

interface Started {
  child: ChildProcess;
  logPath: string;
  exit: { code: number | null; signal: string | null } | undefined;
}

function startProcess(
  binDir: string,
  binary: string,
  args: string[],
  dir: string,
  detached: boolean,
): Started {
  const logPath = join(dir, `${binary}.log`);
  const fd = openSync(logPath, "a");
  const child = spawn(join(binDir, binary), args, {
    stdio: ["ignore", fd, fd],
    detached,
  });
  closeSync(fd);
  const started: Started = { child, logPath, exit: undefined };
  child.on("exit", (code, signal) => {
    started.exit = { code, signal };
  });
  child.on("error", (err) => {
    started.exit = { code: null, signal: err.message };
  });
  if (detached) child.unref();
  return started;
}

function exitedError(name: string, p: Started, before: string): Error {
  const how = p.exit?.code == null ? `by ${p.exit?.signal ?? "?"}` : `with code ${p.exit.code}`;
  return new Error(`${name} exited ${how} before ${before}: ${tail(p.logPath)}`);
}

/** GET /readyz with the admin certificate; resolves to the HTTP status and body (or the connection error). */
function getReadyz(server: string, pki: string): Promise<string> {
  return new Promise((resolve) => {
    const req = request(
      `${server}/readyz`,
      {
        ca: readFileSync(join(pki, "ca.crt")),
        cert: readFileSync(join(pki, "admin.crt")),
        key: readFileSync(join(pki, "admin.key")),
        timeout: 5_000,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (s: string) => (body += s));
        res.on("end", () => {
          resolve(`${res.statusCode} ${body.trim()}`);
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => {
      resolve(err.message);
    });
    req.end();
  });
}

async function waitReady(
  server: string,
  pki: string,
  procs: Record<string, Started>,
  deadline: number,
): Promise<void> {
  let last = "";
  while (Date.now() < deadline) {
    for (const [name, p] of Object.entries(procs)) if (p.exit) throw exitedError(name, p, "/readyz");
    last = await getReadyz(server, pki);
    if (last.startsWith("200 ")) return;
    await sleep(250);
  }
  throw new Error(
    `kube-apiserver not ready at ${server}/readyz before the startup timeout; last answer: ${last.slice(0, 2000)}\n` +
      `kube-apiserver log: ${tail(procs["kube-apiserver"]?.logPath ?? "")}`,
  );
}

function apiMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = err.body;
    return `HTTP ${err.code}: ${typeof body === "string" ? body : JSON.stringify(body)}`;
  }
  return String(err);
}

/** Creates every CustomResourceDefinition in deploy/crds and waits until each is Established. */
async function applyCrds(kc: KubeConfig, deadline: number): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const crdDir = join(repoRoot(), "deploy", "crds");
  const files = (await readdir(crdDir)).filter((f) => f.endsWith(".yaml")).sort();
  const names: string[] = [];
  for (const file of files) {
    // client-node's loader, not a plain parse: its typed API silently drops raw keys such as `default`
    // and `x-kubernetes-validations` unless the object was first deserialized into its models.
    for (const obj of loadAllYaml(await readFile(join(crdDir, file), "utf8")) as KubernetesObject[]) {
      if (obj.kind !== "CustomResourceDefinition") continue;
      const body = obj as V1CustomResourceDefinition;
      try {
        await api.createCustomResourceDefinition({ body });
      } catch (err) {
        throw new Error(`the API server rejected the CRD in deploy/crds/${file}: ${apiMessage(err)}`);
      }
      names.push(body.metadata?.name ?? "");
    }
  }
  for (const name of names) {
    let conditions = "";
    for (;;) {
      const crd = await api.readCustomResourceDefinition({ name });
      const c = crd.status?.conditions ?? [];
      if (c.some((x) => x.type === "Established" && x.status === "True")) break;
      conditions = JSON.stringify(c);
      if (Date.now() > deadline)
        throw new Error(`CRD ${name} not Established in time; conditions: ${conditions}`);
      await sleep(100);
    }
  }
}

async function ignoreConflict(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (err) {
    if (!(err instanceof ApiException && err.code === 409)) throw err;
  }
}

function handle(state: ControlPlaneState, caPem: string, detached: boolean): ControlPlane {
  const kubeConfig = (): KubeConfig => {
    const kc = new KubeConfig();
    kc.loadFromFile(state.kubeconfigPath);
    return kc;
  };
  return {
    ...state,
    caPem,
    kubeConfig,
    async mintServiceAccountKubeconfig(namespace, name) {
      const core = kubeConfig().makeApiClient(CoreV1Api);
      await ignoreConflict(() => core.createNamespace({ body: { metadata: { name: namespace } } }));
      await ignoreConflict(() =>
        core.createNamespacedServiceAccount({ namespace, body: { metadata: { name, namespace } } }),
      );
      const tr = await core.createNamespacedServiceAccountToken({
        name,
        namespace,
        body: { spec: { audiences: [SERVICE_ACCOUNT_ISSUER], expirationSeconds: 3600 } },
      });
      const path = join(state.dir, `sa-${namespace}-${name}.kubeconfig`);
      await writeFile(path, kubeconfigYaml(state.server, caPem, { token: tr.status?.token ?? "" }), {
        mode: 0o600,
      });
      return path;
    },
    async stop() {
      await stopControlPlane(state);
      if (!detached) running.delete(state.dir);
    },
  };
}

/** Starts etcd and kube-apiserver on free loopback ports, waits for /readyz and applies deploy/crds. */
export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = opts.log ?? (() => undefined);
  const detached = opts.detached ?? false;
  const binDir = opts.binDir ?? (await controlPlaneBinDir(log));
  for (const binary of ["etcd", "kube-apiserver"]) {
    if (!existsSync(join(binDir, binary))) {
      throw new Error(`no ${binary} in ${binDir}: build it with tools/controlplane/build.sh`);
    }
  }
  const dir = await mkdtemp(join(tmpdir(), "kao-controlplane-"));
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
    await writePki(pki);
    const [clientPort, peerPort, securePort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${clientPort}`;
    const peerUrl = `http://127.0.0.1:${peerPort}`;
    state.server = `https://127.0.0.1:${securePort}`;

    log(`starting etcd on ${etcdUrl}`);
    procs.etcd = startProcess(
      binDir,
      "etcd",
      [
        "--name=lab",
        `--data-dir=${join(dir, "etcd")}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=lab=${peerUrl}`,
        // Throwaway data: durability is not worth the fsync latency.
        "--unsafe-no-fsync",
        "--log-level=warn",
      ],
      dir,
      detached,
    );
    state.pids.etcd = procs.etcd.child.pid ?? 0;

    log(`starting kube-apiserver on ${state.server}`);
    procs["kube-apiserver"] = startProcess(
      binDir,
      "kube-apiserver",
      [
        `--etcd-servers=${etcdUrl}`,
        `--secure-port=${securePort}`,
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        `--cert-dir=${pki}`,
        `--tls-cert-file=${join(pki, "apiserver.crt")}`,
        `--tls-private-key-file=${join(pki, "apiserver.key")}`,
        `--client-ca-file=${join(pki, "ca.crt")}`,
        "--authorization-mode=Node,RBAC",
        `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
        `--service-account-key-file=${join(pki, "sa.pub")}`,
        `--service-account-signing-key-file=${join(pki, "sa.key")}`,
        // Only allocated inside the API server: nothing routes to this range.
        "--service-cluster-ip-range=10.96.0.0/16",
        `--api-audiences=${SERVICE_ACCOUNT_ISSUER}`,
        ...(opts.apiserverArgs ?? []),
      ],
      dir,
      detached,
    );
    state.pids.kubeApiserver = procs["kube-apiserver"].child.pid ?? 0;

    await waitReady(state.server, pki, procs, deadline);
    const caPem = await readFile(join(pki, "ca.crt"), "utf8");
    await writeFile(
      state.kubeconfigPath,
      kubeconfigYaml(state.server, caPem, {
        "client-certificate-data": Buffer.from(await readFile(join(pki, "admin.crt"))).toString("base64"),
        "client-key-data": Buffer.from(await readFile(join(pki, "admin.key"))).toString("base64"),
      }),
      { mode: 0o600 },
    );
    log("applying deploy/crds");
    const cp = handle(state, caPem, detached);
    await applyCrds(cp.kubeConfig(), deadline);
    log(`ready: ${state.server}`);
    return cp;
  } catch (err) {
    await stopControlPlane(state);
    running.delete(dir);
    throw err;
  }
}

/** Where `controlplane up` records what it started: $KAO_STATE_DIR, /run, $XDG_RUNTIME_DIR or the temp dir. */
export async function stateFilePath(env: Record<string, string | undefined>): Promise<string> {
  const candidates = [
    env.KAO_STATE_DIR,
    "/run/keepalived-operator",
    env.XDG_RUNTIME_DIR === undefined ? undefined : join(env.XDG_RUNTIME_DIR, "keepalived-operator"),
    join(tmpdir(), `keepalived-operator-${process.getuid?.() ?? "user"}`),
  ];
  for (const dir of candidates) {
    if (dir === undefined || dir === "") continue;
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await access(dir, constants.W_OK);
      return join(dir, "controlplane.json");
    } catch {
      // not writable here: try the next place
    }
  }
  throw new Error("no writable directory for the control-plane state file: set KAO_STATE_DIR");
}

/** A JSON state file, or undefined when there is none; `what` and `fix` word the error for a broken one. */
export async function readJsonState<T>(path: string, what: string, fix: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${path} is not a ${what} state file: ${fix}`);
  }
}

/** The recorded control plane, or undefined when there is no state file. */
export function readState(path: string): Promise<ControlPlaneState | undefined> {
  return readJsonState(path, "control-plane", "remove it");
}

/** Both recorded processes still run the binaries we started. */
export function stateIsLive(state: ControlPlaneState): boolean {
  return runs(state.pids.etcd, "etcd") && runs(state.pids.kubeApiserver, "kube-apiserver");
}

export async function writeState(path: string, state: ControlPlaneState): Promise<void> {
  await writeFile(path, JSON.stringify(state, null, 2) + "\n", { mode: 0o600 });
}
