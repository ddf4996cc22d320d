// The Services in key order, made from the last pass's order (controller/keySorted.ts, issue #13): after every
// pass of a random history — objects replaced in place, added at the end, deleted, the whole list reordered,
// now and then two objects of one key — exactly what sorting the list afresh gives, and whether keys repeat.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { KeySorted } from "../../../src/controller/keySorted.js";
import { objectKey, sortedByKey } from "../../../src/controller/live.js";

type Obj = { metadata: { namespace: string; name: string }; v: number };

const step = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant("replace" as const), at: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant("add" as const), name: fc.nat(40), count: fc.nat(3) }),
  },
  fc.record({ op: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("shuffle" as const), seed: fc.nat() }),
  fc.record({ op: fc.constant("duplicate" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("same" as const) }),
);

let version = 0;
const obj = (name: string): Obj => ({ metadata: { namespace: "demo", name }, v: ++version });

describe("the Services in key order, from the last pass's order", () => {
  it("after every pass of a random history: the list sorted afresh, and whether two objects share a key", () => {
    fc.assert(
      fc.property(fc.array(fc.array(step, { maxLength: 4 }), { minLength: 1, maxLength: 25 }), (passes) => {
        const sorter = new KeySorted<Obj>(objectKey);
        let list: Obj[] = [];
        for (const pass of passes) {
          const next = [...list];
          for (const s of pass) {
            const at = "at" in s && next.length > 0 ? s.at % next.length : -1;
            if (s.op === "replace" && at >= 0) next[at] = obj((next[at] as Obj).metadata.name);
            if (s.op === "delete" && at >= 0) next.splice(at, 1);
            if (s.op === "duplicate" && at >= 0) next.push(obj((next[at] as Obj).metadata.name));
            if (s.op === "shuffle")
              next.sort((a, b) => ((a.v * 7919 + s.seed) % 97) - ((b.v * 7919 + s.seed) % 97));
            if (s.op === "add")
              for (let i = 0; i <= s.count; i++) {
                const name = `s${s.name + i}`;
                // A cache holds one object per key: a new key, or the same key replaced in place.
                const j = next.findIndex((o) => o.metadata.name === name);
                if (j >= 0) next[j] = obj(name);
                else next.push(obj(name));
              }
          }
          list = next;
          const got = sorter.sort(list);
          const want = sortedByKey(list);
          assert.deepStrictEqual(got.sorted, want);
          for (let i = 0; i < want.length; i++) assert.equal(got.sorted[i], want[i], "the very objects");
          const keys = list.map(objectKey);
          assert.equal(got.unique, new Set(keys).size === keys.length);
        }
      }),
      { seed: 2711, numRuns: 500 },
    );
  });
});
