// A valid group's node plan objects: write those whose content changed, delete those of nodes that left and
// the group ConfigMap of an earlier release once every node has its own; a share too large to store is an
// Error on the group (never Ready). Pure.
import type { ConfigMapObject, Manifest } from "../api/kube.js";
import { APPLIED_HASH_ANNOTATION, GROUP_LABEL } from "../api/names.js";
import { errorOn, groupObject, type Diagnostic } from "../core/diagnostics.js";
import type { GroupPlan } from "../core/plan.js";
import { isNodePlan, NODE_PLAN_LIMIT, nodePlanEntries, type NodePlanEntry } from "../render/nodePlans.js";

type PlanAction = { kind: "apply"; manifest: Manifest } | { kind: "delete"; target: Manifest };

const appliedHash = (o: { metadata: { annotations?: Record<string, string> } } | undefined) =>
  o?.metadata.annotations?.[APPLIED_HASH_ANNOTATION];

/** The plan ConfigMaps of group `namespace/name` among the live ones: node plans, and an earlier release's. */
export function groupPlanObjects(
  configMaps: Iterable<ConfigMapObject>,
  namespace: string,
  name: string,
): { nodePlans: ConfigMapObject[]; legacy: ConfigMapObject | undefined } {
  const nodePlans: ConfigMapObject[] = [];
  let legacy: ConfigMapObject | undefined;
  for (const cm of configMaps) {
    if (cm.metadata.namespace !== namespace || cm.metadata.labels?.[GROUP_LABEL] !== name) continue;
    if (isNodePlan(cm)) nodePlans.push(cm);
    else if (cm.metadata.name === name) legacy = cm;
  }
  nodePlans.sort((a, b) => ((a.metadata.name ?? "") < (b.metadata.name ?? "") ? -1 : 1));
  return { nodePlans, legacy };
}

function target(namespace: string, name: string): Manifest {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace } };
}

function tooLarge(gp: GroupPlan, node: string, bytes: number): Diagnostic {
  const kib = (n: number): string => `${Math.ceil(n / 1024)} KiB`;
  return errorOn(
    groupObject(gp.group),
    "spec.vrrp.instanceNodes",
    "NodePlanTooLarge",
    `the plan of node ${node} is ${kib(bytes)} even gzipped, over the ${kib(NODE_PLAN_LIMIT)} limit of a plan object, so it is not written and that node's agent keeps its last plan; lower spec.vrrp.instanceNodes, add nodes to the group or move Services to another group`,
  );
}

/**
 * The writes that make the group's node plans match `gp`, the problems that leave the group not Ready, and
 * the placement of every share by content hash (what the controller reads back without parsing its writes).
 * `uid` is the group's, for the owner references.
 */
export function decideNodePlans(
  gp: GroupPlan,
  uid: string,
  live: Iterable<ConfigMapObject>,
  entries: readonly NodePlanEntry[] = nodePlanEntries(gp, { uid }),
): { actions: PlanAction[]; problems: Diagnostic[]; placements: [string, Record<string, string>][] } {
  const g = gp.group;
  const { nodePlans, legacy } = groupPlanObjects(live, g.namespace, g.name);
  const byName = new Map(nodePlans.map((cm) => [cm.metadata.name ?? "", cm]));
  const actions: PlanAction[] = [];
  const problems: Diagnostic[] = [];
  for (const e of entries) {
    if (appliedHash(byName.get(e.name)) === e.hash) continue;
    const manifest = e.manifest();
    // Too large: not written; the node keeps its last object (its agent runs it) and the group is not Ready.
    if (typeof manifest === "number") problems.push(tooLarge(gp, e.node, manifest));
    else actions.push({ kind: "apply", manifest });
  }
  // Nodes that left the group.
  const keep = new Set(entries.map((e) => e.name));
  for (const name of byName.keys()) {
    if (!keep.has(name)) actions.push({ kind: "delete", target: target(g.namespace, name) });
  }
  // The earlier release's group ConfigMap goes once every node has a plan object of its own (see migration.md):
  // in the pass that writes the last of them, after them (the runner writes in order and a failed write
  // retries the pass), since the echo of our own writes triggers no further reconcile.
  if (legacy !== undefined && entries.length > 0 && problems.length === 0)
    actions.push({ kind: "delete", target: target(g.namespace, g.name) });
  return { actions, problems, placements: entries.map((e) => [e.hash, e.placement]) };
}
