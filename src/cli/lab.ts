// `keepalived-operator lab up|failover|down`: the walkthrough on one machine (see lab/lab.ts). Progress goes
// to stderr; what the user came for (the VIP, who answered, how long it took, what to type next) to stdout.
import { labDown, labFailover, labUp, type FailoverReport, type UpResult } from "../lab/lab.js";
import { kubeletLabDown, kubeletLabUp, type KubeletLabState } from "../lab/kubeletLab.js";
import { DEMO } from "../lab/labObjects.js";
import { CliError, parseFlags, type Io } from "./io.js";

const USAGE = "usage: keepalived-operator lab up [--kubelet] | failover [--json] | down";
const HELP = `${USAGE}
  up        (root) start the local lab, or show the one that is up: a control plane, 3 nodes and a client in
            network namespaces, the controller, one agent per node, and the walkthrough's demo Service
  up --kubelet  (root) the same on real kubelet nodes: per node containerd, kubelet and kube-proxy in its
            namespace, the Helm chart's controller Deployment, the agents as the controller's DaemonSet, and
            demo Pods reached through the VIP and kube-proxy (first run: minutes, it builds the components)
  failover  cut the link of the node holding the demo VIP while the client pings it; print the outage
  down      stop and remove everything the lab started (safe to run twice)`;

/** The lines `lab up` prints; pure, so a second `lab up` prints the same. */
export function formatUp(r: UpResult): string {
  const { state } = r;
  const demo = state.demo;
  if (demo === undefined) return "";
  const nodes = state.lab.nodes.map((n) => `${n.name} ${n.ip} (netns ${n.ns})`).join(", ");
  return [
    r.alreadyUp ? "The lab is already up." : "The lab is up.",
    `  nodes:        ${nodes}`,
    `  client:       netns ${state.lab.clientNs}`,
    "  group:        keepalived-operator/keepalivedgroup-workers (VRRP adverts every 100 ms: the Default timing)",
    `  Service:      ${DEMO.namespace}/${DEMO.name}  EXTERNAL-IP ${demo.externalIP}`,
    `  curl http://${demo.externalIP}/ from the client → answered by ${r.answeredBy}`,
    `  Service applied → EXTERNAL-IP assigned in ${demo.assignedMs} ms, first HTTP answer in ${demo.firstAnswerMs} ms`,
    "",
    "Use it:",
    `  export KUBECONFIG=${state.controlPlane.kubeconfigPath}   # the lab's admin kubeconfig`,
    ...[
      [`kubectl get svc -n ${DEMO.namespace}`, "if kubectl is installed"],
      [`ip netns exec ${state.lab.clientNs} curl http://${demo.externalIP}/`, "as the client"],
      ["npx keepalived-operator lab failover", "cut the holder's link, measure the client's outage"],
      ["npx keepalived-operator lab down", "stop and remove everything the lab started"],
    ].map(([cmd = "", why = ""]) => `  ${cmd.padEnd(54)}# ${why}`),
    `  logs: ${state.dir}/*.log`,
    "",
  ].join("\n");
}

/** The lines `lab up --kubelet` prints. */
export function formatKubeletUp(state: KubeletLabState, alreadyUp: boolean): string {
  const nodes = state.lab.nodes.map((n) => `${n.name} ${n.ip} (netns ${n.ns})`).join(", ");
  return [
    alreadyUp ? "The kubelet lab is already up." : "The kubelet lab is up.",
    `  nodes:        ${nodes}; node-1 and node-2 labelled node-role.kubernetes.io/loadbalancer`,
    `  client:       netns ${state.lab.clientNs}`,
    "  installed:    helm install keepalived-operator deploy/helm/keepalived-operator (controller Deployment)",
    `  Service:      ${DEMO.namespace}/${DEMO.name}  EXTERNAL-IP ${state.vip} → demo Pods on node-3 via kube-proxy`,
    `  curl http://${state.vip}/ from the client → ${state.answeredBy}`,
    ...Object.entries(state.timings).map(
      ([what, ms]) => `  ${(ms / 1000).toFixed(1).padStart(6)} s  ${what}`,
    ),
    "",
    "Use it:",
    `  export KUBECONFIG=${state.controlPlane.kubeconfigPath}`,
    "  kubectl get nodes,pods -A -o wide; kubectl get keepalivedgroup -A; kubectl get svc -n demo",
    `  ip netns exec ${state.lab.clientNs} curl http://${state.vip}/`,
    "  npx keepalived-operator lab down                      # stop and remove everything",
    `  logs: ${state.dir}/<node>/{containerd,kubelet,kube-proxy}.log, ${state.dir}/<node>/pod-logs/`,
    "",
  ].join("\n");
}

export function formatFailover(r: FailoverReport): string {
  return [
    `${r.vip}: ${r.from} cut off → ${r.to} took over${r.answeredBy === undefined ? "" : `; curl answered by ${r.answeredBy}`}`,
    `  client outage (longest gap between ping replies, every 10 ms): ${r.gapMs} ms`,
    `  pings lost: ${r.lost} of ${r.sent}`,
    `  new holder: ${r.to}; ${r.from}'s link restored and it holds ${r.vip} again`,
    "",
  ].join("\n");
}

export async function runLab(args: string[], io: Io): Promise<number> {
  const { flags, positional } = parseFlags(args, { json: "boolean", help: "boolean", kubelet: "boolean" });
  if (flags.help === true) {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }
  const [action, ...extra] = positional;
  if (extra.length > 0 || (action !== "up" && action !== "down" && action !== "failover"))
    throw new CliError(USAGE);
  if (flags.json === true && action !== "failover") throw new CliError("--json is for lab failover only");
  if (flags.kubelet === true && action !== "up") throw new CliError("--kubelet is for lab up only");
  if (process.getuid?.() !== 0)
    throw new CliError("the lab needs root: it creates network namespaces and runs keepalived");
  const log = (line: string): void => {
    io.stderr.write(`${line}\n`);
  };
  const fail = (what: string, err: unknown): CliError =>
    new CliError(`${what}: ${err instanceof Error ? err.message : String(err)}`, 1);
  if (action === "up" && flags.kubelet === true) {
    const { state, alreadyUp } = await kubeletLabUp(io.env, log).catch((err: unknown) => {
      throw fail("the kubelet lab did not come up", err);
    });
    io.stdout.write(formatKubeletUp(state, alreadyUp));
    return 0;
  }
  if (action === "up") {
    const result = await labUp(io.env, log).catch((err: unknown) => {
      throw fail("the lab did not come up", err);
    });
    io.stdout.write(formatUp(result));
    return 0;
  }
  if (action === "down") {
    const removed = await labDown(io.env, log).catch((err: unknown) => {
      throw fail("could not remove the lab", err);
    });
    removed.push(
      ...(await kubeletLabDown(io.env, log).catch((err: unknown) => {
        throw fail("could not remove the kubelet lab", err);
      })),
    );
    if (removed.length === 0) io.stdout.write("no lab to remove: nothing left behind\n");
    else io.stdout.write(`The lab is down: removed ${removed.length} things (listed above).\n`);
    return 0;
  }
  const report = await labFailover(io.env, log).catch((err: unknown) => {
    throw fail("failover", err);
  });
  io.stdout.write(flags.json === true ? `${JSON.stringify(report)}\n` : formatFailover(report));
  return 0;
}
