// The IPs each Service holds from an earlier allocation (the ingress the controller wrote), by `namespace/name`:
// ClusterSnapshot.ownIngress. A snapshot read from JSON gives them as an object, conformed on every plan; a
// controller that keeps them across reconciles gives this map, which conforms each value as it is set, so a
// change of one Service costs one entry instead of a new object of every Service.

/** IPs by `namespace/name`: every value a list of text, whatever was set. */
export class PublishedIngress {
  private readonly ips = new Map<string, readonly string[]>();

  /** Sets the Service's IPs: the text entries of `ips` (anything else is dropped), or none when not a list. */
  set(key: string, ips: unknown): void {
    const list = Array.isArray(ips) ? ips.filter((ip): ip is string => typeof ip === "string") : [];
    // The same list object while the IPs are the same: the planner's memo tells inputs by identity.
    const before = this.ips.get(key);
    if (before?.length === list.length && before.every((ip, i) => ip === list[i])) return;
    this.ips.set(key, list);
  }

  delete(key: string): void {
    this.ips.delete(key);
  }

  get(key: string): readonly string[] | undefined {
    return this.ips.get(key);
  }

  get size(): number {
    return this.ips.size;
  }
}

/** What the planner reads: the IPs of a Service by key. */
export interface PublishedIps {
  get(key: string): readonly string[] | undefined;
}

/** A conformed object of lists (conformDerived's) as PublishedIps. */
export function publishedIpsOf(record: Readonly<Record<string, string[]>>): PublishedIps {
  return {
    get: (key) => (Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined),
  };
}
