// Records keyed by data (VIPs → nodes), with hundreds of entries each. Built key by key, or copied with
// Object.fromEntries or a spread, such an object can stay in V8's "fast" mode, where every key added makes a new
// hidden class and the object keeps the whole chain of them alive: the controller held 23 MiB of hidden classes
// for 100 node plans' placements at 4,000 Services. An object that starts in dictionary mode stays a hash table.
// Plain objects all the same (Object.prototype, own enumerable keys), so callers and tests see no difference.

/** An empty plain object in dictionary mode (V8 turns an object into one when a property other than its last is deleted). */
export function dictionary<T>(): Record<string, T> {
  const o: Record<string, T | undefined> = { first: undefined, second: undefined };
  delete o.first;
  delete o.second;
  return o as Record<string, T>;
}

/** A dictionary-mode copy of `entries`, in their order. Keys are data, never "__proto__" (VIPs, names). */
export function dictionaryOf<T>(entries: Iterable<readonly [string, T]>): Record<string, T> {
  const out = dictionary<T>();
  for (const [k, v] of entries) out[k] = v;
  return out;
}
