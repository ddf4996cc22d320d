// Numbering a group's routers: the instances that got a router ID, and what each Service learns from them
// (where each of its VIPs is announced, or that its instance got no router ID). Pure; made from the group's
// routers, claims and model alone, so the planner memo can reuse it while those are the same.
import { GROUP_ANNOTATION } from "../api/names.js";
import type { UnnumberedRouter, VipOutcome, VirtualRouter } from "./clusterPlan.js";
import { annotationField, serviceObject, warningOn, type Diagnostic } from "./diagnostics.js";
import type { PendingGroup } from "./planInputs.js";
import { numberRouter } from "./routers.js";
import type { ServiceClaim } from "./service.js";

/**
 * What numbering a group's routers gives: its instances, and what its Services learn (where each VIP is
 * announced, or that it got no router ID). Made from the group's routers, claims and model alone.
 */
export interface NumberedGroup {
  instances: VirtualRouter[];
  announced: [string, VipOutcome][];
  unnumbered: [string, Diagnostic][];
}

export function numberGroup(group: PendingGroup, assigned: Readonly<Record<string, number>>): NumberedGroup {
  const model = group.model;
  const claims = new Map(group.claims.map((c) => [c.key, c]));
  const out: NumberedGroup = { instances: [], announced: [], unnumbered: [] };
  for (const router of group.routers) {
    const routerId = assigned[router.key];
    if (routerId === undefined) {
      for (const key of router.services) {
        const claim = claims.get(key);
        if (claim === undefined) continue;
        out.unnumbered.push([
          key,
          warningOn(
            serviceObject(claim),
            annotationField(GROUP_ANNOTATION),
            "RouterIDsExhausted",
            `group ${model.key} has no free virtual router ID for ${router.vips.join(", ")}; see the group's status.`,
          ),
        ]);
      }
      continue;
    }
    out.instances.push(numberRouter(router, routerId, model));
    announce(router, claims, out.announced);
  }
  return out;
}

/** Tells each Service of the router which of its VIPs it carries, and on which node. */
function announce(
  router: UnnumberedRouter,
  claims: ReadonlyMap<string, ServiceClaim>,
  out: [string, VipOutcome][],
): void {
  const node = router.priorities[0]?.node;
  // A VIP can be listed twice (a spreading Service sharing with one that does not): announced as often.
  const times = new Map<string, number>();
  for (const vip of router.vips) times.set(vip, (times.get(vip) ?? 0) + 1);
  for (const key of router.services) {
    for (const vip of claims.get(key)?.vips ?? []) {
      for (let n = times.get(vip.text) ?? 0; n > 0; n--) {
        const outcome: VipOutcome = { ip: vip.text, instance: router.name };
        if (node !== undefined) outcome.node = node;
        out.push([key, outcome]);
      }
    }
  }
}
