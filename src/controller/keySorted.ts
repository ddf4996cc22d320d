// One cache's objects in key order, pass after pass, without sorting 10,000 objects again each time. Pure.
// A cache lists its objects in the order they were first stored: a changed object stays where it was, a new
// one comes last. So the next sorted list is the last one with the replaced objects put in their places and
// the new ones inserted; anything else (an object gone, the order changed, two objects of one key, many new
// ones at once) is sorted afresh. Either way the result is the list sorted by key, as sortedByKey gives it.
import { lowerBound, sortedByKey } from "./live.js";

type Named = { metadata: { namespace?: string; name?: string } };

/** More new objects than this in one pass: sorting afresh is cheaper than inserting each. */
const MAX_INSERTED = 256;

export class KeySorted<T extends Named> {
  private last: { input: readonly T[]; sorted: T[]; unique: boolean } | undefined;

  constructor(private readonly keyOf: (o: T) => string) {}

  /** `list` sorted by key (code-unit order; of two objects of one key, the one listed first comes first). */
  sort(list: readonly T[]): { sorted: T[]; unique: boolean } {
    const next = this.fromLast(list) ?? this.afresh(list);
    this.last = { input: list, ...next };
    return next;
  }

  private afresh(list: readonly T[]): { sorted: T[]; unique: boolean } {
    const sorted = sortedByKey(list, this.keyOf);
    let unique = true;
    for (let i = 1; i < sorted.length && unique; i++)
      unique = this.keyOf(sorted[i - 1] as T) !== this.keyOf(sorted[i] as T);
    return { sorted, unique };
  }

  private fromLast(list: readonly T[]): { sorted: T[]; unique: boolean } | undefined {
    const last = this.last;
    if (last === undefined || !last.unique) return undefined;
    const before = last.input;
    if (list.length < before.length || list.length - before.length > MAX_INSERTED) return undefined;
    const out = last.sorted.slice();
    for (let i = 0; i < before.length; i++) {
      const o = list[i] as T;
      const was = before[i] as T;
      if (o === was) continue;
      const key = this.keyOf(o);
      if (key !== this.keyOf(was)) return undefined;
      const at = lowerBound(out, key, this.keyOf);
      if (out[at] === undefined || this.keyOf(out[at]) !== key) return undefined;
      out[at] = o;
    }
    for (let i = before.length; i < list.length; i++) {
      const o = list[i] as T;
      const key = this.keyOf(o);
      const at = lowerBound(out, key, this.keyOf);
      if (out[at] !== undefined && this.keyOf(out[at]) === key) return undefined;
      out.splice(at, 0, o);
    }
    return { sorted: out, unique: true };
  }
}
