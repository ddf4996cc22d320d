// A group's VIPs cut into the items that placement puts on one node each: a Service's VIPs, or each VIP of a
// spreading Service, limited to the nodes that may hold them; Services sharing an IP end up in one item. Pure.
import type { NodeMember } from "./clusterPlan.js";
import type { GroupModel } from "./group.js";
import type { ParsedIP } from "./ip.js";
import type { ClusterSnapshot } from "./objects.js";
import { rankNodes, type PlacementItem } from "./placement.js";
import { isDedicated, type ServiceClaim } from "./service.js";

export interface VipItem extends PlacementItem {
  /** The Service the item was made for; its settings decide how the item is announced. */
  claim: ServiceClaim;
  /** Every Service with VIPs in the item: more than one when they share an IP. */
  claims: ServiceClaim[];
  vips: ParsedIP[];
}

/** Where the group's members are and were: what eligibility and stickiness are read from. */
export interface GroupSurroundings {
  model: GroupModel;
  nodes: readonly NodeMember[];
  localEndpointNodes: ClusterSnapshot["localEndpointNodes"];
  /** The previous plan's placement of the group: VIP → node. */
  previous: Readonly<Record<string, string>>;
}

/** The placement items of the group's Services (sorted by key), shared IPs merged. */
export function vipItems(group: GroupSurroundings, claims: readonly ServiceClaim[]): VipItem[] {
  const nodeNames = group.nodes.map((n) => n.name);
  const members = new Map(group.nodes.map((n) => [n.name, n]));
  // With spreading off, one node holds every pooled VIP and the others stand by.
  const activeNode = rankNodes(group.model.key, nodeNames, 1)[0];
  const items: VipItem[] = [];
  for (const claim of claims) {
    if (claim.vips.length === 0) continue;
    let eligible: string[] | undefined;
    if (claim.localTrafficOnly) {
      const local = group.localEndpointNodes?.[claim.key];
      if (local !== undefined) eligible = nodeNames.filter((n) => local.includes(n));
    }
    if (!isDedicated(claim) && !group.model.spreadVIPs && activeNode !== undefined) eligible = [activeNode];
    const sets = !isDedicated(claim) && claim.spreadVIPs ? claim.vips.map((ip) => [ip]) : [claim.vips];
    for (const vips of sets) {
      const first = vips[0];
      if (first === undefined) continue;
      const item: VipItem = {
        key: sets.length > 1 ? `${claim.key}/${first.text}` : claim.key,
        hashKey: sets.length > 1 ? first.text : claim.key,
        weight: vips.length,
        createdAt: claim.createdAt,
        // A dedicated instance runs on the capped members of the item's ranking; a pooled VIP needs its node only.
        members: isDedicated(claim) ? group.model.vrrp.instanceNodes : 1,
        claim,
        claims: [claim],
        vips,
      };
      // Unicast adverts need the node's own address of every family the item carries.
      const reachable = group.model.unicast
        ? (eligible ?? nodeNames).filter((n) =>
            vips.every((v) => members.get(n)?.addresses[v.family] !== undefined),
          )
        : eligible;
      if (reachable !== undefined) item.eligible = reachable;
      const previous = group.previous[first.text];
      if (previous !== undefined) item.previous = previous;
      items.push(item);
    }
  }
  return mergeSharedVips(items);
}

/** Services sharing an IP must land on one node: their items merge into one, keyed `a+b`. */
export function mergeSharedVips(items: readonly VipItem[]): VipItem[] {
  const merged: VipItem[] = [];
  const byVip = new Map<string, VipItem>();
  for (const item of items) {
    const hit = item.vips.map((v) => byVip.get(v.text)).find((x) => x !== undefined);
    if (hit === undefined) {
      const own = { ...item, claims: [item.claim] };
      merged.push(own);
      for (const v of item.vips) byVip.set(v.text, own);
      continue;
    }
    hit.claims = [...hit.claims, item.claim];
    hit.key = `${hit.key}+${item.key}`;
    // The merged item is as old as its oldest Service.
    if (item.createdAt !== undefined && (hit.createdAt === undefined || item.createdAt < hit.createdAt))
      hit.createdAt = item.createdAt;
    for (const v of item.vips) {
      if (!hit.vips.some((x) => x.text === v.text)) hit.vips = [...hit.vips, v];
      byVip.set(v.text, hit);
    }
    hit.weight = hit.vips.length;
  }
  return merged;
}
