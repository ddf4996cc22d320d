// A cluster as plain objects for the controller's decision tests, and the API server simulated: what the
// cluster looks like once a decision's actions are written.
import assert from "node:assert/strict";
import type { ConfigMapObject, Manifest } from "../../../src/api/kube.js";
import {
  FIELD_MANAGER,
  GROUP_ANNOTATION,
  GROUP_LABEL,
  HELD_VIPS_ANNOTATION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  NODE_LABEL,
  PLAN_KEY,
} from "../../../src/api/names.js";
import type { KeepalivedGroup, KeepalivedGroupSpec, KeepalivedGroupStatus } from "../../../src/api/types.js";
import type { NodeObject } from "../../../src/core/objects.js";
import { decide, type Action, type ClusterState } from "../../../src/controller/decide.js";
import type { AgentLease } from "../../../src/controller/holders.js";
import type { ServiceWithManagedFields } from "../../../src/render/serviceStatus.js";
import { serializeGroupPlan } from "../../../src/render/planCodec.js";

export const NS = "kao";
export const NOW = Date.parse("2025-06-01T12:00:00Z");
export const LB = { "node-role.kubernetes.io/loadbalancer": "" };

// --- the cluster, as plain objects -----------------------------------------------------------------------

export function group(
  name: string,
  opts: { uid?: string; spec?: KeepalivedGroupSpec; status?: KeepalivedGroupStatus } = {},
): KeepalivedGroup {
  const g: KeepalivedGroup = {
    apiVersion: "redhatcop.redhat.io/v1alpha1",
    kind: "KeepalivedGroup",
    metadata: { name, namespace: NS, uid: opts.uid ?? `uid-${name}`, generation: 1 },
    spec: opts.spec ?? { interface: "ens3", nodeSelector: LB, allowedCIDRs: ["198.18.6.0/24"] },
  };
  if (opts.status !== undefined) g.status = opts.status;
  return g;
}

export function node(name: string, i: number, labels: Record<string, string> = LB): NodeObject {
  return {
    metadata: { name, labels },
    status: { addresses: [{ type: "InternalIP", address: `198.18.0.${11 + i}` }] },
  };
}

export const ours = [
  {
    manager: FIELD_MANAGER,
    operation: "Apply",
    subresource: "status",
    fieldsV1: { "f:status": { "f:loadBalancer": { "f:ingress": {} } } },
  },
];
export const theirs = ours.map((m) => ({ ...m, manager: "openshift-ingress-ip", operation: "Update" }));

export function service(
  name: string,
  opts: {
    ns?: string;
    group?: string;
    type?: string;
    externalIPs?: string[];
    ingress?: string[];
    managedFields?: typeof ours;
    created?: string;
  } = {},
): ServiceWithManagedFields {
  const ns = opts.ns ?? "demo";
  const s: ServiceWithManagedFields = {
    metadata: {
      name,
      namespace: ns,
      uid: `uid-${ns}-${name}`,
      creationTimestamp: opts.created ?? "2025-01-01T00:00:00Z",
      annotations: { [GROUP_ANNOTATION]: opts.group ?? `${NS}/workers` },
      managedFields: opts.managedFields ?? [],
    },
    spec: {
      type: opts.type ?? "LoadBalancer",
      ports: [{ name: "http", protocol: "TCP", port: 80 }],
      ...(opts.externalIPs === undefined ? {} : { externalIPs: opts.externalIPs }),
    },
  };
  if (opts.ingress !== undefined)
    s.status = { loadBalancer: { ingress: opts.ingress.map((ip) => ({ ip })) } };
  return s;
}

