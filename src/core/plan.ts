// The planner: cluster snapshot → validated groups and Services → one plan per group saying which VRRP
// instances (virtual routers) exist, which VIPs each carries, its router ID and each node's priority.
// Pure and deterministic: the same snapshot gives the same plan, whatever the order of its lists.
import type { PublishedIps } from "./publishedIngress.js";
import { GROUP_ANNOTATION } from "../api/names.js";
import type { ClusterPlan, GroupPlan, ServicePlan } from "./clusterPlan.js";
import {
  annotationField,
  sortDiagnostics,
  groupObject,
  refKey,
  warningOn,
  errorOn,
  type Diagnostic,
} from "./diagnostics.js";
import type { GroupModel } from "./group.js";
import { GroupIsolation } from "./isolation.js";
import { groupNodes } from "./nodes.js";
import { crowdedNodesWarning } from "./nodeLoad.js";
import { compareIPs, parseIP, type ParsedIP } from "./ip.js";
import { byKey } from "./keys.js";
import type { ClusterSnapshot, NodeObject } from "./objects.js";
import { allocateRouterIds, type RouterIdAllocation, type RouterIdRequest } from "./routerIds.js";
import { assignAddresses, type AddressInputs, type AddressOutcome } from "./addresses.js";
import { openShiftPolicy, type OpenShiftPolicy } from "./openshift.js";
import { readGroups, readNodes, readServices, type PendingGroup } from "./planInputs.js";
import { withinDedicatedQuota } from "./quota.js";
import { nodeAddresses, ReservedAddresses } from "./reserved.js";
import { planRouters, settingsForGroup } from "./routers.js";
import type { ServiceClaim } from "./service.js";
import { conformDerived, conformNamespace, readable } from "./wireShapes.js";
import type { InputKey, PlacedGroup, PlannerMemo } from "./memo.js";
import { assignAddressesByGroup, independentGroups } from "./addressGroups.js";
import { numberGroup, type NumberedGroup } from "./numbering.js";

export type {
  ClusterPlan,
  GroupPlan,
  NodeMember,
  NodePriority,
  ServicePlan,
  VipOutcome,
  VirtualRouter,
} from "./clusterPlan.js";
export { HANDOVER_PRIORITY, priorityForRank } from "./clusterPlan.js";

/** The plan of `snapshot`; with a memo, work whose inputs are as in the memo's earlier runs is reused. */
export function planCluster(snapshot: ClusterSnapshot, memo?: PlannerMemo): ClusterPlan {
  const { groups, invalidGroups } = readGroups(snapshot.groups, memo);
  const derived = conformDerived(
    snapshot,
    memo === undefined ? undefined : (shape) => memo.conformedValues(shape),
  );
  const nodes = readNodes(snapshot.nodes);
  const isolation = new GroupIsolation(groups);
  isolation.each("choosing the group's nodes", (group) => {
    group.nodes = groupNodes(group.model, nodes, group.diagnostics);
  });
  const services = new Map<string, ServicePlan>();
  const unplannable = new Set([...invalidGroups.map((g) => g.key), ...isolation.failedKeys()]);
  const claims = readServices(snapshot.services, groups, unplannable, services, memo);
  const sources: AddressSources = {
    namespaces: snapshot.namespaces ?? [],
    openshift: openShiftPolicy(snapshot.openshiftNetworks ?? []),
    previous: derived.ownIngress,
    nodes: nodes.map((n) => n.node),
  };
  assignGroupAddresses(claims, isolation, services, memo === undefined ? sources : { ...sources, memo });
  isolation.each("placing the group's VIPs", (group) => {
    const place = (): PlacedGroup => placeGroup(group, derived);
    const placed =
      memo === undefined
        ? place()
        : memo.placeGroup(group.model.key, placementKey(group, derived, memo), place);
    group.routers = placed.routers;
    group.placement = placed.placement;
    for (const d of placed.diagnostics) {
      const service = d.object.kind === "Service" ? services.get(refKey(d.object)) : undefined;
      (service?.diagnostics ?? group.diagnostics).push(d);
    }
  });
  memo?.endRun();
  const ids = isolation.all(
    "numbering the group's VRRP instances",
    (list) => allocateRouterIds(list.map(routerIdRequest)),
    { assigned: new Map(), exhausted: new Map() },
  );
  const groupPlans: GroupPlan[] = [];
  isolation.each("announcing the group's VIPs", (group) => {
    const plan = numberRouters(group, ids, services, memo);
    groupPlans.push(memo === undefined ? plan : memo.samePlan(plan, group.routers));
  });
  const failedLater = new Set([...isolation.failedKeys()].filter((k) => !unplannable.has(k)));
  tellServicesOfFailedGroups(failedLater, services);
  return {
    groups: groupPlans.sort((a, b) => byKey(a.group, b.group)),
    invalidGroups: [...invalidGroups, ...isolation.failed].sort(byKey),
    services: finishServices(services),
  };
}

