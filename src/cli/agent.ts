// `keepalived-operator agent`: the node agent, following its group's ConfigMap (--group) or a plan file (PlanV1)
// (--plan-file). A pure flag parser (parseAgentArgs) and a thin runner: flags → Agent + Lease + metrics.
import { readFileSync } from "node:fs";
import { Agent, type AgentOptions } from "../agent/agent.js";
import { ApiPlanSource } from "../agent/apiPlanSource.js";
import { netnsPrefix } from "../agent/command.js";
import { renderMetrics } from "../agent/metrics.js";
import { FilePlanSource, type PlanSource } from "../agent/planSource.js";
import { nodeLease } from "../agent/report.js";
import { METRICS_PORT } from "../api/names.js";
import { NodeLeaseWriter } from "../kube/nodeLease.js";
import { KubeClient, loadKubeConfig } from "../kube/rest.js";
import { jsonLogger, type Logger } from "../lib/log.js";
import { processMemoryFamilies } from "../lib/prom.js";
import { closeServer, stopSignal, type ListenAddress } from "../lib/serve.js";
import { CliError, parseFlags, parseMetricsAddress, serveMetrics, stringFlags, type Io } from "./io.js";

const HELP = `usage: keepalived-operator agent --group <namespace>/<name> --node <name> [--kubeconfig <file>]
                                 [--netns <name>] [--interface <nic>] [--state-dir <dir>]
                                 [--metrics-address <host:port>] [--peer-port <port>]
       keepalived-operator agent --plan-file <plan.json> --node <name> [--password-file <file>]
                                 [--netns <name>] [--interface <nic>] [--state-dir <dir>]
                                 [--metrics-address <host:port>]

Runs keepalived for one node of a KeepalivedGroup. With --group it follows the node's own plan ConfigMap
(<name>-<node>-<hash>, labelled keepalivedGroup=<name>; its share of the group's plan, written by the
controller) and, with passwordAuth, the group's Secret; it reports the node's VRRP states in the Lease
<name>-<node> next to the group. With --plan-file it follows a plan file instead (PlanV1, as in plan.json). Each change is rendered, checked with keepalived --config-test and loaded with
SIGHUP; a config keepalived refuses is never loaded. On SIGTERM the node hands its VIPs to its peers first.
--netns runs keepalived and every ip command in that network namespace (ip netns exec); the agent itself
stays in its own, e.g. to reach an API server on 127.0.0.1.
Without --kubeconfig: the in-cluster service account, else $KUBECONFIG / ~/.kube/config.
Metrics: http://<metrics-address>/metrics (default 0.0.0.0:${METRICS_PORT}), /healthz, /readyz.
--peer-port: the port the group's other agents serve on (the DaemonSet sets it to the metrics port). With it,
every planned move is drained: before this node gives a VIP up it drops new TCP connections to it for a
moment (nftables), so that none is open when the VIP moves; and a restarted node asks the peer holding its
instances to drain and hand them back (POST /handback) instead of taking them at once.`;

/** A node's name, a group's namespace and name: DNS labels/subdomains, which also keeps paths safe. */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const NETNS_NAME = /^[A-Za-z0-9_.-]{1,200}$/;

export type AgentSource =
  | { kind: "api"; namespace: string; group: string; kubeconfig?: string }
  | { kind: "file"; planFile: string; passwordFile?: string };

export interface AgentSettings {
  source: AgentSource;
  node: string;
  netns?: string;
  interface?: string;
  stateDir: string;
  listen: ListenAddress;
  peerPort?: number;
}

const AGENT_FLAGS = {
  ...stringFlags(
    "group",
    "plan-file",
    "kubeconfig",
    "netns",
    "node",
    "interface",
    "password-file",
    "state-dir",
    "metrics-address",
    "peer-port",
  ),
  help: "boolean",
} as const;

type Flag = (name: keyof typeof AGENT_FLAGS) => string | undefined;

/** --group or --plan-file, with the flags that belong to each. */
function parseSource(flag: Flag): AgentSource {
  const group = flag("group");
  const planFile = flag("plan-file");
  if ((group === undefined) === (planFile === undefined))
    throw new CliError(
      "give exactly one of --group <namespace>/<name> (follow the cluster) or --plan-file <plan.json>",
    );
  if (group === undefined) {
    if (flag("kubeconfig") !== undefined)
      throw new CliError("--kubeconfig is for --group only; --plan-file reads no cluster");
    const passwordFile = flag("password-file");
    return {
      kind: "file",
      planFile: planFile ?? "",
      ...(passwordFile === undefined ? {} : { passwordFile }),
    };
  }
  const [namespace, name, ...rest] = group.split("/");
  if (
    namespace === undefined ||
    name === undefined ||
    rest.length > 0 ||
    ![namespace, name].every((part) => DNS_SUBDOMAIN.test(part))
  )
    throw new CliError(
      `--group ${JSON.stringify(group)} is not <namespace>/<name> of a KeepalivedGroup; write e.g. keepalived-operator/workers`,
    );
  if (flag("password-file") !== undefined)
    throw new CliError(
      "--password-file is for --plan-file only; with --group the password comes from the group's spec.passwordAuth Secret",
    );
  const kubeconfig = flag("kubeconfig");
  return { kind: "api", namespace, group: name, ...(kubeconfig === undefined ? {} : { kubeconfig }) };
}

