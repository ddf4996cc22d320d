// Caches → ClusterSnapshot. Pure: reads plain objects, knows which inputs the planner needs.
import type { ConfigMapObject, EndpointSliceObject, NamespaceObject } from "../api/kube.js";
import { GROUP_LABEL, PLAN_KEY } from "../api/names.js";
import type { KeepalivedGroup } from "../api/types.js";
import type { ClusterSnapshot, NodeObject } from "../core/objects.js";
import type { OpenShiftNetwork } from "../core/openshift.js";
import { ownsIngress, withoutOwnIngress, type ServiceWithManagedFields } from "../render/serviceStatus.js";

export interface Caches {
  groups: KeepalivedGroup[];
  services: ServiceWithManagedFields[];
  nodes: NodeObject[];
  endpointSlices: EndpointSliceObject[];
  configMaps: ConfigMapObject[];
  namespaces: NamespaceObject[];
  networks: OpenShiftNetwork[];
}

/** Nodes with a ready endpoint of each Service, by `namespace/name` (for externalTrafficPolicy: Local). */
export function localEndpointNodes(
  services: ServiceWithManagedFields[],
  slices: EndpointSliceObject[],
): Record<string, string[]> {
  const wanted = new Set(
    services
      .filter((s) => s.spec?.externalTrafficPolicy === "Local")
      .map((s) => `${s.metadata.namespace ?? ""}/${s.metadata.name ?? ""}`),
  );
  const out: Record<string, Set<string>> = {};
  for (const key of wanted) out[key] = new Set();
  for (const slice of slices) {
    const svc = slice.metadata.labels?.["kubernetes.io/service-name"];
    const key = `${slice.metadata.namespace ?? ""}/${svc ?? ""}`;
    const nodes = out[key];
    if (svc === undefined || nodes === undefined) continue;
    for (const e of slice.endpoints ?? []) {
      if (e.conditions?.ready !== false && e.nodeName !== undefined) nodes.add(e.nodeName);
    }
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
}

/** Previous placement of each group, read from the plan in its ConfigMap. */
export function previousPlacement(
  configMaps: ConfigMapObject[],
  parse: (cm: ConfigMapObject) => Record<string, string> | undefined,
): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const cm of configMaps) {
    const group = cm.metadata.labels?.[GROUP_LABEL];
    if (group === undefined || group !== cm.metadata.name || cm.data?.[PLAN_KEY] === undefined) continue;
    const placement = parse(cm);
    if (placement !== undefined) out[`${cm.metadata.namespace ?? ""}/${group}`] = placement;
  }
  return out;
}

export function buildSnapshot(
  c: Caches,
  parsePlacement: (cm: ConfigMapObject) => Record<string, string> | undefined,
): ClusterSnapshot {
  return {
    groups: c.groups,
    services: c.services.map(withoutOwnIngress),
    nodes: c.nodes,
    localEndpointNodes: localEndpointNodes(c.services, c.endpointSlices),
    previousPlacement: previousPlacement(c.configMaps, parsePlacement),
    ownIngress: Object.fromEntries(
      c.services
        .filter(ownsIngress)
        .map((s) => [
          `${s.metadata.namespace ?? ""}/${s.metadata.name ?? ""}`,
          (s.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip === undefined ? [] : [i.ip])),
        ]),
    ),
    namespaces: c.namespaces,
    openshiftNetworks: c.networks,
  };
}
