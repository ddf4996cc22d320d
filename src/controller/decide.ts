// One reconcile's decisions: cluster state + what was observed before → the writes and Events to make, in order.
// Pure: no I/O, no clock (the time arrives as a value), no randomness; the same inputs in any order give the
// same actions.
import type { ConfigMapObject, Manifest } from "../api/kube.js";
import { APPLIED_HASH_ANNOTATION, GROUP_LABEL, GROUP_VERSION, KIND } from "../api/names.js";
import type { KeepalivedGroup } from "../api/types.js";
import { formatDiagnostic, type Diagnostic } from "../core/diagnostics.js";
import { planCluster, type ClusterPlan, type GroupPlan, type ServicePlan } from "../core/plan.js";
import { metricsPortClaims, metricsPorts } from "../render/metricsPorts.js";
import { placementOfPlanObject } from "../render/nodePlans.js";
import { desiredDaemonSet, groupStatus, invalidGroupStatus, sameStatus } from "../render/objects.js";
import { desiredIngress, ownsIngress, publishedAsPlanned, sameIngress } from "../render/serviceStatus.js";
import {
  diagnosticEvent,
  lazyAnnouncers,
  holderEvents,
  placementEvents,
  type Announcers,
  type EventAction,
  type Holders,
} from "./events.js";
import { actualHolders } from "./holders.js";
import { liveObjects, objectKey, sortedByKey, type ClusterState, type LiveObjects } from "./live.js";
import { decideNodePlans } from "./nodePlanActions.js";
import { buildSnapshot, previousPlacement, type ReconcileMemo } from "./snapshot.js";

export type { EventAction, Holders, InvolvedObject } from "./events.js";
export type { ClusterState } from "./live.js";

export type Action =
  | { kind: "apply"; manifest: Manifest }
  | { kind: "applyStatus"; manifest: Manifest }
  | { kind: "delete"; target: Manifest }
  | EventAction;

/** How many of `actions` write a Service's status (a pass that writes many is part of a burst). */
export function serviceStatusWrites(actions: readonly Action[]): number {
  let n = 0;
  for (const a of actions) if (a.kind === "applyStatus" && a.manifest.kind === "Service") n++;
  return n;
}

/** What the controller saw before this reconcile. */
export interface Observations {
  /** The time, in ms since the epoch: condition transition times and Lease expiry. */
  nowMs: number;
  /** Holders from the previous reconcile; undefined on the first, so a restart emits no stale Events. */
  holders: Holders | undefined;
  /** Reads the placement from a plan ConfigMap (a memo of placementOfPlan may be passed in). */
  placementOf?: (cm: ConfigMapObject) => Record<string, string> | undefined;
  /** What earlier reconciles worked out, reused where the inputs are the same objects (never changed in place). */
  memo?: ReconcileMemo;
}

export interface GroupGauges {
  group: string;
  vips: number;
  nodes: number;
}

export interface Decision {
  plan: ClusterPlan;
  actions: Action[];
  /** Metric values: per valid group, and the number of Services with at least one problem. */
  gauges: { groups: GroupGauges[]; servicesWithProblems: number };
  /** Problems of Nodes, formatted: logged, never evented (a Node is not ours to annotate). */
  nodeProblems: string[];
  /** Holders observed now: pass them back as `holders` next time. */
  holders: Holders;
  /** Placement of every node plan by its content hash: read back without parsing what was written. */
  planPlacements: Map<string, Record<string, string>>;
}

/** The placement recorded in a plan ConfigMap (a node's share, or an earlier release's group plan). */
export const placementOfConfigMap = placementOfPlanObject;

/** Collects actions and logged problems in the order they are decided. */
class ActionList {
  readonly actions: Action[] = [];
  readonly nodeProblems: string[] = [];
  readonly planPlacements = new Map<string, Record<string, string>>();

  constructor(private readonly live: LiveObjects) {}

  push(...actions: Action[]): void {
    this.actions.push(...actions);
  }

  diagnostics(ds: readonly Diagnostic[], fallbackUid: string | undefined): void {
    for (const d of ds) {
      if (d.object.kind === "Node") this.nodeProblems.push(formatDiagnostic(d));
      else this.actions.push(diagnosticEvent(d, fallbackUid, this.live));
    }
  }
}

function appliedHash(
  o: { metadata: { annotations?: Record<string, string> } } | undefined,
): string | undefined {
  return o?.metadata.annotations?.[APPLIED_HASH_ANNOTATION];
}

function statusManifest(apiVersion: string, kind: string, key: string, status: unknown): Manifest {
  const [namespace = "", name = ""] = key.split("/");
  return { apiVersion, kind, metadata: { name, namespace }, status };
}

