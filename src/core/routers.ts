// A group's virtual routers: where each VIP goes (placement), then which VRRP instance carries it — one of
// its own for a dedicated Service, else the pooled instance of the node that holds it. Pure.
import { VERBATIM_CONFIG_ANNOTATION } from "../api/names.js";
import { anchorAddress } from "./anchors.js";
import { priorityForRank, type UnnumberedRouter, type VirtualRouter } from "./clusterPlan.js";
import { annotationField, serviceObject, warningOn, type Diagnostic } from "./diagnostics.js";
import { dictionary } from "./dictionary.js";
import type { GroupModel } from "./group.js";
import { compareIPs, familyName, type Family, type ParsedIP } from "./ip.js";
import { byKey } from "./keys.js";
import { placeItems, rankNodes } from "./placement.js";
import { isDedicated, type ServiceClaim } from "./service.js";
import { groupSettingProblem, summarizeVerbatimProblems, type VerbatimProblem } from "./verbatim.js";
import { vipItems, type GroupSurroundings, type VipItem } from "./vipItems.js";

export interface GroupRouters {
  /** Sorted by key. */
  routers: UnnumberedRouter[];
  /** VIP → node that should hold it. */
  placement: Record<string, string>;
  /** Problems of the group's Services: settings it cannot take, VIPs no node may hold. */
  diagnostics: Diagnostic[];
}

/** The VIPs of one node and family, gathered for its pooled instance. */
interface PooledVips {
  vips: ParsedIP[];
  services: Set<string>;
}

export function planRouters(group: GroupSurroundings, claims: readonly ServiceClaim[]): GroupRouters {
  const diagnostics: Diagnostic[] = [];
  const accepted = [...claims].sort(byKey).map((claim) => settingsForGroup(claim, group.model, diagnostics));
  const items = vipItems(group, accepted);
  const rankings = placeItems(
    items,
    group.nodes.map((n) => n.name),
  );
  const placement = dictionary<string>();
  const routers: UnnumberedRouter[] = [];
  const pooled = new Map<string, PooledVips>();
  for (const item of items) {
    const ranking = rankings.get(item.key) ?? [];
    const primary = ranking[0];
    if (primary === undefined) {
      diagnostics.push(notPlaced(item, group.model));
      continue;
    }
    for (const ip of item.vips) placement[ip.text] = primary;
    if (isDedicated(item.claim)) routers.push(...dedicatedRouters(group, item, ranking));
    else addToPool(pooled, item, primary);
  }
  routers.push(...pooledRouters(group, pooled));
  return { routers: routers.sort(byKey), placement, diagnostics };
}

/** Drops verbatimconfig settings that the group's VRRP mode cannot take, saying why. */
export function settingsForGroup(
  claim: ServiceClaim,
  model: GroupModel,
  diagnostics: Diagnostic[],
): ServiceClaim {
  const keep: [string, string][] = [];
  const refused: VerbatimProblem[] = [];
  for (const [key, value] of claim.instanceSettings) {
    const why = groupSettingProblem(key, value, model);
    if (why === undefined) keep.push([key, value]);
    else refused.push({ key, message: why });
  }
  const summary = summarizeVerbatimProblems(refused);
  if (summary !== undefined)
    diagnostics.push(
      warningOn(
        serviceObject(claim),
        annotationField(VERBATIM_CONFIG_ANNOTATION),
        "RejectedVerbatimConfig",
        `${summary}; the Service's other settings and its VIPs are kept.`,
      ),
    );
  return keep.length === claim.instanceSettings.length ? claim : { ...claim, instanceSettings: keep };
}

function notPlaced(item: VipItem, model: GroupModel): Diagnostic {
  const why = item.claim.localTrafficOnly
    ? "no node of the group has a ready local endpoint (externalTrafficPolicy: Local); it is announced once a pod is ready on one of them"
    : `group ${model.key} has no nodes`;
  return warningOn(
    serviceObject(item.claim),
    "spec",
    "NoEligibleNode",
    `${item.vips.map((v) => v.text).join(", ")} not announced: ${why}.`,
  );
}

