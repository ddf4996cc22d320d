// GroupPlans for the lab, built the way the controller will: KeepalivedGroup + Services + Nodes → planCluster.
// For agents run from a plan file (agents.ts): the e2e tests and the failover benchmark.
import { rename, writeFile } from "node:fs/promises";
import { GROUP_ANNOTATION } from "../api/names.js";
import type { KeepalivedGroup, KeepalivedGroupSpec } from "../api/types.js";
import type { NodeObject, ServiceObject } from "../core/objects.js";
import { planCluster, type GroupPlan } from "../core/plan.js";
import { serializeGroupPlan } from "../render/planCodec.js";
import { NODE_IFACE, type Lab } from "./netns.js";

export const GROUP_NS = "keepalived-operator";
export const GROUP_NAME = "lab";

export function labGroup(spec: KeepalivedGroupSpec = {}): KeepalivedGroup {
  return {
    apiVersion: "redhatcop.redhat.io/v1alpha1",
    kind: "KeepalivedGroup",
    metadata: { name: GROUP_NAME, namespace: GROUP_NS, creationTimestamp: "2024-01-01T00:00:00Z" },
    spec: { interface: NODE_IFACE, nodeSelector: {}, ...spec },
  };
}

/** A LoadBalancer Service of the lab group with the given VIPs; `age` orders Services (lower is older). */
export function labService(
  name: string,
  vips: string[],
  age = 0,
  annotations: Record<string, string> = {},
): ServiceObject {
  return {
    metadata: {
      name,
      namespace: "default",
      creationTimestamp: new Date(Date.UTC(2024, 0, 2, 0, 0, age)).toISOString(),
      annotations: { [GROUP_ANNOTATION]: `${GROUP_NS}/${GROUP_NAME}`, ...annotations },
    },
    spec: { type: "LoadBalancer", ports: [{ port: 80, protocol: "TCP" }] },
    status: { loadBalancer: { ingress: vips.map((ip) => ({ ip })) } },
  };
}

export function labNodes(lab: Lab): NodeObject[] {
  return lab.nodes.map((n) => ({
    metadata: { name: n.name, labels: {} },
    status: {
      addresses: [
        { type: "InternalIP", address: n.ip },
        { type: "InternalIP", address: n.ip6 },
      ],
    },
  }));
}

export function labPlan(
  lab: Lab,
  services: ServiceObject[],
  spec: KeepalivedGroupSpec = {},
  previous?: GroupPlan,
): GroupPlan {
  const snapshot: Parameters<typeof planCluster>[0] = {
    groups: [labGroup(spec)],
    services,
    nodes: labNodes(lab),
  };
  if (previous !== undefined) snapshot.previousPlacement = { [previous.group.key]: previous.placement };
  const plan = planCluster(snapshot);
  const group = plan.groups[0];
  if (group === undefined) throw new Error(`lab group invalid: ${JSON.stringify(plan.invalidGroups)}`);
  return group;
}

/** Replaces the plan file atomically, as a ConfigMap volume or the controller would. */
export async function writePlan(path: string, plan: GroupPlan | string): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, typeof plan === "string" ? plan : serializeGroupPlan(plan));
  await rename(tmp, path);
}

/** VIP n of the lab's range (198.18.0.200 …, then 198.18.1.x): only 198.18.0.0/15 is used. */
export function labVip(n: number): string {
  return n < 50 ? `198.18.0.${200 + n}` : `198.18.1.${n - 50 + 1}`;
}
