// The port each group's agents serve /metrics, /healthz and /readyz on. Agents run in the host network, so
// two groups with agents on one node need two ports. Pure.
//
// The choice, in this order:
//  1. spec.agent.metricsPort, when the group sets it (the admin's firewall may expect a fixed port);
//  2. the port the group's DaemonSet has now, unless a group asks for it (1) or an older group keeps it (2);
//  3. the lowest port from 9650 up that no group asks for or has, oldest group first.
// Ports are unique across the cluster, not only across groups that share nodes today: nodeSelectors and node
// labels change, and a port must not move when they do. The oldest group keeps 9650 (the original operator's
// port); a new group never moves an existing one; deleting a group moves none either, since each keeps the
// port its DaemonSet has.
import type { KubeObject } from "../api/kube.js";
import { METRICS_PORT } from "../api/names.js";
import type { KeepalivedGroup } from "../api/types.js";

export interface MetricsPortClaim {
  /** `namespace/name` of the group. */
  key: string;
  /** metadata.creationTimestamp (RFC 3339, so it sorts as text): older groups choose first. */
  created: string;
  /** spec.agent.metricsPort. */
  requested?: number;
  /** The port of the group's DaemonSet now. */
  current?: number;
}

export interface MetricsPortChoice {
  ports: Map<string, number>;
  /** Ports that more than one group asks for in spec.agent.metricsPort: their agents cannot share a node. */
  conflicts: { port: number; groups: string[] }[];
}

/** The lowest and highest port a group may ask for: unprivileged, and a valid TCP port. */
export const METRICS_PORT_MIN = 1024;
export const METRICS_PORT_MAX = 65535;

function validPort(v: unknown): number | undefined {
  return typeof v === "number" && Number.isInteger(v) && v >= METRICS_PORT_MIN && v <= METRICS_PORT_MAX
    ? v
    : undefined;
}

function byAge(a: MetricsPortClaim, b: MetricsPortClaim): number {
  if (a.created !== b.created) return a.created < b.created ? -1 : 1;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

export function metricsPorts(claims: readonly MetricsPortClaim[]): MetricsPortChoice {
  const ordered = [...claims].sort(byAge);
  const ports = new Map<string, number>();
  const askers = new Map<number, string[]>();
  for (const c of ordered) {
    if (c.requested === undefined) continue;
    ports.set(c.key, c.requested);
    askers.set(c.requested, [...(askers.get(c.requested) ?? []), c.key]);
  }
  const taken = new Set(askers.keys());
  for (const c of ordered) {
    if (ports.has(c.key) || c.current === undefined || taken.has(c.current)) continue;
    ports.set(c.key, c.current);
    taken.add(c.current);
  }
  let next = METRICS_PORT;
  for (const c of ordered) {
    if (ports.has(c.key)) continue;
    while (taken.has(next)) next++;
    ports.set(c.key, next);
    taken.add(next);
  }
  const conflicts = [...askers.entries()]
    .filter(([, groups]) => groups.length > 1)
    .map(([port, groups]) => ({ port, groups: [...groups].sort() }))
    .sort((a, b) => a.port - b.port);
  return { ports, conflicts };
}

/** The metrics port of an agent DaemonSet as the controller wrote it (desiredDaemonSet), if it has one. */
export function daemonSetMetricsPort(ds: KubeObject | undefined): number | undefined {
  const spec = (ds as { spec?: { template?: { spec?: { containers?: unknown } } } } | undefined)?.spec;
  const containers = spec?.template?.spec?.containers;
  if (!Array.isArray(containers)) return undefined;
  for (const c of containers as { name?: unknown; ports?: unknown }[]) {
    if (c.name !== "agent" || !Array.isArray(c.ports)) continue;
    for (const p of c.ports as { name?: unknown; containerPort?: unknown }[])
      if (p.name === "metrics") return validPort(p.containerPort);
  }
  return undefined;
}

/** Every group's claim, from the groups and their DaemonSets (both keyed `namespace/name`). */
export function metricsPortClaims(
  groups: Iterable<KeepalivedGroup>,
  daemonSets: ReadonlyMap<string, KubeObject>,
): MetricsPortClaim[] {
  return [...groups].map((g) => {
    const key = `${g.metadata.namespace ?? ""}/${g.metadata.name ?? ""}`;
    const claim: MetricsPortClaim = { key, created: g.metadata.creationTimestamp ?? "" };
    // The schema bounds it; a value that slipped past it (an older CRD) is ignored, never rendered.
    const requested = validPort(g.spec?.agent?.metricsPort);
    if (requested !== undefined) claim.requested = requested;
    const current = daemonSetMetricsPort(daemonSets.get(key));
    if (current !== undefined) claim.current = current;
    return claim;
  });
}
