// Records keyed by data stay hash tables (core/dictionary.ts): the placements the controller keeps per node plan
// and reads back. V8's own check (%HasFastProperties, through --allow-natives-syntax set at run time) says
// which mode an object is in; a record built with Object.fromEntries is the control that shows the check can fail.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setFlagsFromString } from "node:v8";
import { decide } from "../../src/controller/decide.js";
import { dictionary, dictionaryOf } from "../../src/core/dictionary.js";
import { nodePlanEntries } from "../../src/render/nodePlans.js";
import { compactPlan, placementOfPlan, planV1 } from "../../src/render/planCodec.js";
import { NOW, cluster, service } from "./controller/cluster.js";

setFlagsFromString("--allow-natives-syntax");
// eslint-disable-next-line @typescript-eslint/no-implied-eval -- V8 intrinsics are reachable only through new code
const hasFastProperties = new Function("o", "return %HasFastProperties(o)") as (o: object) => boolean;

const entries = Array.from({ length: 200 }, (_, i) => [`198.18.6.${i + 1}`, `node-${i % 3}`] as const);

describe("dictionary-mode records", () => {
  it("are plain objects: Object.prototype, keys in insertion order, equal to a literal", () => {
    const d = dictionaryOf(entries);
    assert.equal(Object.getPrototypeOf(d), Object.prototype);
    assert.deepStrictEqual(d, Object.fromEntries(entries));
    assert.deepEqual(
      Object.keys(d),
      entries.map(([k]) => k),
    );
    assert.deepStrictEqual(dictionary(), {});
  });

  it("stay hash tables where an object built key by key would not", () => {
    assert.equal(hasFastProperties(Object.fromEntries(entries)), true, "the control: fromEntries is fast");
    assert.equal(hasFastProperties(dictionaryOf(entries)), false);
    const d = dictionary<string>();
    for (const [k, v] of entries) d[k] = v;
    assert.equal(hasFastProperties(d), false);
  });

  it("the planner's, the node plans' and the read-back placements of a group with 200 VIPs are hash tables", () => {
    const services = entries.map(([ip], i) => service(`s${i}`, { externalIPs: [ip] }));
    const gp = decide(cluster({ services }), { nowMs: NOW, holders: undefined }).plan.groups[0];
    assert.ok(gp !== undefined);
    assert.equal(Object.keys(gp.placement).length, 200);
    assert.equal(hasFastProperties(gp.placement), false, "GroupPlan.placement");
    const wire = planV1(gp);
    assert.equal(hasFastProperties(wire.placement), false, "PlanV1.placement");
    const shares = nodePlanEntries(gp, { uid: "u" });
    assert.ok(shares.length > 0);
    for (const s of shares) assert.equal(hasFastProperties(s.placement), false, `share of ${s.node}`);
    const back = placementOfPlan(compactPlan(wire));
    assert.ok(back !== undefined);
    assert.equal(hasFastProperties(back), false, "read back from a plan's text");
  });
});
