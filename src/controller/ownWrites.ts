// Read your own writes. A watch cache lags behind the writes that made it: a reconcile that started before the
// cache caught up with the previous one's status writes would plan from Services without their published IPs
// and could hand those IPs to others. So the controller keeps every object the API server answered its writes
// with, and reads it in place of the cached copy until the cache holds that write or a later version.
// resourceVersions are compared as integers (etcd revisions, which every kube-apiserver uses); an object whose
// version is not an integer is taken from the cache as it is.
import { GROUP_VERSION, KIND, PLURAL } from "../api/names.js";
import { objectKey } from "./live.js";
import type { WrittenObject } from "./writer.js";

/** The informers' paths of the kinds this controller writes. */
export const GROUPS_PATH = `/apis/${GROUP_VERSION}/${PLURAL}`;
export const PATHS = {
  Service: "/api/v1/services",
  ConfigMap: "/api/v1/configmaps",
  DaemonSet: "/apis/apps/v1/daemonsets",
} as const;
export const PATH_OF: Readonly<Record<string, string | undefined>> = { ...PATHS, [KIND]: GROUPS_PATH };

interface Versioned {
  metadata: { namespace?: string; name?: string; uid?: string; resourceVersion?: string };
}

function revision(rv: string | undefined): bigint | undefined {
  return rv !== undefined && /^\d{1,30}$/.test(rv) ? BigInt(rv) : undefined;
}

/** Whether version `have` includes the write that produced version `wrote` (unknown: yes). */
export function includes(have: string | undefined, wrote: string | undefined): boolean {
  const a = revision(have);
  const b = revision(wrote);
  return a === undefined || b === undefined || a >= b;
}

/**
 * The cached list with our written objects in place of older cached copies. `cacheRv` is the newest version
 * the cache has seen; `created`: objects we create (a ConfigMap) count even when the cache has none yet,
 * while a missing Service or group was deleted. Returns the list and the keys whose write the cache holds.
 * `keyOf`: the key of a cached object (a caller that keeps one per object saves making 10,000 on each pass).
 */
export function overlayWrites<T extends Versioned>(
  cached: readonly T[],
  written: ReadonlyMap<string, Versioned>,
  cacheRv: string,
  created: boolean,
  keyOf: (o: T) => string = objectKey,
): { list: T[]; caughtUp: string[] } {
  const caughtUp: string[] = [];
  const used = new Set<string>();
  const list = cached.map((o) => {
    const key = keyOf(o);
    const mine = written.get(key);
    if (mine === undefined) return o;
    used.add(key);
    const replaced = mine.metadata.uid !== undefined && mine.metadata.uid !== o.metadata.uid;
    if (replaced || includes(o.metadata.resourceVersion, mine.metadata.resourceVersion)) {
      caughtUp.push(key);
      return o;
    }
    return mine as T;
  });
  for (const [key, mine] of written) {
    if (used.has(key)) continue;
    if (!created || includes(cacheRv, mine.metadata.resourceVersion)) caughtUp.push(key);
    else list.push(mine as T);
  }
  return { list, caughtUp };
}

/** The objects of one kind this controller wrote, until its cache catches up with them. */
export class OwnWrites {
  private readonly written = new Map<string, WrittenObject>();

  /** @param created whether the controller creates objects of this kind (see overlayWrites) */
  constructor(private readonly created: boolean) {}

  remember(o: WrittenObject): void {
    const key = objectKey(o);
    const before = this.written.get(key);
    // Writes answered out of order: keep the newest.
    if (before === undefined || !includes(before.metadata.resourceVersion, o.metadata.resourceVersion))
      this.written.set(key, o);
  }

  /** Drops what we wrote to `namespace/name` (the object was deleted). */
  forget(key: string): void {
    this.written.delete(key);
  }

  /**
   * The cached objects as this controller last wrote them; forgets writes the cache has caught up with.
   * `cached` becomes the caller's: it is returned as it is when nothing we wrote is pending.
   */
  overlay<T extends Versioned>(cached: T[], cacheRv: string, keyOf?: (o: T) => string): T[] {
    if (this.written.size === 0) return cached;
    const { list, caughtUp } = overlayWrites(cached, this.written, cacheRv, this.created, keyOf);
    for (const key of caughtUp) this.written.delete(key);
    return list;
  }

  get size(): number {
    return this.written.size;
  }
}

/** A cache change as an informer reports it (undefined: a list replaced the cache). */
export interface ObservedChange {
  type: string;
  key: string;
  resourceVersion: string | undefined;
}

/**
 * Whether the watch events since the last reconcile only echo this controller's own writes: objects at exactly
 * the version a write of ours was answered with. The reconcile that wrote them decided from that content, so
 * those echoes need no reconcile of their own (each one would cost a whole pass and delay the next real
 * change). Anything else — another writer's version, a deletion, a relist, too many changes to keep — calls
 * for one. Events may arrive before the answers of the writes they echo, so they are judged when the next
 * reconcile starts, after the writes of the one before have all been answered.
 */
export class OwnEchoes {
  private readonly versions = new Map<string, string>();
  /** Changes since the last reconcile started; undefined: one of them needs a reconcile whatever it is. */
  private changes: { path: string; change: ObservedChange }[] | undefined = [];

  /** At most `limit` versions and changes are kept (a replica that does not lead observes without judging). */
  constructor(private readonly limit = 10_000) {}

  /** A write of ours, watched by the informer of `path`, was answered with `o`. */
  wrote(path: string, o: Versioned): void {
    const rv = o.metadata.resourceVersion;
    if (rv === undefined) return;
    // Bounded: echoes that never come (the object deleted first) must not pile up.
    if (this.versions.size >= this.limit) this.versions.clear();
    // Joined: flat text, where a template's pieces would be kept as a tree (thousands of keys at scale).
    this.versions.set([path, objectKey(o)].join("|"), rv);
  }

  /** The informer of `path` changed its cache (a watch event, or a whole list when `change` is undefined). */
  observe(path: string, change: ObservedChange | undefined): void {
    if (this.changes === undefined) return;
    // Undefined (a list) or more than can be kept (a replica that does not lead keeps observing): reconcile.
    if (change === undefined || this.changes.length >= this.limit) this.changes = undefined;
    else this.changes.push({ path, change });
  }

  /** Whether every change since the last call echoes our own writes (and there was one); starts over. */
  onlyEchoes(): boolean {
    const changes = this.changes;
    this.changes = [];
    return changes !== undefined && changes.length > 0 && changes.every((c) => this.isEcho(c.path, c.change));
  }

  private isEcho(path: string, change: ObservedChange): boolean {
    const id = [path, change.key].join("|");
    const mine = this.versions.get(id);
    if (mine === undefined) return false;
    if (change.type === "DELETED" || change.resourceVersion === undefined) {
      this.versions.delete(id);
      return false;
    }
    if (mine !== change.resourceVersion) {
      // A later version than ours: someone else wrote after us.
      if (includes(change.resourceVersion, mine)) this.versions.delete(id);
      return false;
    }
    this.versions.delete(id);
    return true;
  }
}
