// The kubelet lab's addresses and the configuration files of each node's containerd, CNI, kubelet and kube-proxy.
// Pure: paths in, file contents out. Every address is inside 198.18.0.0/15: the lab's bridge is 198.18.0.0/24,
// Pods get 198.19.0.0/17 (node i: 198.19.<i>.0/24), Services 198.19.128.0/20.
import { stringify } from "yaml";

/** The API server as the nodes reach it: an address on the lab bridge (the switch namespace's br0). */
export const API_ADDRESS = "198.18.0.1";
export const POD_CIDR = "198.19.0.0/17";
export const SERVICE_CIDR = "198.19.128.0/20";
/** The `kubernetes` Service's ClusterIP (the first of SERVICE_CIDR): in-cluster clients dial it. */
export const KUBERNETES_SERVICE_IP = "198.19.128.1";
/** The Pod sandbox image, loaded from images/lab-images.sh: no registry is ever contacted. */
export const PAUSE_IMAGE = "kao.local/pause:1";
export const DEMO_IMAGE = "kao.local/demo-http:1";

/** Node i's (0-based) Pod range. */
export function nodePodCidr(i: number): string {
  return `198.19.${i + 1}.0/24`;
}

/** Where one node keeps its state: all under its own directory. */
export interface NodePaths {
  dir: string;
  containerdSocket: string;
  /** The node's cgroup below every v1 hierarchy's root, e.g. /kao123-1-k8s/n1. */
  cgroup: string;
}

export const containerdPaths = (dir: string): { root: string; state: string; cniConf: string } => ({
  root: `${dir}/containerd/root`,
  state: `${dir}/containerd/state`,
  cniConf: `${dir}/cni/net.d`,
});

/** containerd 1.6 (config version 2): its own root, state, socket and CNI configuration; CRI with runc. */
export function containerdToml(p: NodePaths): string {
  const c = containerdPaths(p.dir);
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  const snapshotters = ["btrfs", "zfs", "devmapper", "aufs"].map(
    (s) => `"io.containerd.snapshotter.v1.${s}"`,
  );
  return [
    "version = 2",
    `root = "${c.root}"`,
    `state = "${c.state}"`,
    `disabled_plugins = [${[...snapshotters, '"io.containerd.internal.v1.tracing"'].join(", ")}]`,
    "[grpc]",
    `  address = "${p.containerdSocket}"`,
    "[ttrpc]",
    '  address = ""',
    "[debug]",
    '  address = ""',
    "[metrics]",
    '  address = ""',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${p.dir}/containerd/opt"`,
    `[${cri}]`,
    `  sandbox_image = "${PAUSE_IMAGE}"`,
    '  stream_server_address = "127.0.0.1"',
    "  netns_mounts_under_state_dir = true",
    // Without CAP_SYS_RESOURCE (this sandbox's bounding set lacks it) runc cannot lower oom_score_adj to the
    // kubelet's -998 for Pod sandboxes: "nsexec: failed to update /proc/self/oom_score_adj: Permission denied".
    // Clamp it to containerd's own instead.
    "  restrict_oom_score_adj = true",
    // Pods of a non-root user may listen on port 80 (a sysctl of the Pod's own network namespace).
    "  enable_unprivileged_ports = true",
    `[${cri}.containerd]`,
    '  snapshotter = "overlayfs"',
    '  default_runtime_name = "runc"',
    `[${cri}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `[${cri}.containerd.runtimes.runc.options]`,
    "  SystemdCgroup = false",
    `[${cri}.cni]`,
    '  bin_dir = "/usr/lib/cni"',
    `  conf_dir = "${c.cniConf}"`,
    "",
  ].join("\n");
}

/** The node's Pod network: a bridge (cni0) with host-local addresses from the node's range, masqueraded out. */
export function cniConflist(nodeIndex: number, dir: string): string {
  return (
    JSON.stringify(
      {
        cniVersion: "1.0.0",
        name: "kaolab",
        plugins: [
          {
            type: "bridge",
            bridge: "cni0",
            isGateway: true,
            ipMasq: true,
            hairpinMode: true,
            ipam: {
              type: "host-local",
              ranges: [[{ subnet: nodePodCidr(nodeIndex) }]],
              routes: [{ dst: "0.0.0.0/0" }],
              dataDir: `${dir}/cni/ipam`,
            },
          },
          { type: "portmap", capabilities: { portMappings: true } },
        ],
      },
      null,
      2,
    ) + "\n"
  );
}

/**
 * The kubelet: cgroup v1 allowed (failCgroupV1: false), its own cgroup root, and protectKernelDefaults so it
 * never writes the host's kernel settings (the node's mount namespace shows it the values it expects).
 */
export function kubeletConfigYaml(p: NodePaths, nodeIp: string, caFile: string): string {
  return stringify({
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    failCgroupV1: false,
    cgroupDriver: "cgroupfs",
    cgroupRoot: `${p.cgroup}/pods`,
    cgroupsPerQOS: true,
    containerRuntimeEndpoint: `unix://${p.containerdSocket}`,
    address: nodeIp,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: false },
      x509: { clientCAFile: caFile },
    },
    authorization: { mode: "AlwaysAllow" },
    protectKernelDefaults: true,
    failSwapOn: false,
    podLogsDir: `${p.dir}/pod-logs`,
    resolvConf: "",
    clusterDomain: "cluster.local",
    registerNode: true,
    // Three kubelets share one disk: never evict the lab's Pods for the machine's disk use.
    evictionHard: { "memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%" },
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    serializeImagePulls: false,
  });
}

/** kube-proxy in iptables mode; conntrack left as it is (those settings are the host's, not the node's). */
export function kubeProxyConfigYaml(kubeconfig: string, nodeName: string): string {
  return stringify({
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    clientConnection: { kubeconfig },
    hostnameOverride: nodeName,
    bindAddress: "0.0.0.0",
    healthzBindAddress: "127.0.0.1:10256",
    metricsBindAddress: "127.0.0.1:10249",
    mode: "iptables",
    clusterCIDR: POD_CIDR,
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
    // Lowering its own oom_score_adj needs CAP_SYS_RESOURCE, which the lab may not have.
    oomScoreAdj: 0,
  });
}
