// A real multi-node cluster on one machine: the lab's network namespaces (netns.ts), the local control plane
// (controlplane.ts) reachable from the nodes on the bridge address through two forwarders (apiForward.ts),
// kube-controller-manager and kube-scheduler, and per node containerd, kubelet and kube-proxy (kubeletNode.ts).
// Every process but the API server and etcd lives in one cgroup tree, which stop() empties and removes.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { KubeClient, loadKubeConfig } from "../kube/rest.js";
import { startControlPlane, type ControlPlane } from "./controlplane.js";
import { kubeconfigYaml } from "./credentials.js";
import {
  cgroupProcsFile,
  createCgroup,
  killCgroupSync,
  removeCgroup,
  removeCgroupDirsSync,
  staleCgroups,
} from "./kubeletCgroups.js";
import { API_ADDRESS, KUBERNETES_SERVICE_IP, POD_CIDR, SERVICE_CIDR } from "./kubeletConfig.js";
import { startNode, type NodeProcess } from "./kubeletNode.js";
import { createLab, ip, type Lab } from "./netns.js";
import { freePort, repoRoot, spawnLogged, tail } from "./processes.js";
import { waitFor } from "./wait.js";

const execFileP = promisify(execFile);

export interface ClusterImage {
  ref: string;
  archive: string;
  alsoAs?: string[];
}

/** What scripts/setup.sh kubelet prints: the components' directory and the images' archives. */
export interface ClusterPrereqs {
  binDir: string;
  helm: string;
  images: ClusterImage[];
}

export interface KubeletClusterOptions {
  nodes?: number;
  /** Namespace and cgroup prefix; default kao<pid>-<n>- (removed on exit, like netns.ts test labs). */
  prefix?: string;
  /** Processes outlive this Node.js process (`lab up --kubelet`). */
  detached?: boolean;
  log?: (line: string) => void;
}

export interface KubeletCluster {
  lab: Lab;
  cp: ControlPlane;
  /** The cgroup tree (below each hierarchy's root) holding every process of the cluster but the API server. */
  cgroup: string;
  dir: string;
  processes: NodeProcess[];
  client(): KubeClient;
  stop(): Promise<void>;
}

/** Installs and builds what the cluster needs (scripts/setup.sh kubelet; quick when done before). */
export async function clusterPrereqs(log: (line: string) => void = () => undefined): Promise<ClusterPrereqs> {
  const script = join(repoRoot(), "scripts", "setup.sh");
  const { stdout, stderr } = await execFileP("bash", [script, "kubelet"], {
    maxBuffer: 64 << 20,
    timeout: 30 * 60_000,
  });
  for (const line of stderr.split("\n").filter((l) => l !== "")) log(line);
  const lines = stdout.split("\n").map((l) => l.trim().split(/\s+/));
  const binDir = lines.find((l) => l[0] === "cluster-bin")?.[1];
  const helm = lines.find((l) => l[0] === "helm")?.[1];
  const images = lines
    .filter((l) => l[0] === "image" && l.length === 3)
    .map(([, ref = "", archive = ""]): ClusterImage => ({ ref, archive }));
  if (binDir === undefined || helm === undefined || images.length < 3) {
    throw new Error(`${script} kubelet printed no cluster-bin, helm and image lines:\n${stdout}\n${stderr}`);
  }
  // The manifests name the operator's image :latest (the chart's default tag, the agents' default image).
  for (const image of images) {
    if (image.ref.includes("/keepalived-operator-ts:"))
      image.alsoAs = [image.ref.replace(/:[^:/]+$/, ":latest")];
  }
  return { binDir, helm, images };
}

/** Starts a host process in the cluster's control cgroup. */
function spawnInCgroup(cgroup: string, cmd: string[], log: string, detached: boolean): number {
  const procs = cgroupProcsFile(`${cgroup}/cp`);
  const child = spawnLogged("sh", ["-c", 'echo $$ > "$0" && exec "$@"', procs, ...cmd], log, detached);
  if (child.pid === undefined) throw new Error(`could not start ${cmd.join(" ")}`);
  return child.pid;
}