/** A valid group: its node plans and DaemonSet where the hash differs, its status, its Events. */
function decideGroup(
  gp: GroupPlan,
  live: LiveObjects,
  ctx: {
    now: string;
    byVip: Announcers;
    previous: Readonly<Record<string, Record<string, string>>>;
    metricsPorts: ReadonlyMap<string, number>;
    memo: ReconcileMemo | undefined;
  },
  out: ActionList,
): GroupGauges | undefined {
  const g = gp.group;
  const key = `${g.namespace}/${g.name}`;
  const group = live.groups.get(key);
  const uid = group?.metadata.uid ?? "";
  if (group === undefined || uid === "") return undefined;
  const entries = ctx.memo?.nodePlanEntries(gp, uid);
  const plans = decideNodePlans(gp, uid, live.configMaps.values(), entries);
  out.push(...plans.actions);
  for (const [hash, placement] of plans.placements) out.planPlacements.set(hash, placement);
  const ds = desiredDaemonSet(gp, { uid }, ctx.metricsPorts.get(key));
  if (appliedHash(live.daemonSets.get(key)) !== appliedHash(ds)) out.push({ kind: "apply", manifest: ds });
  // A plan that cannot be written leaves the group not Ready (and says which node and what to do).
  const judged =
    plans.problems.length === 0 ? gp : { ...gp, diagnostics: [...gp.diagnostics, ...plans.problems] };
  const status = groupStatus(judged, group.status, ctx.now);
  if (!sameStatus(group.status, status))
    out.push({ kind: "applyStatus", manifest: statusManifest(GROUP_VERSION, KIND, key, status) });
  out.diagnostics(judged.diagnostics, group.metadata.uid);
  // A group plan found where its plan objects say, by the same objects, is not looked at again.
  const before = ctx.previous[key];
  if (!(ctx.memo?.placedAsBefore(gp, before) ?? false)) {
    const placed = placementEvents(gp, before ?? {}, ctx.byVip, live);
    out.push(...placed.events);
    if (!placed.moved && before !== undefined) ctx.memo?.placedAs(gp, before);
  }
  return { group: g.key, vips: status.vips ?? 0, nodes: status.nodes ?? 0 };
}

/** An invalid group: its status says why; what it created stays, so agents keep the last good plan. */
function decideInvalidGroup(
  bad: ClusterPlan["invalidGroups"][number],
  group: KeepalivedGroup | undefined,
  now: string,
  out: ActionList,
): void {
  if (group === undefined) return;
  const status = invalidGroupStatus(group.metadata.generation ?? 0, bad.diagnostics, group.status, now);
  if (!sameStatus(group.status, status))
    out.push({ kind: "applyStatus", manifest: statusManifest(GROUP_VERSION, KIND, bad.key, status) });
  out.diagnostics(bad.diagnostics, group.metadata.uid);
}

/**
 * Services: status.loadBalancer.ingress where nobody else writes it; Warnings for their problems. The ingress
 * of a Service whose group is invalid stays as published: its agents keep the last good plan and announce it.
 */
function decideServices(
  state: ClusterState,
  plan: ClusterPlan,
  out: ActionList,
  memo: ReconcileMemo | undefined,
): number {
  const invalidGroups = new Set(plan.invalidGroups.map((g) => g.key));
  let withProblems = 0;
  // Both lists are in key order (code-unit order): each Service's plan is found by walking the plans along.
  const plans = plan.services;
  let at = 0;
  for (const s of memo === undefined ? sortedByKey(state.services) : memo.sortedByKey(state.services)) {
    const key = memo === undefined ? objectKey(s) : memo.keyOf(s);
    while (at < plans.length && (plans[at] as ServicePlan).key < key) at++;
    const sp = plans[at]?.key === key ? plans[at] : undefined;
    // Nothing to write or say last time, for this very object and the same IPs: the same again.
    if (sp !== undefined && memo?.quietAsBefore(s, sp) === true) continue;
    const ours = memo === undefined ? ownsIngress(s) : memo.ownIngress(s) !== undefined;
    if (sp === undefined && !ours) continue;
    const frozen = sp !== undefined && invalidGroups.has(sp.groupKey);
    const asPlanned =
      ours && sp !== undefined && s.spec?.type === "LoadBalancer" && publishedAsPlanned(s, sp);
    const ingress = frozen || asPlanned ? undefined : desiredIngress(s, sp, ours);
    // desiredIngress is undefined where we must not write; write only what differs from what we wrote.
    const write = ingress !== undefined && !(ours && sameIngress(s, ingress));
    if (write) {
      const loadBalancer = ingress.length > 0 ? { ingress } : {};
      out.push({ kind: "applyStatus", manifest: statusManifest("v1", "Service", key, { loadBalancer }) });
    }
    if (sp === undefined) continue;
    if (sp.diagnostics.length > 0) withProblems++;
    else if (!frozen && !write) memo?.quiet(s, sp);
    out.diagnostics(sp.diagnostics, s.metadata.uid);
  }
  return withProblems;
}