/** Flags and environment → settings, or a CliError naming the flag and the fix. Pure. */
export function parseAgentArgs(
  args: string[],
  env: Record<string, string | undefined>,
): AgentSettings | "help" {
  const { flags, positional, text: flag } = parseFlags(args, AGENT_FLAGS);
  if (flags.help === true) return "help";
  if (positional.length > 0) throw new CliError(`unexpected argument ${JSON.stringify(positional[0])}`);
  const source = parseSource(flag);
  const node = flag("node") ?? env.NODE_NAME;
  if (node === undefined || node === "") throw new CliError("--node <name> is required (or set NODE_NAME)");
  if (!DNS_SUBDOMAIN.test(node))
    throw new CliError(`--node ${JSON.stringify(node)} is not a Kubernetes node name (a DNS subdomain)`);
  const settings: AgentSettings = {
    source,
    node,
    stateDir: flag("state-dir") ?? "/run/keepalived-operator",
    listen: parseMetricsAddress(
      flag("metrics-address") ?? `0.0.0.0:${METRICS_PORT}`,
      `127.0.0.1:${METRICS_PORT}`,
    ),
  };
  const netns = flag("netns");
  if (netns !== undefined) {
    if (!NETNS_NAME.test(netns))
      throw new CliError(
        `--netns ${JSON.stringify(netns)} is not a network namespace name (see ip netns list)`,
      );
    settings.netns = netns;
  }
  const iface = flag("interface");
  if (iface !== undefined) settings.interface = iface;
  const peerPort = flag("peer-port");
  if (peerPort !== undefined) {
    if (!/^\d{1,5}$/.test(peerPort) || Number(peerPort) < 1 || Number(peerPort) > 65535)
      throw new CliError(`--peer-port ${JSON.stringify(peerPort)} is not a TCP port (1-65535)`);
    settings.peerPort = Number(peerPort);
  }
  return settings;
}

/** Seconds a node Lease stays valid without renewal; renewed every third of it and on every change. */
const LEASE_SECONDS = 10;

function sourceFor(
  s: AgentSettings,
  log: Logger,
): { source: PlanSource; password?: string; client?: KubeClient } {
  if (s.source.kind === "file") {
    const out: { source: PlanSource; password?: string } = { source: new FilePlanSource(s.source.planFile) };
    if (s.source.passwordFile !== undefined) {
      try {
        out.password = readFileSync(s.source.passwordFile, "utf8").replace(/\r?\n$/, "");
      } catch (err) {
        throw new CliError(
          `--password-file: cannot read ${s.source.passwordFile}: ${(err as Error).message}`,
        );
      }
    }
    return out;
  }
  let client: KubeClient;
  try {
    client = KubeClient.fromKubeConfig(loadKubeConfig(s.source.kubeconfig));
  } catch (err) {
    throw new CliError(
      `cannot load ${s.source.kubeconfig === undefined ? "the in-cluster or default kubeconfig" : `--kubeconfig ${s.source.kubeconfig}`}: ${(err as Error).message}`,
    );
  }
  return {
    source: new ApiPlanSource(
      client,
      { namespace: s.source.namespace, name: s.source.group, node: s.node },
      log,
    ),
    client,
  };
}

export async function runAgent(args: string[], io: Io): Promise<number> {
  const s = parseAgentArgs(args, io.env);
  if (s === "help") {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }
  const log = jsonLogger(io.stderr);
  const { source, password, client } = sourceFor(s, log);
  let lease: NodeLeaseWriter | undefined;
  const opts: AgentOptions = {
    node: s.node,
    stateDir: s.stateDir,
    source,
    log,
    onVrrpChange: () => lease?.changed(),
  };
  if (s.interface !== undefined) opts.interface = s.interface;
  if (password !== undefined) opts.password = password;
  if (s.netns !== undefined) opts.commandPrefix = netnsPrefix(s.netns);
  if (s.peerPort !== undefined) opts.peerPort = s.peerPort;
  const agent = new Agent(opts);
  if (client !== undefined && s.source.kind === "api") {
    const id = { namespace: s.source.namespace, group: s.source.group, node: s.node };
    lease = new NodeLeaseWriter(
      client,
      { heartbeatMs: (LEASE_SECONDS * 1000) / 3 },
      (now) => nodeLease(id, agent.vrrpReport(), now, LEASE_SECONDS),
      log.with({ node: s.node }),
    );
  }

  const server = await serveMetrics(s.listen, {
    metrics: async () => {
      await agent.sample();
      return renderMetrics(agent.metrics(), processMemoryFamilies());
    },
    notReady: () => (agent.ready() ? undefined : "keepalived is not running a validated config yet"),
    handback: (instance, remote) => agent.handback(instance, remote),
  });
  await agent.start();
  lease?.start();
  log.info("agent started", {
    node: s.node,
    source: s.source.kind === "api" ? `${s.source.namespace}/${s.source.group}` : s.source.planFile,
    netns: s.netns,
    stateDir: s.stateDir,
    metrics: s.listen.text,
  });

  const signal = await stopSignal();
  log.info("stopping", { signal });
  await agent.stop();
  // Tell the cluster this node holds nothing any more (best effort: the API server may be away).
  await lease?.stop(true);
  closeServer(server);
  log.info("stopped");
  return 0;
}
