// The caches' objects by `namespace/name`, the way the informers key them. Pure.
import type { ConfigMapObject, DaemonSetObject } from "../api/kube.js";
import type { KeepalivedGroup } from "../api/types.js";
import type { ServiceWithManagedFields } from "../render/serviceStatus.js";
import type { AgentLease } from "./holders.js";
import type { Caches } from "./snapshot.js";

/** Everything the controller watches, as plain objects: what one reconcile decides from. */
export interface ClusterState extends Caches {
  daemonSets: DaemonSetObject[];
  leases: AgentLease[];
}

export function objectKey(o: { metadata: { namespace?: string; name?: string } }): string {
  return `${o.metadata.namespace ?? ""}/${o.metadata.name ?? ""}`;
}

function byKey<T extends { metadata: { namespace?: string; name?: string } }>(list: T[]): Map<string, T> {
  return new Map(list.map((o) => [objectKey(o), o]));
}

/** Objects sorted by `namespace/name`, so that whatever order a cache lists them in, the output is the same. */
export function sortedByKey<T extends { metadata: { namespace?: string; name?: string } }>(list: T[]): T[] {
  const keyed = list.map((o) => ({ o, k: objectKey(o) }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keyed.map((e) => e.o);
}

/** The live objects a reconcile looks up by key. */
export interface LiveObjects {
  groups: Map<string, KeepalivedGroup>;
  services: Map<string, ServiceWithManagedFields>;
  configMaps: Map<string, ConfigMapObject>;
  daemonSets: Map<string, DaemonSetObject>;
}

export function liveObjects(c: ClusterState): LiveObjects {
  return {
    groups: byKey(c.groups),
    services: byKey(c.services),
    configMaps: byKey(c.configMaps),
    daemonSets: byKey(c.daemonSets),
  };
}
