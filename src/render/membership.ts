// Which of a plan's instances a node runs, and which VIPs the plan holds at all: the renderer and the agent
// ask the same questions, so they ask them here. Pure.
import type { PlanInstanceV1, PlanV1 } from "../api/plan.js";

/** The instances in this node's keepalived.conf: those with VIPs in which the node has a priority. */
export function instancesForNode(plan: PlanV1, node: string): PlanInstanceV1[] {
  return plan.instances.filter((i) => i.vips.length > 0 && i.priorities.some((p) => p.node === node));
}

/** Every VIP of the plan, on whichever node: what a dead keepalived of this group may have left. */
export function planVips(plan: PlanV1): string[] {
  return [...new Set(plan.instances.flatMap((i) => i.vips))].sort();
}
