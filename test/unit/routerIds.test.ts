import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allocateRouterIds, type RouterIdRequest } from "../../src/core/routerIds.js";

const req = (groupKey: string, keys: string[], extra: Partial<RouterIdRequest> = {}): RouterIdRequest => ({
  groupKey,
  createdAt: extra.createdAt ?? "2024-01-01T00:00:00Z",
  scope: "Cluster",
  range: { min: 1, max: 255 },
  blacklist: new Set(),
  keys,
  recorded: {},
  ...extra,
});

describe("allocateRouterIds", () => {
  it("lowest free, skipping the blacklist", () => {
    const r = allocateRouterIds([req("a/g", ["x", "y", "z"], { blacklist: new Set([1, 3]) })]);
    assert.deepEqual(r.assigned.get("a/g"), { x: 2, y: 4, z: 5 });
  });
  it("keeps recorded IDs, even when lower ones are free", () => {
    const r = allocateRouterIds([req("a/g", ["x", "y"], { recorded: { y: 7, gone: 1 } })]);
    assert.deepEqual(r.assigned.get("a/g"), { x: 1, y: 7 });
  });
  it("groups of scope Cluster never share an ID; the older group keeps a contested one", () => {
    const r = allocateRouterIds([
      req("b/new", ["p"], { createdAt: "2024-02-01T00:00:00Z", recorded: { p: 1 } }),
      req("a/old", ["q"], { createdAt: "2024-01-01T00:00:00Z", recorded: { q: 1 } }),
    ]);
    assert.deepEqual(r.assigned.get("a/old"), { q: 1 });
    assert.deepEqual(r.assigned.get("b/new"), { p: 2 });
  });
  it("a group of scope Group has its own space", () => {
    const r = allocateRouterIds([req("a/g", ["x"]), req("b/g", ["y"], { scope: "Group" })]);
    assert.deepEqual(r.assigned.get("b/g"), { y: 1 });
  });
  it("a recorded ID outside the range or blacklisted is replaced", () => {
    const r = allocateRouterIds([
      req("a/g", ["x", "y"], {
        range: { min: 10, max: 20 },
        blacklist: new Set([12]),
        recorded: { x: 5, y: 12 },
      }),
    ]);
    assert.deepEqual(r.assigned.get("a/g"), { x: 10, y: 11 });
  });
  it("exhaustion names the instances left without an ID", () => {
    const r = allocateRouterIds([req("a/g", ["a", "b", "c"], { range: { min: 1, max: 2 } })]);
    assert.deepEqual(r.exhausted.get("a/g"), ["c"]);
  });
});