/** Objects of groups that no longer exist (the garbage collector does the same through owner references). */
function orphans(state: ClusterState, live: LiveObjects): Action[] {
  const owned = [
    ...sortedByKey(state.configMaps).map((o) => ({ apiVersion: "v1", kind: "ConfigMap", o })),
    ...sortedByKey(state.daemonSets).map((o) => ({ apiVersion: "apps/v1", kind: "DaemonSet", o })),
  ];
  return owned.flatMap(({ apiVersion, kind, o }): Action[] => {
    const group = o.metadata.labels?.[GROUP_LABEL];
    const namespace = o.metadata.namespace ?? "";
    const name = o.metadata.name ?? "";
    // A DaemonSet is named as its group; a ConfigMap too (an earlier release's) or per node (node plans).
    const ours = kind === "ConfigMap" || group === name;
    if (group === undefined || !ours || live.groups.has(`${namespace}/${group}`)) return [];
    return [{ kind: "delete", target: { apiVersion, kind, metadata: { name, namespace } } }];
  });
}

/** The plan of the caches (the first half of decide(), the longer one). */
export function planState(state: ClusterState, seen: Observations): ClusterPlan {
  const snapshot = buildSnapshot(state, seen.placementOf ?? placementOfConfigMap, seen.memo);
  return planCluster(snapshot, seen.memo?.planner);
}

/** The first half of a decision (decideGroups), and what the second half (decideRest) reuses from it. */
export interface GroupsDecision {
  actions: Action[];
  groups: GroupGauges[];
  nodeProblems: string[];
  planPlacements: Map<string, Record<string, string>>;
  live: LiveObjects;
  byVip: Announcers;
}

/**
 * The first half of a decision: every valid group's node plans, DaemonSet, status and Events, and the invalid
 * groups' statuses, in the order they are written. The controller starts writing these (node plans first)
 * while it decides the rest (decideRest): what an agent waits for does not wait on the Services' statuses.
 */
export function decideGroups(plan: ClusterPlan, state: ClusterState, seen: Observations): GroupsDecision {
  const placementOf = seen.placementOf ?? placementOfConfigMap;
  const memo = seen.memo;
  const live = liveObjects(state, memo === undefined ? undefined : (o) => memo.keyOf(o));
  const out = new ActionList(live);
  const now = new Date(seen.nowMs).toISOString();
  const byVip = lazyAnnouncers(plan);
  const previous = previousPlacement(state.configMaps, placementOf, seen.memo?.previous);
  const groups: GroupGauges[] = [];
  // One metrics hostPort per group, so that agents of several groups can share a node.
  const ports = metricsPorts(metricsPortClaims(live.groups.values(), live.daemonSets)).ports;
  for (const gp of plan.groups) {
    const ctx = { now, byVip, previous, metricsPorts: ports, memo: seen.memo };
    const gauges = decideGroup(gp, live, ctx, out);
    if (gauges !== undefined) groups.push(gauges);
  }
  for (const bad of plan.invalidGroups) decideInvalidGroup(bad, live.groups.get(bad.key), now, out);
  const { actions, nodeProblems, planPlacements } = out;
  return { actions, groups, nodeProblems, planPlacements, live, byVip };
}

/** The second half: holder Events, the Services' statuses and Events, orphans; with the first, the decision. */
export function decideRest(
  first: GroupsDecision,
  plan: ClusterPlan,
  state: ClusterState,
  seen: Observations,
): Decision {
  const { live, byVip } = first;
  const out = new ActionList(live);
  const holders = actualHolders(state.leases, seen.nowMs);
  if (seen.holders !== undefined) out.push(...holderEvents(plan, seen.holders, holders, byVip, live));
  const servicesWithProblems = decideServices(state, plan, out, seen.memo);
  out.push(...orphans(state, live));
  return {
    plan,
    actions: [...first.actions, ...out.actions],
    gauges: { groups: first.groups, servicesWithProblems },
    nodeProblems: [...first.nodeProblems, ...out.nodeProblems],
    holders,
    planPlacements: first.planPlacements,
  };
}

/** What to write so that the cluster matches `plan`, which planState(state, seen) made. */
export function decidePlan(plan: ClusterPlan, state: ClusterState, seen: Observations): Decision {
  return decideRest(decideGroups(plan, state, seen), plan, state, seen);
}

/**
 * One pass: plan everything from the caches, and say what to write so that the cluster matches the plan.
 * The controller runs its parts (planState, decideGroups, decideRest) with a pause between, for the event loop,
 * and writes the groups' half while it decides the rest.
 */
export function decide(state: ClusterState, seen: Observations): Decision {
  return decidePlan(planState(state, seen), state, seen);
}