export function owned(kind: "ConfigMap" | "DaemonSet", name: string, groupLabel = name): Manifest {
  return {
    apiVersion: kind === "ConfigMap" ? "v1" : "apps/v1",
    kind,
    metadata: {
      name,
      namespace: NS,
      labels: { [GROUP_LABEL]: groupLabel, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
    },
  };
}

/** Our ConfigMap as the agents read it: the plan of `web` in group `name`, with the placement given. */
export function planConfigMap(name: string, placement: Record<string, string>): ConfigMapObject {
  const planned = decide(cluster({ services: [web()] }), { nowMs: NOW, holders: undefined }).plan.groups[0];
  assert.ok(planned !== undefined);
  const text = serializeGroupPlan({ ...planned, placement });
  return { ...owned("ConfigMap", name), data: { [PLAN_KEY]: text } };
}

export function lease(nodeName: string, vips: string[], renewedMsAgo = 1000): AgentLease {
  return {
    metadata: {
      namespace: NS,
      name: `workers-${nodeName}`,
      labels: { [GROUP_LABEL]: "workers", [NODE_LABEL]: nodeName },
      annotations: { [HELD_VIPS_ANNOTATION]: JSON.stringify(vips) },
    },
    spec: { renewTime: new Date(NOW - renewedMsAgo).toISOString(), leaseDurationSeconds: 10 },
  };
}

export function cluster(parts: Partial<ClusterState> = {}): ClusterState {
  return {
    groups: [group("workers")],
    services: [],
    nodes: [node("master-0", 0), node("master-1", 1), node("master-2", 2, {})],
    endpointSlices: [],
    configMaps: [],
    daemonSets: [],
    leases: [],
    namespaces: [],
    networks: [],
    ...parts,
  };
}

export const web = (): ServiceWithManagedFields => service("web", { externalIPs: ["198.18.6.10"] });

// --- the API server, simulated: what the cluster looks like once the actions are written ------------------

export function settled(state: ClusterState, actions: readonly Action[]): ClusterState {
  const next = structuredClone(state);
  const key = (m: { metadata: { namespace?: string; name?: string } }): string =>
    `${m.metadata.namespace ?? ""}/${m.metadata.name ?? ""}`;
  const put = <T extends { metadata: { namespace?: string; name?: string } }>(list: T[], o: T): T[] => [
    ...list.filter((x) => key(x) !== key(o)),
    o,
  ];
  for (const a of actions) {
    if (a.kind === "apply" && a.manifest.kind === "ConfigMap")
      next.configMaps = put(next.configMaps, structuredClone(a.manifest) as ConfigMapObject);
    if (a.kind === "apply" && a.manifest.kind === "DaemonSet")
      next.daemonSets = put(next.daemonSets, structuredClone(a.manifest));
    if (a.kind === "delete" && a.target.kind === "ConfigMap")
      next.configMaps = next.configMaps.filter((o) => key(o) !== key(a.target));
    if (a.kind === "delete" && a.target.kind === "DaemonSet")
      next.daemonSets = next.daemonSets.filter((o) => key(o) !== key(a.target));
    if (a.kind === "applyStatus" && a.manifest.kind === "KeepalivedGroup") {
      const g = next.groups.find((x) => key(x) === key(a.manifest));
      if (g !== undefined) g.status = structuredClone(a.manifest.status as KeepalivedGroupStatus);
    }
    if (a.kind === "applyStatus" && a.manifest.kind === "Service") {
      const s = next.services.find((x) => key(x) === key(a.manifest));
      if (s === undefined) continue;
      const status = structuredClone(a.manifest.status as NonNullable<ServiceWithManagedFields["status"]>);
      s.status = status;
      const empty = (status.loadBalancer?.ingress ?? []).length === 0;
      s.metadata.managedFields = [
        ...(s.metadata.managedFields ?? []).filter((m) => m.manager !== FIELD_MANAGER),
        ...(empty ? [] : ours),
      ];
    }
  }
  return next;
}

/** The cluster once the controller has written everything it wants to (one pass for a new group). */
export function converged(state: ClusterState): ClusterState {
  let next = state;
  for (let pass = 0; pass < 5; pass++) {
    const actions = decide(next, { nowMs: NOW, holders: undefined }).actions.filter(
      (a) => a.kind !== "event",
    );
    if (actions.length === 0) return next;
    next = settled(next, actions);
  }
  throw new Error("the controller never settles");
}
