import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { placeItems, type PlacementItem } from "../../src/core/placement.js";

const items = (n: number, prefix = "ns/svc-"): PlacementItem[] =>
  Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, hashKey: `${prefix}${i}`, weight: 1 }));
const loads = (placed: Map<string, string[]>): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const ranking of placed.values())
    if (ranking[0] !== undefined) out[ranking[0]] = (out[ranking[0]] ?? 0) + 1;
  return out;
};
const withPrevious = (list: PlacementItem[], placed: Map<string, string[]>): PlacementItem[] =>
  list.map((it) => {
    const prev = placed.get(it.key)?.[0];
    return prev === undefined ? it : { ...it, previous: prev };
  });

describe("placeItems", () => {
  it("100 VIPs on 3 nodes: the busiest holds at most 34", () => {
    const l = loads(placeItems(items(100), ["a", "b", "c"]));
    assert.ok(Math.max(...Object.values(l)) <= 34, JSON.stringify(l));
  });
  it("1000 VIPs on 7 nodes stay within one of an even share", () => {
    const l = loads(placeItems(items(1000), ["n1", "n2", "n3", "n4", "n5", "n6", "n7"]));
    assert.ok(Math.max(...Object.values(l)) - Math.min(...Object.values(l)) <= 2, JSON.stringify(l));
  });
  it("adding a Service moves no other VIP", () => {
    const nodes = ["a", "b", "c"];
    const before = placeItems(items(60), nodes);
    const after = placeItems(withPrevious(items(61), before), nodes);
    for (const [key, ranking] of before) assert.equal(after.get(key)?.[0], ranking[0], key);
  });
  it("removing a Service moves no other VIP", () => {
    const nodes = ["a", "b", "c"];
    const before = placeItems(items(60), nodes);
    const after = placeItems(withPrevious(items(60).slice(1), before), nodes);
    for (const [key, ranking] of after) assert.equal(ranking[0], before.get(key)?.[0], key);
  });
  it("a node joining takes what the others hold above share + 1, and the rest stay put", () => {
    const before = placeItems(items(90), ["a", "b", "c"]);
    const after = placeItems(withPrevious(items(90), before), ["a", "b", "c", "d"]);
    let moved = 0;
    for (const [key, ranking] of after) if (ranking[0] !== before.get(key)?.[0]) moved++;
    // share = ceil(90 / 4) = 23: a, b and c keep 24 each and d takes the 18 they shed.
    assert.deepEqual(loads(after), { a: 24, b: 24, c: 24, d: 18 });
    assert.equal(moved, 18);
  });
  it("a node leaving moves only its VIPs", () => {
    const before = placeItems(items(90), ["a", "b", "c"]);
    const after = placeItems(withPrevious(items(90), before), ["a", "b"]);
    for (const [key, ranking] of before)
      if (ranking[0] !== "c") assert.equal(after.get(key)?.[0], ranking[0], key);
  });
  it("honours eligibility and reports items with no eligible node", () => {
    const placed = placeItems(
      [
        { key: "x", hashKey: "x", weight: 1, eligible: ["b"] },
        { key: "y", hashKey: "y", weight: 1, eligible: [] },
      ],
      ["a", "b"],
    );
    assert.deepEqual(placed.get("x"), ["b"]);
    assert.deepEqual(placed.get("y"), []);
  });
});
