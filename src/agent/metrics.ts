// The agent's metrics in Prometheus text format (0.0.4), written by hand. Names of the Go operator's
// exporter are kept so existing dashboards work; ours start with keepalived_operator_. Pure.
import type { InstanceStats } from "./stats.js";

/** Failover durations: around the Fast profile (~0.35 s) and the default one (~3.6 s). */
export const FAILOVER_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 10, 30];

export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    this.buckets.forEach((le, i) => {
      if (value <= le) this.counts[i] = (this.counts[i] ?? 0) + 1;
    });
  }
}

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
  failover: Histogram;
}

function escapeLabel(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function labels(pairs: Record<string, string | number>): string {
  const body = Object.entries(pairs)
    .map(([k, v]) => `${k}="${escapeLabel(String(v))}"`)
    .join(",");
  return body === "" ? "" : `{${body}}`;
}

function formatNumber(v: number): string {
  return Number.isFinite(v) ? String(v) : v > 0 ? "+Inf" : v < 0 ? "-Inf" : "NaN";
}

export function renderMetrics(m: AgentMetrics): string {
  const out: string[] = [];
  const family = (
    name: string,
    type: string,
    help: string,
    samples: [Record<string, string | number>, number][],
  ): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [l, v] of samples) out.push(`${name}${labels(l)} ${formatNumber(v)}`);
  };
  const perInstance = (pick: (s: InstanceStats) => number): [Record<string, string | number>, number][] =>
    m.instances.map((s) => [{ iname: s.iname, intf: s.intf, vrid: s.vrid }, pick(s)]);

  family("keepalived_up", "gauge", "Whether keepalived is running and answered the last stats request.", [
    [{}, m.keepalivedUp ? 1 : 0],
  ]);
  family(
    "keepalived_vrrp_state",
    "gauge",
    "State of each VRRP instance and VIP (0 init, 1 backup, 2 master, 3 fault).",
    m.instances.flatMap((s) =>
      [...s.vips]
        .sort()
        .map((ip): [Record<string, string | number>, number] => [
          { iname: s.iname, intf: s.intf, vrid: s.vrid, ip_address: ip },
          s.state,
        ]),
    ),
  );
  family(
    "keepalived_advertisements_received_total",
    "counter",
    "VRRP advertisements received.",
    perInstance((s) => s.advertRcvd),
  );
  family(
    "keepalived_advertisements_sent_total",
    "counter",
    "VRRP advertisements sent.",
    perInstance((s) => s.advertSent),
  );
  family(
    "keepalived_become_master_total",
    "counter",
    "Times the instance became MASTER.",
    perInstance((s) => s.becomeMaster),
  );
  family(
    "keepalived_release_master_total",
    "counter",
    "Times the instance left MASTER.",
    perInstance((s) => s.releaseMaster),
  );
  family(
    "keepalived_operator_vip_state",
    "gauge",
    "State of each VIP on this node as reported by keepalived's notify FIFO (0 init, 1 backup, 2 master, 3 fault).",
    [...m.vipStates]
      .sort((a, b) => (a.vip < b.vip ? -1 : a.vip > b.vip ? 1 : 0))
      .map((v) => [{ vip: v.vip, instance: v.instance }, v.state]),
  );
  family(
    "keepalived_operator_config_reloads_total",
    "counter",
    "Validated configurations written and loaded into keepalived.",
    [[{}, m.configReloads]],
  );
  family(
    "keepalived_operator_config_rejected_total",
    "counter",
    "Configurations refused by the renderer or by keepalived --config-test; the last good one kept running.",
    [[{}, m.configRejected]],
  );
  family(
    "keepalived_operator_plan_read_errors_total",
    "counter",
    "Times the desired config could not be read (plan ConfigMap or password Secret missing or unparseable); the last good one kept running.",
    [[{}, m.planReadErrors]],
  );
  const h = m.failover;
  out.push(
    "# HELP keepalived_operator_failover_seconds Time from the last sign of a live peer MASTER to this node becoming MASTER.",
    "# TYPE keepalived_operator_failover_seconds histogram",
  );
  h.buckets.forEach((le, i) =>
    out.push(`keepalived_operator_failover_seconds_bucket{le="${le}"} ${h.counts[i] ?? 0}`),
  );
  out.push(
    `keepalived_operator_failover_seconds_bucket{le="+Inf"} ${h.count}`,
    `keepalived_operator_failover_seconds_sum ${formatNumber(h.sum)}`,
    `keepalived_operator_failover_seconds_count ${h.count}`,
  );
  return `${out.join("\n")}\n`;
}
