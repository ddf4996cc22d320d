// The planner: cluster snapshot → validated groups and Services → one plan per group saying which VRRP
// instances (virtual routers) exist, which VIPs each carries, its router ID and each node's priority.
// Pure and deterministic: the same snapshot gives the same plan, whatever the order of its lists.
import { GROUP_ANNOTATION } from "../api/names.js";
import type {
  ClusterPlan,
  GroupPlan,
  NodeMember,
  ServicePlan,
  UnnumberedRouter,
  VipOutcome,
  VirtualRouter,
} from "./clusterPlan.js";
import {
  annotationField,
  compareDiagnostics,
  groupObject,
  refKey,
  serviceObject,
  warningOn,
  errorOn,
  type Diagnostic,
} from "./diagnostics.js";
import { groupRef, validateGroup, type GroupModel } from "./group.js";
import { groupNodes } from "./nodes.js";
import { compareIPs, parseIP, type ParsedIP } from "./ip.js";
import { byKey, objectKey } from "./keys.js";
import type { ClusterSnapshot, KeepalivedGroup, ServiceObject } from "./objects.js";
import { allocateRouterIds, type RouterIdAllocation, type RouterIdRequest } from "./routerIds.js";
import { assignAddresses, type AddressInputs, type PoolUsage } from "./addresses.js";
import { openShiftPolicy } from "./openshift.js";
import { numberRouter, planRouters } from "./routers.js";
import { parseService, serviceRef, type ServiceClaim } from "./service.js";

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

/** A valid group whose plan is being built. */
interface PendingGroup {
  model: GroupModel;
  nodes: NodeMember[];
  /** Its Services, with the VIPs they were given. */
  claims: ServiceClaim[];
  diagnostics: Diagnostic[];
  pools: PoolUsage[];
  routers: UnnumberedRouter[];
  placement: Record<string, string>;
}

export function planCluster(snapshot: ClusterSnapshot): ClusterPlan {
  const { groups, invalidGroups } = readGroups(snapshot.groups);
  const nodes = [...snapshot.nodes].sort((a, b) =>
    (a.metadata.name ?? "") < (b.metadata.name ?? "") ? -1 : 1,
  );
  for (const group of groups.values()) group.nodes = groupNodes(group.model, nodes, group.diagnostics);
  const services = new Map<string, ServicePlan>();
  const invalidKeys = new Set(invalidGroups.map((g) => g.key));
  const claims = readServices(snapshot.services, groups, invalidKeys, services);
  assignGroupAddresses(claims, groups, services, snapshot);
  for (const group of groups.values()) placeGroup(group, services, snapshot);
  const ids = allocateRouterIds([...groups.values()].map(routerIdRequest));
  const groupPlans = [...groups.values()]
    .sort((a, b) => byKey(a.model, b.model))
    .map((group) => numberRouters(group, ids, services));
  return { groups: groupPlans, invalidGroups: invalidGroups.sort(byKey), services: finishServices(services) };
}

/** Validates each group once (the first of a key wins), keeping the valid ones in snapshot order. */
function readGroups(list: readonly KeepalivedGroup[]): {
  groups: Map<string, PendingGroup>;
  invalidGroups: ClusterPlan["invalidGroups"];
} {
  const groups = new Map<string, PendingGroup>();
  const invalidGroups: ClusterPlan["invalidGroups"] = [];
  const seen = new Set<string>();
  for (const g of list) {
    const ref = groupRef(g);
    const key = objectKey(ref.namespace ?? "default", ref.name);
    if (seen.has(key)) continue;
    seen.add(key);
    const result = validateGroup(g);
    if (!result.ok) {
      invalidGroups.push({ key, diagnostics: result.errors.sort(compareDiagnostics) });
      continue;
    }
    const pending: PendingGroup = {
      model: result.model,
      nodes: [],
      claims: [],
      diagnostics: [...result.warnings],
      pools: [],
      routers: [],
      placement: {},
    };
    groups.set(key, pending);
  }
  return { groups, invalidGroups };
}

/**
 * A plan for every Service of ours (the first of a key wins), and the claims of those whose group is valid.
 * A Service naming a missing or invalid group gets a Warning saying which.
 */
function readServices(
  list: readonly ServiceObject[],
  groups: ReadonlyMap<string, PendingGroup>,
  invalidGroupKeys: ReadonlySet<string>,
  services: Map<string, ServicePlan>,
): ServiceClaim[] {
  const claims: ServiceClaim[] = [];
  for (const s of list) {
    const result = parseService(s);
    if (result.kind === "ignored") continue;
    const ref = serviceRef(s);
    const key = objectKey(ref.namespace ?? "default", ref.name);
    if (services.has(key)) continue;
    if (result.kind === "invalid") {
      services.set(key, { key, groupKey: "", announced: [], diagnostics: result.diagnostics });
      continue;
    }
    const { claim } = result;
    const plan: ServicePlan = {
      key,
      groupKey: claim.groupKey,
      announced: [],
      diagnostics: [...result.diagnostics],
    };
    services.set(key, plan);
    if (groups.has(claim.groupKey)) {
      claims.push(claim);
      continue;
    }
    const why = invalidGroupKeys.has(claim.groupKey)
      ? "is invalid (see its status conditions); its Services are not announced until it is fixed"
      : "does not exist; create it or fix the annotation";
    plan.diagnostics.push(
      warningOn(
        ref,
        annotationField(GROUP_ANNOTATION),
        "GroupNotFound",
        `KeepalivedGroup ${claim.groupKey} ${why}.`,
      ),
    );
  }
  return claims;
}

