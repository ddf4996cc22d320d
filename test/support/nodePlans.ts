// A group's node plan ConfigMaps as the API server holds them, read the way the agents and the controller
// read them: each node's share (plain or gzipped), and the group's placement merged from them.
import type { ConfigMapObject } from "../../src/api/kube.js";
import { GROUP_LABEL, NODE_LABEL } from "../../src/api/names.js";
import type { PlanV1 } from "../../src/api/plan.js";
import { previousPlacement } from "../../src/controller/snapshot.js";
import type { KubeClient } from "../../src/kube/rest.js";
import { isNodePlan, nodePlanText, placementOfPlanObject } from "../../src/render/nodePlans.js";
import { parsePlan } from "../../src/render/planCodec.js";

export interface StoredPlan {
  name: string;
  /** The node label (the node's name when it is a valid label value). */
  node: string;
  plan: PlanV1;
  /** The object's size as served, in bytes of JSON. */
  bytes: number;
  resourceVersion: string;
}

export interface GroupPlans {
  byNode: Map<string, StoredPlan>;
  /** VIP → node, merged from every node's plan. */
  placement: Record<string, string>;
}

export async function readGroupPlans(
  client: KubeClient,
  namespace: string,
  group: string,
): Promise<GroupPlans> {
  const list = await client.request<{ items: ConfigMapObject[] }>(
    "GET",
    `/api/v1/namespaces/${namespace}/configmaps?labelSelector=${encodeURIComponent(`${GROUP_LABEL}=${group}`)}`,
  );
  const items = list.items.filter(isNodePlan);
  const byNode = new Map<string, StoredPlan>();
  for (const cm of items) {
    const read = nodePlanText(cm);
    if ("error" in read) throw new Error(`${cm.metadata.name ?? ""}: ${read.error}`);
    byNode.set(cm.metadata.labels?.[NODE_LABEL] ?? "", {
      name: cm.metadata.name ?? "",
      node: cm.metadata.labels?.[NODE_LABEL] ?? "",
      plan: parsePlan(read.text, cm.metadata.name ?? ""),
      bytes: Buffer.byteLength(JSON.stringify(cm)),
      resourceVersion: cm.metadata.resourceVersion ?? "",
    });
  }
  const placement = previousPlacement(items, placementOfPlanObject)[`${namespace}/${group}`] ?? {};
  return { byNode, placement };
}