/** Services of a group whose planning failed after they were read: nothing announces them; say so. */
function tellServicesOfFailedGroups(
  failed: ReadonlySet<string>,
  services: ReadonlyMap<string, ServicePlan>,
): void {
  for (const plan of services.values()) {
    if (!failed.has(plan.groupKey)) continue;
    plan.announced = [];
    const [namespace = "", name = ""] = plan.key.split("/");
    plan.diagnostics.push(
      warningOn(
        { kind: "Service", namespace, name },
        annotationField(GROUP_ANNOTATION),
        "GroupNotPlanned",
        `KeepalivedGroup ${plan.groupKey} could not be planned (see its status conditions); its Services are not announced until that is fixed.`,
      ),
    );
  }
}

/** No accepted VIPs: one list for every such claim, so that the memo finds it the same. */
const NO_VIPS = Object.freeze([]) as unknown as ParsedIP[];

const NO_ADDRESSES: AddressOutcome = {
  vips: new Map(),
  sharedWith: new Map(),
  diagnostics: [],
  poolUsage: new Map(),
};

interface AddressSources {
  namespaces: readonly unknown[];
  openshift: OpenShiftPolicy | undefined;
  previous: PublishedIps;
  nodes: readonly NodeObject[];
  memo?: PlannerMemo;
}

/** Gives each claim its IPs (see assignAddresses) and each group its claims and pool usage. */
function assignGroupAddresses(
  claims: readonly ServiceClaim[],
  isolation: GroupIsolation,
  services: ReadonlyMap<string, ServicePlan>,
  sources: AddressSources,
): void {
  const namespaceLabels: Record<string, Record<string, string>> = {};
  for (const ns of readable(sources.namespaces, conformNamespace)) {
    const name = ns.metadata.name;
    if (name !== undefined)
      Object.defineProperty(namespaceLabels, name, { value: ns.metadata.labels ?? {}, enumerable: true });
  }
  const reserved = new ReservedAddresses(nodeAddresses(sources.nodes), sources.openshift);
  const memo = sources.memo;
  // What every group's addresses depend on besides its own claims (for reusing a group's outcome).
  const common =
    memo === undefined
      ? ""
      : JSON.stringify([sources.nodes.map((n) => [n.metadata.name, n.status?.addresses]), namespaceLabels]);
  const addresses = isolation.all(
    "assigning the group's addresses",
    (list) => {
      const keys = new Set(list.map((g) => g.model.key));
      const inputs: AddressInputs = {
        groups: new Map(list.map((group) => [group.model.key, group.model])),
        namespaceLabels,
        previous: sources.previous,
        reserved,
      };
      if (sources.openshift !== undefined) inputs.openshift = sources.openshift;
      const mine = claims.filter((c) => keys.has(c.groupKey));
      return memo !== undefined && independentGroups([...inputs.groups.values()], mine, inputs)
        ? assignAddressesByGroup(mine, inputs, memo, common)
        : assignAddresses(mine, inputs);
    },
    NO_ADDRESSES,
  );
  const groups = isolation.groups;
  for (const d of addresses.diagnostics) {
    const owner = d.object.kind === "Service" ? services.get(refKey(d.object)) : groups.get(refKey(d.object));
    owner?.diagnostics.push(d);
  }
  // Each claim takes its accepted VIPs in place of its candidates: in place when it was read for this plan
  // alone, else (the memo keeps its readings) as a copy that the memo keeps while the VIPs are the same.
  for (const c of claims) {
    const group = groups.get(c.groupKey);
    if (group === undefined) continue;
    const vips = addresses.vips.get(c.key, c.groupKey) ?? NO_VIPS;
    if (memo === undefined) c.vips = vips;
    group.claims.push(memo === undefined ? c : memo.withVips(c, vips));
  }
  for (const group of groups.values()) group.pools = addresses.poolUsage.get(group.model.key) ?? [];
}

/** Places the group's VIPs and drafts its routers, with the problems found (a Service's go to that Service). */
function placeGroup(group: PendingGroup, derived: PlacementSources): PlacedGroup {
  const quota: Diagnostic[] = [];
  // Settings the group cannot take are dropped first: a Service left without any is not dedicated any more.
  const accepted = group.claims.map((c) => settingsForGroup(c, group.model, quota));
  const placed = planRouters(
    {
      model: group.model,
      nodes: group.nodes,
      localEndpointNodes: derived.localEndpointNodes,
      previous: derived.previousPlacement?.[group.model.key] ?? {},
    },
    withinDedicatedQuota(group.model, accepted, quota),
  );
  placed.diagnostics.unshift(...quota);
  // Counted once per placement: the planner memo reuses it, warning included, while nothing moves.
  const crowded = crowdedNodesWarning(group.model, placed.placement);
  if (crowded !== undefined) placed.diagnostics.push(crowded);
  return placed;
}