/** Gives each claim its IPs (see assignAddresses) and each group its claims and pool usage. */
function assignGroupAddresses(
  claims: readonly ServiceClaim[],
  groups: ReadonlyMap<string, PendingGroup>,
  services: ReadonlyMap<string, ServicePlan>,
  snapshot: ClusterSnapshot,
): void {
  const namespaceLabels: Record<string, Record<string, string>> = {};
  for (const ns of snapshot.namespaces ?? [])
    namespaceLabels[ns.metadata.name ?? ""] = ns.metadata.labels ?? {};
  const inputs: AddressInputs = {
    groups: new Map([...groups.values()].map((group) => [group.model.key, group.model])),
    namespaceLabels,
    previous: snapshot.ownIngress ?? {},
    nodeAddresses: snapshot.nodes.flatMap((n) => (n.status?.addresses ?? []).map((a) => a.address)),
  };
  const openshift = openShiftPolicy(snapshot.openshiftNetworks ?? []);
  if (openshift !== undefined) inputs.openshift = openshift;
  const addresses = assignAddresses(claims, inputs);
  for (const d of addresses.diagnostics) {
    const owner = d.object.kind === "Service" ? services.get(refKey(d.object)) : groups.get(refKey(d.object));
    owner?.diagnostics.push(d);
  }
  for (const c of claims)
    groups.get(c.groupKey)?.claims.push({ ...c, vips: addresses.vips.get(c.key) ?? [] });
  for (const group of groups.values()) group.pools = addresses.poolUsage.get(group.model.key) ?? [];
}

/** Places the group's VIPs and drafts its routers; problems of a Service go to that Service. */
function placeGroup(
  group: PendingGroup,
  services: ReadonlyMap<string, ServicePlan>,
  snapshot: ClusterSnapshot,
): void {
  const placed = planRouters(
    {
      model: group.model,
      nodes: group.nodes,
      localEndpointNodes: snapshot.localEndpointNodes,
      previous: snapshot.previousPlacement?.[group.model.key] ?? {},
    },
    group.claims,
  );
  group.routers = placed.routers;
  group.placement = placed.placement;
  for (const d of placed.diagnostics) {
    const service = d.object.kind === "Service" ? services.get(refKey(d.object)) : undefined;
    (service?.diagnostics ?? group.diagnostics).push(d);
  }
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
): GroupPlan {
  const model = group.model;
  const assigned = ids.assigned.get(model.key) ?? {};
  const lost = ids.exhausted.get(model.key) ?? [];
  if (lost.length > 0) group.diagnostics.push(routerIdsExhausted(model, lost));
  const claims = new Map(group.claims.map((c) => [c.key, c]));
  const instances: VirtualRouter[] = [];
  for (const router of group.routers) {
    const routerId = assigned[router.key];
    if (routerId === undefined) {
      for (const key of router.services) {
        const claim = claims.get(key);
        if (claim === undefined) continue;
        services
          .get(key)
          ?.diagnostics.push(
            warningOn(
              serviceObject(claim),
              annotationField(GROUP_ANNOTATION),
              "RouterIDsExhausted",
              `group ${model.key} has no free virtual router ID for ${router.vips.join(", ")}; see the group's status.`,
            ),
          );
      }
      continue;
    }
    instances.push(numberRouter(router, routerId, model));
    announce(router, claims, services);
  }
  const routerIDs: Record<string, number> = {};
  for (const i of instances) routerIDs[i.key] = i.routerId;
  return {
    group: model,
    nodes: group.nodes,
    instances,
    routerIDs,
    placement: group.placement,
    diagnostics: group.diagnostics.sort(compareDiagnostics),
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

/** Tells each Service of the router which of its VIPs it carries, and on which node. */
function announce(
  router: UnnumberedRouter,
  claims: ReadonlyMap<string, ServiceClaim>,
  services: ReadonlyMap<string, ServicePlan>,
): void {
  const node = router.priorities[0]?.node;
  // A VIP can be listed twice (a spreading Service sharing with one that does not): announced as often.
  const times = new Map<string, number>();
  for (const vip of router.vips) times.set(vip, (times.get(vip) ?? 0) + 1);
  for (const key of router.services) {
    const plan = services.get(key);
    if (plan === undefined) continue;
    for (const vip of claims.get(key)?.vips ?? []) {
      for (let n = times.get(vip.text) ?? 0; n > 0; n--) {
        const outcome: VipOutcome = { ip: vip.text, instance: router.name };
        if (node !== undefined) outcome.node = node;
        plan.announced.push(outcome);
      }
    }
  }
}

/** Every Service plan sorted by key, its announced IPs and diagnostics sorted. */
function finishServices(services: ReadonlyMap<string, ServicePlan>): ServicePlan[] {
  const plans = [...services.values()].sort(byKey);
  for (const plan of plans) {
    plan.announced.sort((a, b) => compareIPs(parseIP(a.ip) as ParsedIP, parseIP(b.ip) as ParsedIP));
    plan.diagnostics.sort(compareDiagnostics);
  }
  return plans;
}
