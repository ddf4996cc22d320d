// One kubelet node of the lab: a node network namespace (netns.ts) plus a private mount namespace held by a
// `sleep` process, in which the node's containerd, kubelet and kube-proxy run. The mount namespace shows the
// kubelet the kernel settings it insists on (vm.overcommit_memory=1, kernel.panic=10, kernel.panic_on_oops=1)
// as files bound over /proc/sys, so it never writes the host's (protectKernelDefaults), and it keeps the Pods'
// volume and overlay mounts out of the host's mount table: they vanish with the node's last process.
import { execFile, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { cgroupProcsFile, createCgroup } from "./kubeletCgroups.js";
import {
  cniConflist,
  containerdPaths,
  containerdToml,
  kubeletConfigYaml,
  kubeProxyConfigYaml,
  nodePodCidr,
  SERVICE_CIDR,
  type NodePaths,
} from "./kubeletConfig.js";
import { ip, NODE_IFACE, NODE_IP, type LabNode } from "./netns.js";
import { isAlive, spawnLogged, tail } from "./processes.js";
import { waitFor } from "./wait.js";

const execFileP = promisify(execFile);

/** Kernel settings the kubelet checks (protectKernelDefaults), shown to it inside the node's mount namespace. */
const KERNEL_DEFAULTS: Record<string, string> = {
  "vm/overcommit_memory": "1",
  "vm/panic_on_oom": "0",
  "kernel/panic": "10",
  "kernel/panic_on_oops": "1",
  "kernel/keys/root_maxkeys": "1000000",
  "kernel/keys/root_maxbytes": "25000000",
};

export interface NodeSpec {
  index: number;
  node: LabNode;
  /** How many nodes the cluster has (for the routes to the other nodes' Pod ranges). */
  count: number;
  paths: NodePaths;
  binDir: string;
  /** A kubeconfig for the kubelet and kube-proxy (the API server on the bridge address). */
  kubeconfig: string;
  caFile: string;
  /** "<reference> <archive>" images to import into the node's containerd, and extra tags ("<from> <to>"). */
  images: { ref: string; archive: string; alsoAs?: string[] }[];
  detached: boolean;
}

export interface NodeProcess {
  role: string;
  pid: number;
  log: string;
}

/** Starts `cmd` inside the node (its mount and network namespaces) and in the node's daemons cgroup. */
function spawnInNode(spec: NodeSpec, holder: number, cmd: string, args: string[], log: string): ChildProcess {
  const procs = cgroupProcsFile(`${spec.paths.cgroup}/daemons`);
  return spawnLogged(
    "nsenter",
    ["-t", String(holder), "-m", "-n", "sh", "-c", 'echo $$ > "$0" && exec "$@"', procs, cmd, ...args],
    log,
    spec.detached,
  );
}

function started(role: string, child: ChildProcess, log: string): NodeProcess {
  if (child.pid === undefined) throw new Error(`could not start ${role}: ${tail(log, 10)}`);
  return { role, pid: child.pid, log };
}

/** The `sleep` that holds the node's mount namespace, after it has bound the kernel settings over /proc/sys. */
async function startHolder(spec: NodeSpec): Promise<NodeProcess> {
  const dir = join(spec.paths.dir, "sysctl");
  await mkdir(dir, { recursive: true });
  const binds: string[] = [];
  for (const [key, value] of Object.entries(KERNEL_DEFAULTS)) {
    const file = join(dir, key.replaceAll("/", "."));
    await writeFile(file, `${value}\n`);
    binds.push(`mount --bind ${file} /proc/sys/${key}`);
  }
  // Paths the runtime and the kubelet use whatever they are told (runc's state, the container log links):
  // the node's own directories take their place.
  const own: [string, string][] = [
    ["/run/containerd", "run-containerd"],
    ["/var/log/containers", "container-logs"],
    ["/var/lib/kubelet", "var-lib-kubelet"],
  ];
  for (const [target, mine] of own) {
    await mkdir(target, { recursive: true });
    await mkdir(join(spec.paths.dir, mine), { recursive: true });
    binds.push(`mount --bind ${join(spec.paths.dir, mine)} ${target}`);
  }
  const procs = cgroupProcsFile(`${spec.paths.cgroup}/daemons`);
  const script = [`echo $$ > ${procs}`, ...binds, "exec sleep infinity"].join(" && ");
  const log = join(spec.paths.dir, "holder.log");
  const child = spawnLogged(
    "nsenter",
    [
      `--net=/run/netns/${spec.node.ns}`,
      "unshare",
      "--mount",
      "--propagation",
      "private",
      "--",
      "sh",
      "-c",
      script,
    ],
    log,
    spec.detached,
  );
  const holder = started("holder", child, log);
  await waitFor(`the mount namespace of ${spec.node.name}`, () => {
    if (!isAlive(holder.pid))
      throw new Error(`${spec.node.name}'s namespace holder exited: ${tail(log, 10)}`);
    const cmd = readFileSync(`/proc/${holder.pid}/cmdline`, "utf8");
    return Promise.resolve(cmd.startsWith("sleep\0") ? true : undefined);
  });
  return holder;
}

/** Routes to the other nodes' Pod ranges, and forwarding on, inside the node's own network namespace. */
async function nodeRoutes(spec: NodeSpec): Promise<void> {
  await execFileP("ip", ["netns", "exec", spec.node.ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  // Host-network Pods (the agents) dial the `kubernetes` ClusterIP: the kernel routes a local packet before
  // kube-proxy's DNAT, so without a route to the Service range it fails with ENETUNREACH.
  await ip("-n", spec.node.ns, "route", "replace", SERVICE_CIDR, "dev", NODE_IFACE);
  for (let j = 0; j < spec.count; j++) {
    if (j !== spec.index) await ip("-n", spec.node.ns, "route", "replace", nodePodCidr(j), "via", NODE_IP(j));
  }
}

async function ctr(socket: string, args: string[]): Promise<string> {
  const { stdout } = await execFileP("ctr", ["-a", socket, "-n", "k8s.io", ...args], { maxBuffer: 16 << 20 });
  return stdout;
}

/** containerd, then the images: the Pod sandbox, the demo and the operator's, under the manifests' names. */
async function startContainerd(spec: NodeSpec, holder: number): Promise<NodeProcess> {
  const c = containerdPaths(spec.paths.dir);
  await mkdir(c.cniConf, { recursive: true });
  await writeFile(join(c.cniConf, "10-kaolab.conflist"), cniConflist(spec.index, spec.paths.dir));
  const toml = join(spec.paths.dir, "containerd.toml");
  await writeFile(toml, containerdToml(spec.paths));
  const log = join(spec.paths.dir, "containerd.log");
  const p = started("containerd", spawnInNode(spec, holder, "containerd", ["--config", toml], log), log);
  await waitFor(`${spec.node.name}'s containerd at ${spec.paths.containerdSocket}`, async () => {
    if (!isAlive(p.pid)) throw new Error(`${spec.node.name}'s containerd exited: ${tail(log, 15)}`);
    if (!existsSync(spec.paths.containerdSocket)) return undefined;
    return ctr(spec.paths.containerdSocket, ["version"]).then(
      () => true,
      () => undefined,
    );
  });
  for (const image of spec.images) {
    await ctr(spec.paths.containerdSocket, ["images", "import", image.archive]);
    for (const to of image.alsoAs ?? []) {
      await ctr(spec.paths.containerdSocket, ["images", "tag", "--force", image.ref, to]);
    }
  }
  return p;
}

/** Starts the node: namespace holder, containerd (with the images), kubelet and kube-proxy. */
export async function startNode(spec: NodeSpec): Promise<NodeProcess[]> {
  const { node, paths, binDir } = spec;
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  createCgroup(`${paths.cgroup}/daemons`);
  createCgroup(`${paths.cgroup}/pods`);
  await nodeRoutes(spec);
  const holder = await startHolder(spec);
  const containerd = await startContainerd(spec, holder.pid);
  const kubeletYaml = join(paths.dir, "kubelet.yaml");
  await writeFile(kubeletYaml, kubeletConfigYaml(paths, node.ip, spec.caFile));
  const kubeletLog = join(paths.dir, "kubelet.log");
  const kubeletArgs = [
    ...["--config", kubeletYaml, "--kubeconfig", spec.kubeconfig],
    ...[
      "--root-dir",
      join(paths.dir, "kubelet"),
      "--hostname-override",
      node.name,
      "--node-ip",
      node.ip,
      "--v=1",
    ],
  ];
  const kubelet = started(
    "kubelet",
    spawnInNode(spec, holder.pid, join(binDir, "kubelet"), kubeletArgs, kubeletLog),
    kubeletLog,
  );
  const proxyYaml = join(paths.dir, "kube-proxy.yaml");
  await writeFile(proxyYaml, kubeProxyConfigYaml(spec.kubeconfig, node.name));
  const proxyLog = join(paths.dir, "kube-proxy.log");
  const proxy = started(
    "kube-proxy",
    spawnInNode(spec, holder.pid, join(binDir, "kube-proxy"), ["--config", proxyYaml, "--v=1"], proxyLog),
    proxyLog,
  );
  return [holder, containerd, kubelet, proxy];
}
