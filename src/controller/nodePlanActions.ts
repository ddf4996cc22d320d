// A valid group's node plan objects: write those whose content changed, delete those of nodes that left and
// the group ConfigMap of an earlier release once every node has its own; a share too large to store is an
// Error on the group (never Ready). Pure.
import type { ConfigMapObject, Manifest } from "../api/kube.js";
import { APPLIED_HASH_ANNOTATION, GROUP_LABEL, nodePlanName } from "../api/names.js";
import { errorOn, groupObject, type Diagnostic } from "../core/diagnostics.js";
import type { GroupPlan } from "../core/plan.js";
import { desiredNodePlans, isNodePlan, NODE_PLAN_LIMIT } from "../render/nodePlans.js";

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
 * The writes that make the group's node plans match `gp`, and the problems that leave the group not Ready.
 * `uid` is the group's, for the owner references.
 */
export function decideNodePlans(
  gp: GroupPlan,
  uid: string,
  live: Iterable<ConfigMapObject>,
): { actions: PlanAction[]; problems: Diagnostic[] } {
  const g = gp.group;
  const { manifests, unwritable } = desiredNodePlans(gp, { uid });
  const { nodePlans, legacy } = groupPlanObjects(live, g.namespace, g.name);
  const byName = new Map(nodePlans.map((cm) => [cm.metadata.name ?? "", cm]));
  const actions: PlanAction[] = [];
  for (const { manifest } of manifests) {
    if (appliedHash(byName.get(manifest.metadata.name)) !== appliedHash(manifest))
      actions.push({ kind: "apply", manifest });
  }
  // Nodes that left the group; a node whose share is too large keeps its last object (its agent runs it).
  const keep = new Set(manifests.map((m) => m.manifest.metadata.name));
  for (const u of unwritable) keep.add(nodePlanName(g.name, u.node));
  for (const name of byName.keys()) {
    if (keep.has(name)) continue;
    actions.push({ kind: "delete", target: target(g.namespace, name) });
  }
  // The earlier release's group ConfigMap goes once every node has a plan object of its own (see migration.md).
  if (
    legacy !== undefined &&
    manifests.length > 0 &&
    manifests.every((m) => byName.has(m.manifest.metadata.name))
  )
    actions.push({ kind: "delete", target: target(g.namespace, g.name) });
  return { actions, problems: unwritable.map((u) => tooLarge(gp, u.node, u.bytes)) };
}
