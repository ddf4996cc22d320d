// `keepalived-operator lab up|failover|down`: the walkthrough on one machine (see lab/lab.ts). Progress goes
// to stderr; what the user came for (the VIP, who answered, how long it took, what to type next) to stdout.
import { labDown, labFailover, labUp, type FailoverReport, type UpResult } from "../lab/lab.js";
import { DEMO } from "../lab/labObjects.js";
import { CliError, parseFlags, type Io } from "./io.js";

const USAGE = "usage: keepalived-operator lab up | failover [--json] | down";
const HELP = `${USAGE}
  up        (root) start the local lab, or show the one that is up: a control plane, 3 nodes and a client in
            network namespaces, the controller, one agent per node, and the walkthrough's demo Service
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
  const { flags, positional } = parseFlags(args, { json: "boolean", help: "boolean" });
  if (flags.help === true) {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }
  const [action, ...extra] = positional;
  if (extra.length > 0 || (action !== "up" && action !== "down" && action !== "failover"))
    throw new CliError(USAGE);
  if (flags.json === true && action !== "failover") throw new CliError("--json is for lab failover only");
  if (process.getuid?.() !== 0)
    throw new CliError("the lab needs root: it creates network namespaces and runs keepalived");
  const log = (line: string): void => {
    io.stderr.write(`${line}\n`);
  };
  const fail = (what: string, err: unknown): CliError =>
    new CliError(`${what}: ${err instanceof Error ? err.message : String(err)}`, 1);
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
