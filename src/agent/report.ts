// What a node tells the cluster about its VRRP instances: states and held VIPs → the annotations and the
// Lease object the agent applies. Pure; src/kube/nodeLease.ts writes it.
import type { Manifest } from "../api/kube.js";
import {
  GROUP_LABEL,
  HELD_VIPS_ANNOTATION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  NODE_LABEL,
  REFUSED_INSTANCES_ANNOTATION,
  VRRP_STATES_ANNOTATION,
} from "../api/names.js";
import type { PlanInstanceV1 } from "../api/plan.js";
import { compareIPs, parseIP } from "../core/ip.js";
import type { RefusedInstance } from "./isolate.js";
import type { VrrpState } from "./notify.js";

export type ReportedState = "MASTER" | "BACKUP" | "FAULT";

export interface VrrpReport {
  /** Instance name → state, for this node's instances of the current plan that keepalived reported. */
  states: Record<string, ReportedState>;
  /** VIPs of the MASTER instances, in address order. */
  vips: string[];
  /** Instances keepalived refuses (the others run), by name; absent when there are none. */
  refused?: Record<string, { reason: string; services: string[] }>;
}

/** keepalived's words about a refused instance, cut to this length in the Lease (annotations are bounded). */
export const REFUSED_REASON_LENGTH = 300;

const REPORTED = new Set<VrrpState>(["MASTER", "BACKUP", "FAULT"]);

function byAddress(a: string, b: string): number {
  const pa = parseIP(a);
  const pb = parseIP(b);
  return pa === undefined || pb === undefined ? (a < b ? -1 : a > b ? 1 : 0) : compareIPs(pa, pb);
}

/** Instances of an older plan and INIT/STOP/DELETED states are left out: they hold nothing. */
export function vrrpReport(
  instances: readonly PlanInstanceV1[],
  states: ReadonlyMap<string, VrrpState>,
  refused: readonly RefusedInstance[] = [],
): VrrpReport {
  const out: Record<string, ReportedState> = {};
  const vips = new Set<string>();
  for (const i of [...instances].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const s = states.get(i.name);
    if (s === undefined || !REPORTED.has(s)) continue;
    out[i.name] = s as ReportedState;
    if (s === "MASTER") for (const v of i.vips) vips.add(v);
  }
  const report: VrrpReport = { states: out, vips: [...vips].sort(byAddress) };
  if (refused.length > 0) report.refused = refusedReport(refused);
  return report;
}

function refusedReport(refused: readonly RefusedInstance[]): NonNullable<VrrpReport["refused"]> {
  const sorted = [...refused].sort((a, b) =>
    a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0,
  );
  return Object.fromEntries(
    sorted.map((r) => {
      const reason = r.problems.join("; ");
      const cut =
        reason.length > REFUSED_REASON_LENGTH ? `${reason.slice(0, REFUSED_REASON_LENGTH - 1)}…` : reason;
      return [r.instance, { reason: cut, services: [...r.services].sort() }];
    }),
  );
}

/** The Lease annotations: JSON with sorted keys, so the same report always gives the same bytes. */
export function reportAnnotations(r: VrrpReport): Record<string, string> {
  const sorted = Object.fromEntries(
    Object.entries(r.states).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  const out: Record<string, string> = {
    [VRRP_STATES_ANNOTATION]: JSON.stringify(sorted),
    [HELD_VIPS_ANNOTATION]: JSON.stringify(r.vips),
  };
  // Present only while something is refused, so its presence alone is the signal (e.g. for a Warning Event).
  if (r.refused !== undefined) out[REFUSED_INSTANCES_ANNOTATION] = JSON.stringify(r.refused);
  return out;
}

export interface NodeLeaseIdentity {
  namespace: string;
  group: string;
  node: string;
}

/** `<group>-<node>`: one Lease per node and group, next to the group. */
export function nodeLeaseName(id: NodeLeaseIdentity): string {
  return `${id.group}-${id.node}`;
}

/** RFC 3339 with microseconds, as metav1.MicroTime expects. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** The whole Lease as the agent applies it (server-side apply: every field listed is owned by the agent). */
export function nodeLease(
  id: NodeLeaseIdentity,
  r: VrrpReport,
  renewTime: Date,
  leaseDurationSeconds: number,
): Manifest {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name: nodeLeaseName(id),
      namespace: id.namespace,
      labels: { [GROUP_LABEL]: id.group, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [NODE_LABEL]: id.node },
      annotations: reportAnnotations(r),
    },
    spec: { holderIdentity: id.node, leaseDurationSeconds, renewTime: microTime(renewTime) },
  };
}