/** Instance key of a dedicated Service's instance of one family. */
function serviceRouterKey(claim: ServiceClaim, family: Family): string {
  return `service/${claim.key}/${familyName(family)}`;
}

/** Instance key of a node's pooled instance of one family. */
function nodeRouterKey(node: string, family: Family): string {
  return `node/${node}/${familyName(family)}`;
}

/** vrrp_instance name of an instance key. */
function instanceName(key: string): string {
  return key.replaceAll("/", "_");
}

/** Nodes that can run an instance of the family: in unicast mode, those with an address of it. */
function familyNodes(group: GroupSurroundings, family: Family): string[] {
  return group.model.unicast
    ? group.nodes.filter((n) => n.addresses[family] !== undefined).map((n) => n.name)
    : group.nodes.map((n) => n.name);
}

/** One instance per family for a Service with settings or endpoints of its own, ranked as placed. */
function dedicatedRouters(
  group: GroupSurroundings,
  item: VipItem,
  ranking: readonly string[],
): UnnumberedRouter[] {
  const claim = item.claim;
  const routers: UnnumberedRouter[] = [];
  for (const family of [4, 6] as const) {
    const vips = item.vips.filter((v) => v.family === family);
    if (vips.length === 0) continue;
    const allowed = new Set(familyNodes(group, family));
    const key = serviceRouterKey(claim, family);
    const router: UnnumberedRouter = {
      key,
      name: instanceName(key),
      family,
      vips: vips.map((v) => v.text),
      priorities: ranking
        .filter((n) => allowed.has(n))
        .slice(0, group.model.vrrp.instanceNodes)
        .map((node, rank) => ({ node, priority: priorityForRank(rank) })),
      services: [claim.key],
      settings: claim.instanceSettings,
    };
    if (claim.healthCheckNodePort !== undefined) router.healthCheckNodePort = claim.healthCheckNodePort;
    routers.push(router);
  }
  return routers;
}

/** Adds the item's VIPs to the pooled instances of the node that holds them, one per family. */
function addToPool(pooled: Map<string, PooledVips>, item: VipItem, primary: string): void {
  for (const ip of item.vips) {
    const key = nodeRouterKey(primary, ip.family);
    const entry = pooled.get(key) ?? { vips: [], services: new Set<string>() };
    entry.vips.push(ip);
    for (const owner of item.claims) entry.services.add(owner.key);
    pooled.set(key, entry);
  }
}

/**
 * One pooled instance per node and family, VIPs or not, so a new VIP joins an instance that is already
 * MASTER on its node. The families: those the group's nodes have addresses of, and those of its VIPs.
 */
function pooledRouters(group: GroupSurroundings, pooled: Map<string, PooledVips>): UnnumberedRouter[] {
  const routers: UnnumberedRouter[] = [];
  for (const family of [4, 6] as const) {
    const used =
      group.nodes.some((n) => n.addresses[family] !== undefined) ||
      [...pooled.keys()].some((k) => k.endsWith(`/${familyName(family)}`));
    if (!used) continue;
    const nodes = familyNodes(group, family);
    for (const node of nodes) {
      const key = nodeRouterKey(node, family);
      const entry = pooled.get(key) ?? { vips: [], services: new Set<string>() };
      // Backups ranked without the family, so a dual-stack Service's VIPs fail over to the same node; the
      // best instanceNodes - 1 of them (rendezvous hashing: a node joining changes only the instances it enters).
      const ranking = [
        node,
        ...rankNodes(
          `node/${node}`,
          nodes.filter((n) => n !== node),
          group.model.vrrp.instanceNodes - 1,
        ),
      ];
      routers.push({
        key,
        name: instanceName(key),
        family,
        vips: entry.vips.sort(compareIPs).map((v) => v.text),
        priorities: ranking.map((n, rank) => ({ node: n, priority: priorityForRank(rank) })),
        services: [...entry.services].sort(),
        settings: [],
      });
    }
  }
  return routers;
}

/** The router with its router ID and the anchor that ID gives it. */
export function numberRouter(router: UnnumberedRouter, routerId: number, model: GroupModel): VirtualRouter {
  return { ...router, routerId, anchor: anchorAddress(router.family, routerId, model.vrrp.anchorIPv4Cidr) };
}
