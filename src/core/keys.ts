// How namespaced objects are named and ordered across the planner: by a `namespace/name` key, oldest first.

/** A namespaced object's name. */
export interface ObjectName {
  namespace: string;
  name: string;
}

/** The `namespace/name` key of an object: how Services and groups are keyed and written in annotations. */
export function objectKey(namespace: string, name: string): string {
  // Joined: one flat text, where a template keeps its pieces as a tree (a claim keeps its key across plans).
  return [namespace, name].join("/");
}

/** The namespace and name of a `namespace/name` key, or undefined when the text is not exactly two parts. */
export function splitObjectKey(key: string): ObjectName | undefined {
  const [namespace, name, extra] = key.split("/");
  if (namespace === undefined || name === undefined || extra !== undefined) return undefined;
  return { namespace, name };
}

/** Orders by key, in code-unit order (not locale order), so output never depends on the machine. */
export function byKey(a: { key: string }, b: { key: string }): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * Sorts in place, as Array.prototype.sort does (stable), without its scratch memory for the short lists
 * met once per Service (a few settings, a few nodes): insertion sort up to 16 items.
 */
export function sortSmall<T>(list: T[], compare: (a: T, b: T) => number): T[] {
  if (list.length > 16) return list.sort(compare);
  for (let i = 1; i < list.length; i++) {
    const item = list[i] as T;
    let j = i - 1;
    while (j >= 0 && compare(list[j] as T, item) > 0) {
      list[j + 1] = list[j] as T;
      j--;
    }
    list[j + 1] = item;
  }
  return list;
}

/** Something created at a time and known by a key. */
export interface Aged {
  /** creationTimestamp (RFC 3339, so text order is time order). */
  createdAt: string;
  key: string;
}

/** Oldest first, ties by key: whoever came first keeps what it holds (an IP, a router ID, a pool). */
export function byAge(a: Aged, b: Aged): number {
  return a.createdAt !== b.createdAt ? (a.createdAt < b.createdAt ? -1 : 1) : byKey(a, b);
}