type PlacementSources = Pick<ClusterSnapshot, "localEndpointNodes" | "previousPlacement">;

/**
 * Every input of placeGroup: the group's model (as a memo id) and claims (by identity), their VIPs
 * and those VIPs' previous nodes, the local endpoints of Local Services, the nodes.
 */
function placementKey(group: PendingGroup, derived: PlacementSources, memo: PlannerMemo): InputKey {
  const previous = derived.previousPlacement?.[group.model.key] ?? {};
  const parts: unknown[] = [memo.idOf(group.model), JSON.stringify(group.nodes)];
  for (const c of group.claims) {
    // The same claim object is the same reading with the same list of accepted VIPs (memo.withVips).
    parts.push(c, c.vips.length);
    for (const v of c.vips) parts.push(v.text, previous[v.text]);
    if (c.localTrafficOnly) parts.push(JSON.stringify(derived.localEndpointNodes?.[c.key] ?? null));
  }
  return parts;
}

function routerIdRequest(group: PendingGroup): RouterIdRequest {
  return {
    groupKey: group.model.key,
    createdAt: group.model.createdAt,
    scope: group.model.routerIdScope,
    range: group.model.routerIdRange,
    blacklist: group.model.blacklist,
    keys: group.routers.map((r) => r.key),
    recorded: group.model.recordedRouterIds,
  };
}

/** The group's plan: its routers that got an ID; each Service learns where its VIPs are, or why not. */
function numberRouters(
  group: PendingGroup,
  ids: RouterIdAllocation,
  services: ReadonlyMap<string, ServicePlan>,
  memo: PlannerMemo | undefined,
): GroupPlan {
  const model = group.model;
  const assigned = ids.assigned.get(model.key) ?? {};
  const lost = ids.exhausted.get(model.key) ?? [];
  if (lost.length > 0) group.diagnostics.push(routerIdsExhausted(model, lost));
  const number = (): NumberedGroup => numberGroup(group, assigned);
  // The same routers object is the same placement of the same claims and VIPs (see placementKey).
  const numbered =
    memo === undefined
      ? number()
      : memo.numberGroup(
          model.key,
          [memo.idOf(group.routers), memo.idOf(model), JSON.stringify(assigned)],
          number,
        );
  // Outcomes are never changed once made: a reused numbering hands out the same ones.
  for (const [key, outcome] of numbered.announced) {
    const plan = services.get(key);
    // A list of one made as such: the first push to an empty list would reserve room for 17.
    if (plan !== undefined)
      plan.announced = plan.announced.length === 0 ? [outcome] : [...plan.announced, outcome];
  }
  for (const [key, d] of numbered.unnumbered) services.get(key)?.diagnostics.push(d);
  const routerIDs: Record<string, number> = {};
  for (const i of numbered.instances) routerIDs[i.key] = i.routerId;
  return {
    group: model,
    nodes: group.nodes,
    instances: numbered.instances,
    routerIDs,
    placement: group.placement,
    diagnostics: sortDiagnostics(group.diagnostics),
    pools: group.pools,
  };
}

function routerIdsExhausted(model: GroupModel, lost: readonly string[]): Diagnostic {
  const { min, max } = model.routerIdRange;
  return errorOn(
    groupObject(model),
    "spec.routerIDRange",
    "RouterIDsExhausted",
    `no free virtual router ID in ${min}-${max} for ${lost.length} instance(s) (${lost.slice(0, 3).join(", ")}${lost.length > 3 ? ", …" : ""}); widen spec.routerIDRange, shorten spec.blacklistRouterIDs, set spec.routerIDScope to Group if this group has a network of its own, or move Services to another group.`,
  );
}

/** Every Service plan sorted by key, its announced IPs and diagnostics sorted. */
function finishServices(services: ReadonlyMap<string, ServicePlan>): ServicePlan[] {
  const plans = [...services.values()].sort(byKey);
  for (const plan of plans) {
    if (plan.announced.length > 1) {
      const parsed = new Map(plan.announced.map((a) => [a.ip, parseIP(a.ip) as ParsedIP]));
      plan.announced.sort((a, b) => compareIPs(parsed.get(a.ip) as ParsedIP, parsed.get(b.ip) as ParsedIP));
    }
    sortDiagnostics(plan.diagnostics);
  }
  return plans;
}
