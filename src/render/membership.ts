// Which of a plan's instances a node runs, and which VIPs the plan holds at all: the renderer and the agent
// ask the same questions, so they ask them here. Pure.
import type { PlanInstanceV1, PlanV1 } from "../api/plan.js";

/**
 * The instances in this node's keepalived.conf: those in which the node has a priority, with an anchor
 * (every instance of this release: it runs before it carries VIPs) or, in an earlier release's plan, VIPs.
 */
export function instancesForNode(plan: PlanV1, node: string): PlanInstanceV1[] {
  return plan.instances.filter(
    (i) => (i.anchor !== "" || i.vips.length > 0) && i.priorities.some((p) => p.node === node),
  );
}

/**
 * Every address keepalived may put on an interface for the plan, on whichever node: its VIPs and its
 * instances' anchors. What a dead keepalived of this group may have left.
 */
export function planVips(plan: PlanV1): string[] {
  return [
    ...new Set(plan.instances.flatMap((i) => (i.anchor === "" ? i.vips : [...i.vips, i.anchor]))),
  ].sort();
}
