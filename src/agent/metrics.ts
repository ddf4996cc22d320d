// The agent's metrics as Prometheus families (written by lib/prom.ts). Names of the Go operator's exporter
// are kept so existing dashboards work; ours start with keepalived_operator_. Pure.
import { Histogram, renderFamilies, type MetricFamily, type Sample } from "../lib/prom.js";
import type { InstanceStats } from "./stats.js";

export { Histogram } from "../lib/prom.js";

/** Failover durations: around the Fast profile (~0.35 s) and the default one (~3.6 s). */
export const FAILOVER_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 10, 30];

export interface VipState {
  vip: string;
  instance: string;
  /** 0 init, 1 backup, 2 master, 3 fault. */
  state: number;
}

export interface AgentMetrics {
  keepalivedUp: boolean;
  instances: InstanceStats[];
  vipStates: VipState[];
  configReloads: number;
  configRejected: number;
  /** The desired config could not be read (ConfigMap or Secret missing or unparseable). */
  planReadErrors: number;
  /** This node's instances of the current plan that keepalived refuses (the others run). */
  refusedInstances: number;
  failover: Histogram;
}

/** keepalived's own counters, one series per VRRP instance. */
const INSTANCE_COUNTERS: [name: string, help: string, pick: (s: InstanceStats) => number][] = [
  ["keepalived_advertisements_received_total", "VRRP advertisements received.", (s) => s.advertRcvd],
  ["keepalived_advertisements_sent_total", "VRRP advertisements sent.", (s) => s.advertSent],
  ["keepalived_become_master_total", "Times the instance became MASTER.", (s) => s.becomeMaster],
  ["keepalived_release_master_total", "Times the instance left MASTER.", (s) => s.releaseMaster],
];

const instanceLabels = (s: InstanceStats): Sample["labels"] => ({
  iname: s.iname,
  intf: s.intf,
  vrid: s.vrid,
});

const single = (value: number): Sample[] => [{ labels: {}, value }];

function vrrpStates(instances: InstanceStats[]): Sample[] {
  return instances.flatMap((s) =>
    [...s.vips].sort().map((ip) => ({ labels: { ...instanceLabels(s), ip_address: ip }, value: s.state })),
  );
}

function vipStates(states: VipState[]): Sample[] {
  return [...states]
    .sort((a, b) => (a.vip < b.vip ? -1 : a.vip > b.vip ? 1 : 0))
    .map((v) => ({ labels: { vip: v.vip, instance: v.instance }, value: v.state }));
}

/** The agent's families, then `processFamilies` (the process's memory, read by the caller: this stays pure). */
export function renderMetrics(m: AgentMetrics, processFamilies: readonly MetricFamily[] = []): string {
  const families: MetricFamily[] = [
    {
      name: "keepalived_up",
      type: "gauge",
      help: "Whether keepalived is running and answered the last stats request.",
      samples: single(m.keepalivedUp ? 1 : 0),
    },
    {
      name: "keepalived_vrrp_state",
      type: "gauge",
      help: "State of each VRRP instance and VIP (0 init, 1 backup, 2 master, 3 fault).",
      samples: vrrpStates(m.instances),
    },
    ...INSTANCE_COUNTERS.map(([name, help, pick]): MetricFamily => ({
      name,
      type: "counter",
      help,
      samples: m.instances.map((s) => ({ labels: instanceLabels(s), value: pick(s) })),
    })),
    {
      name: "keepalived_operator_vip_state",
      type: "gauge",
      help: "State of each VIP on this node as reported by keepalived's notify FIFO (0 init, 1 backup, 2 master, 3 fault).",
      samples: vipStates(m.vipStates),
    },
    {
      name: "keepalived_operator_config_reloads_total",
      type: "counter",
      help: "Validated configurations written and loaded into keepalived.",
      samples: single(m.configReloads),
    },
    {
      name: "keepalived_operator_config_rejected_total",
      type: "counter",
      help: "Configurations refused by the renderer or by keepalived --config-test; the last good one kept running.",
      samples: single(m.configRejected),
    },
    {
      name: "keepalived_operator_refused_instances",
      type: "gauge",
      help: "VRRP instances of this node that keepalived --config-test refuses and that are left out of its config; the node's other instances run.",
      samples: single(m.refusedInstances),
    },
    {
      name: "keepalived_operator_plan_read_errors_total",
      type: "counter",
      help: "Times the desired config could not be read (plan ConfigMap or password Secret missing or unparseable); the last good one kept running.",
      samples: single(m.planReadErrors),
    },
    {
      name: "keepalived_operator_failover_seconds",
      type: "histogram",
      help: "Time from the last sign of a live peer MASTER to this node becoming MASTER.",
      samples: m.failover.samples(),
    },
    ...processFamilies,
  ];
  return renderFamilies(families);
}
