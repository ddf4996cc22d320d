// The controller's metrics: what a pass did (reconciles, writes, Events, failures) and the plan's gauges.
import type { Registry } from "../lib/prom.js";
import type { Decision } from "./decide.js";

export type ControllerMetrics = ReturnType<typeof controllerMetrics>;

export function controllerMetrics(r: Registry) {
  return {
    reconciles: r.counter("keepalived_operator_reconciles_total", "Reconciles by result (done, retry)."),
    duration: r.histogram(
      "keepalived_operator_reconcile_duration_seconds",
      "Time of one reconcile.",
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    ),
    writes: r.counter("keepalived_operator_writes_total", "Objects written, by kind."),
    errors: r.counter("keepalived_operator_write_errors_total", "Failed writes, by kind and reason."),
    vips: r.gauge("keepalived_operator_group_vips", "VIPs announced per group."),
    nodes: r.gauge("keepalived_operator_group_nodes", "Nodes per group."),
    refused: r.gauge("keepalived_operator_services_with_problems", "Services with at least one problem."),
    events: r.counter("keepalived_operator_events_total", "Event writes, by kind (create, patch)."),
    eventsHeld: r.counter(
      "keepalived_operator_events_suppressed_total",
      "Event writes held back by the per-object spam filter (their counts go with a later write).",
    ),
    afterLeaseLost: r.counter(
      "keepalived_operator_writes_after_lease_lost_total",
      "Writes the API server answered after this replica's leadership term had ended; must stay 0.",
    ),
  };
}

export function setGauges(m: ControllerMetrics, gauges: Decision["gauges"]): void {
  m.vips.reset();
  m.nodes.reset();
  for (const g of gauges.groups) {
    m.vips.set(g.vips, { group: g.group });
    m.nodes.set(g.nodes, { group: g.group });
  }
  m.refused.set(gauges.servicesWithProblems);
}
