// Read your own writes. A watch cache lags behind the writes that made it: a reconcile that started before the
// cache caught up with the previous one's status writes would plan from Services without their published IPs
// and could hand those IPs to others. So the controller keeps every object the API server answered its writes
// with, and reads it in place of the cached copy until the cache holds that write or a later version.
// resourceVersions are compared as integers (etcd revisions, which every kube-apiserver uses); an object whose
// version is not an integer is taken from the cache as it is.
import type { WrittenObject } from "./writer.js";

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

const keyOf = (o: Versioned): string => `${o.metadata.namespace ?? ""}/${o.metadata.name ?? ""}`;

/**
 * The cached list with our written objects in place of older cached copies. `cacheRv` is the newest version
 * the cache has seen; `created`: objects we create (a ConfigMap) count even when the cache has none yet,
 * while a missing Service or group was deleted. Returns the list and the keys whose write the cache holds.
 */
export function overlayWrites<T extends Versioned>(
  cached: readonly T[],
  written: ReadonlyMap<string, Versioned>,
  cacheRv: string,
  created: boolean,
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
    const key = keyOf(o);
    const before = this.written.get(key);
    // Writes answered out of order: keep the newest.
    if (before === undefined || !includes(before.metadata.resourceVersion, o.metadata.resourceVersion))
      this.written.set(key, o);
  }

  /** Drops what we wrote to `namespace/name` (the object was deleted). */
  forget(key: string): void {
    this.written.delete(key);
  }

  /** The cached objects as this controller last wrote them; forgets writes the cache has caught up with. */
  overlay<T extends Versioned>(cached: readonly T[], cacheRv: string): T[] {
    if (this.written.size === 0) return [...cached];
    const { list, caughtUp } = overlayWrites(cached, this.written, cacheRv, this.created);
    for (const key of caughtUp) this.written.delete(key);
    return list;
  }

  get size(): number {
    return this.written.size;
  }
}
