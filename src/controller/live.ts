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
  // Joined: one flat text, where a template keeps its pieces as a tree (the memo keeps a key per Service).
  return [o.metadata.namespace ?? "", o.metadata.name ?? ""].join("/");
}

type Named = { metadata: { namespace?: string; name?: string } };

function byKey<T extends Named>(list: readonly T[], keyOf: (o: Named) => string): Map<string, T> {
  return new Map(list.map((o) => [keyOf(o), o]));
}

/** Objects sorted by `namespace/name`, so that whatever order a cache lists them in, the output is the same. */
export function sortedByKey<T extends Named>(list: readonly T[], keyOf: (o: T) => string = objectKey): T[] {
  const keyed = list.map((o) => ({ o, k: keyOf(o) }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  return keyed.map((e) => e.o);
}

/** In a list sorted by key (code-unit order), the first index whose key is not below `key`. */
export function lowerBound<T>(sorted: readonly T[], key: string, keyOf: (o: T) => string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keyOf(sorted[mid] as T) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The live objects a reconcile looks up by key. */
export interface LiveObjects {
  groups: Map<string, KeepalivedGroup>;
  services: Map<string, ServiceWithManagedFields>;
  configMaps: Map<string, ConfigMapObject>;
  daemonSets: Map<string, DaemonSetObject>;
}

export function liveObjects(c: ClusterState, keyOf: (o: Named) => string = objectKey): LiveObjects {
  let services: Map<string, ServiceWithManagedFields> | undefined;
  return {
    groups: byKey(c.groups, keyOf),
    // Looked up only for the uid of a Service an Event is about: made then, not on every pass.
    get services() {
      return (services ??= byKey(c.services, keyOf));
    },
    configMaps: byKey(c.configMaps, keyOf),
    daemonSets: byKey(c.daemonSets, keyOf),
  };
}
