// The Events the controller records, as actions: where a VIP is planned, which node holds it, what is wrong.
// Pure: built from the plan, the live objects and the previous observations.
import { GROUP_VERSION } from "../api/names.js";
import type { Diagnostic } from "../core/diagnostics.js";
import type { ClusterPlan, GroupPlan, ServicePlan } from "../core/plan.js";
import { holderChanges } from "./holders.js";
import { lowerBound, type LiveObjects } from "./live.js";

/** What an Event points at. */
export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
}

export interface EventAction {
  kind: "event";
  involved: InvolvedObject;
  type: "Normal" | "Warning";
  reason: string;
  message: string;
  /**
   * true: a condition decided again on every pass while it lasts (a problem, a planned placement): it counts
   * once when it appears. false: a change, counted every time it happens. See eventCorrelator.ts.
   */
  standing: boolean;
}

/** Group key → VIP → nodes that report holding it, as actualHolders reads the agents' Leases. */
export type Holders = ReadonlyMap<string, ReadonlyMap<string, string[]>>;

function event(
  involved: InvolvedObject,
  type: EventAction["type"],
  reason: string,
  message: string,
  standing: boolean,
): EventAction {
  return { kind: "event", involved, type, reason, message, standing };
}

function withUid(involved: InvolvedObject, uid: string | undefined): InvolvedObject {
  return typeof uid === "string" ? { ...involved, uid } : involved;
}

/** The Service `namespace/name` as an Event's involved object. */
export function serviceInvolved(key: string, live: LiveObjects): InvolvedObject {
  const [namespace = "", name = ""] = key.split("/");
  return withUid(
    { apiVersion: "v1", kind: "Service", namespace, name },
    live.services.get(`${namespace}/${name}`)?.metadata.uid,
  );
}

/** The plan of Service `key` (plan.services is sorted by key), found by bisection. */
export function servicePlanOf(plan: ClusterPlan, key: string): ServicePlan | undefined {
  const found = plan.services[lowerBound(plan.services, key, (s) => s.key)];
  return found?.key === key ? found : undefined;
}

/**
 * VIP → the first Service (in plan order) that announces it, among the Services of the group's instances: a
 * group's VIPs are announced by its own Services only. Made from the group's Services alone, so that an Event
 * about one group does not walk every Service of the cluster.
 */
export function announcers(plan: ClusterPlan, gp: GroupPlan): Map<string, ServicePlan> {
  const keys = [...new Set(gp.instances.flatMap((i) => i.services))].sort();
  const out = new Map<string, ServicePlan>();
  for (const key of keys) {
    const s = servicePlanOf(plan, key);
    for (const a of s?.announced ?? []) if (!out.has(a.ip)) out.set(a.ip, s as ServicePlan);
  }
  return out;
}

/** A group's announcers (VIP → the Service that announces it): made on first use, once per group. */
export type Announcers = (gp: GroupPlan) => ReadonlyMap<string, ServicePlan>;

/** announcers(plan, group), made when first asked for. */
export function lazyAnnouncers(plan: ClusterPlan): Announcers {
  const made = new Map<GroupPlan, Map<string, ServicePlan>>();
  return (gp) => {
    let m = made.get(gp);
    if (m === undefined) made.set(gp, (m = announcers(plan, gp)));
    return m;
  };
}

/**
 * VIPAssigned / VIPMoved on a Service when the planned node of its VIP differs from the previous plan's.
 * `moved`: whether any VIP of the group moved at all (a VIP announced by no Service gives no Event).
 */
export function placementEvents(
  gp: GroupPlan,
  previous: Readonly<Record<string, string>>,
  byVip: Announcers,
  live: LiveObjects,
): { events: EventAction[]; moved: boolean } {
  const out: EventAction[] = [];
  let moved = false;
  for (const [vip, node] of Object.entries(gp.placement)) {
    const before = previous[vip];
    if (before === node) continue;
    moved = true;
    const svc = byVip(gp).get(vip);
    if (svc === undefined) continue;
    const who = serviceInvolved(svc.key, live);
    const instance = svc.announced.find((a) => a.ip === vip)?.instance ?? "";
    out.push(
      before === undefined
        ? event(
            who,
            "Normal",
            "VIPAssigned",
            `${vip} is announced by KeepalivedGroup ${gp.group.key}; node ${node} holds it (VRRP instance ${instance}).`,
            true,
          )
        : event(
            who,
            "Normal",
            "VIPMoved",
            `${vip} moved from node ${before} to node ${node} (VRRP instance ${instance}).`,
            true,
          ),
    );
  }
  return { events: out, moved };
}

/** Events on a Service when the node that actually holds its VIP changes, as the agents report it. */
export function holderEvents(
  plan: ClusterPlan,
  before: Holders,
  now: Holders,
  byVip: Announcers,
  live: LiveObjects,
): EventAction[] {
  const out: EventAction[] = [];
  for (const gp of plan.groups) {
    const key = gp.group.key;
    for (const change of holderChanges(before.get(key) ?? new Map(), now.get(key) ?? new Map())) {
      const svc = byVip(gp).get(change.vip);
      if (svc === undefined) continue;
      const who = serviceInvolved(svc.key, live);
      const was = change.before.length === 0 ? "no node" : change.before.join(", ");
      const [first = "", ...others] = change.after;
      if (change.after.length === 0) {
        out.push(
          event(
            who,
            "Warning",
            "VIPNotHeld",
            `no node reports holding ${change.vip} (was ${was}); check the agent pods of group ${key}.`,
            false,
          ),
        );
      } else if (others.length === 0) {
        out.push(
          event(who, "Normal", "VIPHeld", `${change.vip} is held by node ${first} (was ${was}).`, false),
        );
      } else {
        out.push(
          event(
            who,
            "Warning",
            "VIPOnSeveralNodes",
            `${change.vip} is reported by nodes ${change.after.join(", ")} at once; VRRP should settle it within one advert interval. If it persists, check that VRRP adverts pass between these nodes.`,
            false,
          ),
        );
      }
    }
  }
  return out;
}

/**
 * A problem as a Warning Event on the object it names (never a Node: those are logged). Objects other than
 * Services and groups (a Secret) are pointed at with the uid of the object being reconciled, `fallbackUid`.
 */
export function diagnosticEvent(
  d: Diagnostic,
  fallbackUid: string | undefined,
  live: LiveObjects,
): EventAction {
  const namespace = d.object.namespace ?? "";
  const key = `${namespace}/${d.object.name}`;
  const uid =
    d.object.kind === "Service"
      ? live.services.get(key)?.metadata.uid
      : d.object.kind === "KeepalivedGroup"
        ? live.groups.get(key)?.metadata.uid
        : fallbackUid;
  const apiVersion = d.object.kind === "KeepalivedGroup" ? GROUP_VERSION : "v1";
  return event(
    withUid({ apiVersion, kind: d.object.kind, namespace, name: d.object.name }, uid),
    "Warning",
    d.reason,
    `${d.field}: ${d.message}`,
    true,
  );
}