/** The API server on the bridge: switch namespace TCP → Unix socket → host loopback. */
async function startForwarders(
  c: { lab: Lab; cp: ControlPlane; cgroup: string; dir: string },
  detached: boolean,
) {
  const script = join(repoRoot(), "dist", "src", "lab", "apiForward.js");
  const port = new URL(c.cp.server).port;
  const sock = join(c.dir, "apiserver.sock");
  spawnInCgroup(
    c.cgroup,
    [process.execPath, script, `unix:${sock}`, `tcp:127.0.0.1:${port}`],
    join(c.dir, "forward-host.log"),
    detached,
  );
  await waitFor("the API forwarder's socket", () => Promise.resolve(existsSync(sock) ? true : undefined));
  await ip("-n", c.lab.switchNs, "addr", "add", `${API_ADDRESS}/24`, "dev", "br0");
  spawnInCgroup(
    c.cgroup,
    [
      "ip",
      "netns",
      "exec",
      c.lab.switchNs,
      process.execPath,
      script,
      `tcp:${API_ADDRESS}:${port}`,
      `unix:${sock}`,
    ],
    join(c.dir, "forward-bridge.log"),
    detached,
  );
  return `https://${API_ADDRESS}:${port}`;
}

/** kube-controller-manager and kube-scheduler on the host, with the admin's kubeconfig. */
async function startControllers(
  c: { cp: ControlPlane; cgroup: string; dir: string },
  binDir: string,
  detached: boolean,
) {
  const pki = join(c.cp.dir, "pki");
  const kcm = [
    join(binDir, "kube-controller-manager"),
    ...[`--kubeconfig=${c.cp.kubeconfigPath}`, "--leader-elect=false", "--bind-address=127.0.0.1"],
    ...[`--secure-port=${await freePort()}`, `--root-ca-file=${join(pki, "ca.crt")}`],
    ...[
      `--service-account-private-key-file=${join(pki, "sa.key")}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
    ],
    ...[
      `--cluster-cidr=${POD_CIDR}`,
      "--allocate-node-cidrs=false",
      "--use-service-account-credentials=false",
    ],
    "--controllers=*",
  ];
  spawnInCgroup(c.cgroup, kcm, join(c.dir, "kube-controller-manager.log"), detached);
  const scheduler = [
    join(binDir, "kube-scheduler"),
    ...[`--kubeconfig=${c.cp.kubeconfigPath}`, "--leader-elect=false", "--bind-address=127.0.0.1"],
    `--secure-port=${await freePort()}`,
  ];
  spawnInCgroup(c.cgroup, scheduler, join(c.dir, "kube-scheduler.log"), detached);
}

/** The kubelets' and kube-proxies' kubeconfig: the admin's certificate, the API server on the bridge. */
async function nodeKubeconfig(cp: ControlPlane, server: string, path: string): Promise<void> {
  const pki = join(cp.dir, "pki");
  const b64 = (file: string): string => readFileSync(join(pki, file)).toString("base64");
  await writeFile(
    path,
    kubeconfigYaml(server, cp.caPem, {
      "client-certificate-data": b64("admin.crt"),
      "client-key-data": b64("admin.key"),
    }),
    { mode: 0o600 },
  );
}

interface NodeCondition {
  type: string;
  status: string;
  message?: string;
}

/** Waits until every node has registered and reports Ready. */
async function waitNodesReady(client: KubeClient, names: string[], c: KubeletCluster): Promise<void> {
  let last = "";
  await waitFor(
    `nodes ${names.join(", ")} to be Ready`,
    async () => {
      const list = await client.request<{
        items: { metadata: { name: string }; status?: { conditions?: NodeCondition[] } }[];
      }>("GET", "/api/v1/nodes");
      const ready = list.items.filter((n) =>
        n.status?.conditions?.some((x) => x.type === "Ready" && x.status === "True"),
      );
      last = list.items
        .map(
          (n) =>
            `${n.metadata.name}: ${n.status?.conditions?.find((x) => x.type === "Ready")?.message ?? "?"}`,
        )
        .join("; ");
      return names.every((n) => ready.some((r) => r.metadata.name === n)) ? true : undefined;
    },
    180_000,
    500,
  ).catch((err: unknown) => {
    const logs = c.lab.nodes.map((n) => `${n.name} kubelet: ${tail(join(c.dir, n.name, "kubelet.log"), 8)}`);
    throw new Error(`${String(err)}; last: ${last}\n${logs.join("\n")}`);
  });
}

/** Copies the cluster's logs (every *.log below `dir`) to `to`, when set (KAO_KEEP_LOGS), before removal. */
async function keepLogs(dir: string, to: string | undefined): Promise<void> {
  if (to === undefined || to === "" || !existsSync(dir)) return;
  await mkdir(to, { recursive: true });
  await execFileP("sh", [
    "-c",
    'cd "$0" && find . -maxdepth 6 -name "*.log" -exec cp --parents {} "$1" \\; || true',
    dir,
    to,
  ]);
}

/** Starts the cluster; on failure everything started is removed again. */
export async function startKubeletCluster(
  prereqs: ClusterPrereqs,
  opts: KubeletClusterOptions = {},
): Promise<KubeletCluster> {
  const log = opts.log ?? (() => undefined);
  const detached = opts.detached ?? false;
  for (const stale of staleCgroups()) await removeCgroup(stale);
  const lab = await createLab(opts.nodes ?? 3, opts.prefix === undefined ? {} : { prefix: opts.prefix });
  const cgroup = `/${lab.prefix}k8s`;
  const dir = join(lab.dir, "k8s");
  let cp: ControlPlane | undefined;
  const stop = async (): Promise<void> => {
    await removeCgroup(cgroup);
    await keepLogs(dir, process.env.KAO_KEEP_LOGS);
    await lab.cleanup();
    await cp?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  if (!detached) {
    process.on("exit", () => {
      killCgroupSync(cgroup);
      removeCgroupDirsSync(cgroup);
    });
  }
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    createCgroup(`${cgroup}/cp`);
    log("starting the control plane");
    const plane = await startControlPlane({
      detached,
      apiserverIPs: [API_ADDRESS, KUBERNETES_SERVICE_IP],
      apiserverArgs: [`--advertise-address=${API_ADDRESS}`, `--service-cluster-ip-range=${SERVICE_CIDR}`],
      log,
    });
    cp = plane;
    const c: KubeletCluster = { lab, cp, cgroup, dir, processes: [], client: () => plane.client(), stop };
    const server = await startForwarders(c, detached);
    await startControllers(c, prereqs.binDir, detached);
    const kubeconfig = join(dir, "node.kubeconfig");
    await nodeKubeconfig(cp, server, kubeconfig);
    log(`starting ${lab.nodes.length} nodes (containerd, kubelet, kube-proxy)`);
    const started = await Promise.all(
      lab.nodes.map((node, index) =>
        startNode({
          index,
          node,
          count: lab.nodes.length,
          paths: {
            dir: join(dir, node.name),
            containerdSocket: join(dir, node.name, "containerd.sock"),
            cgroup: `${cgroup}/${node.name}`,
          },
          binDir: prereqs.binDir,
          kubeconfig,
          caFile: join(plane.dir, "pki", "ca.crt"),
          images: prereqs.images,
          detached,
        }),
      ),
    );
    c.processes = started.flat();
    await waitNodesReady(
      c.client(),
      lab.nodes.map((n) => n.name),
      c,
    );
    return c;
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** A client for the cluster's admin kubeconfig. */
export function adminClient(kubeconfigPath: string): KubeClient {
  return KubeClient.fromKubeConfig(loadKubeConfig(kubeconfigPath));
}
