// Isolation of the instances keepalived refuses: which rendered line belongs to which instance, which
// instances keepalived's words point at, and the search that keeps every instance that loads. The config test
// is a recording fake here (the real keepalived runs in test/e2e/isolation.test.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { withoutInstances } from "../../../src/agent/candidate.js";
import {
  instanceOfLine,
  isolateInstances,
  refusedChanges,
  suspectInstances,
  type SubsetTest,
} from "../../../src/agent/isolate.js";
import type { PlanInstanceV1, PlanV1 } from "../../../src/api/plan.js";
import { renderKeepalivedConf } from "../../../src/render/keepalivedConf.js";
import { labelledPlan } from "./fixtures.js";

const instance = (name: string, vip: string, extra: Partial<PlanInstanceV1> = {}): PlanInstanceV1 => ({
  name,
  routerId: Number(vip.split(".").at(-1)) - 199,
  family: 4,
  vips: [vip],
  anchor: vip,
  priorities: [{ node: "n1", priority: 200 }],
  services: [`default/${name}`],
  settings: [],
  ...extra,
});

/** A fake keepalived: refuses any config holding one of `bad`, or all of a conflicting pair. */
function fakeKeepalived(
  bad: string[],
  pairs: [string, string][] = [],
  global: string[] = [],
): { test: SubsetTest; calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    test: (names) => {
      calls.push([...names]);
      const set = new Set(names);
      const problems = [
        ...global,
        ...bad.filter((b) => set.has(b)).map((b) => `(${b}) bad setting`),
        ...pairs.filter(([a, b]) => set.has(a) && set.has(b)).map(([a, b]) => `${a} clashes with ${b}`),
      ];
      return Promise.resolve(problems);
    },
  };
}

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `i${String(i).padStart(3, "0")}`);

test("isolateInstances: the good ones load, each bad one is refused with its own words", async () => {
  const all = names(8);
  const k = fakeKeepalived(["i002", "i006"]);
  const r = await isolateInstances(all, new Set(), k.test);
  assert.deepEqual(r.kept, ["i000", "i001", "i003", "i004", "i005", "i007"]);
  assert.deepEqual(
    [...r.refused],
    [
      ["i002", ["(i002) bad setting"]],
      ["i006", ["(i006) bad setting"]],
    ],
  );
  assert.equal(r.global, undefined);
  assert.equal(r.tests, k.calls.length);
  // The kept set was itself tested: what gets loaded is a config keepalived accepted.
  assert.ok(k.calls.some((c) => c.join() === r.kept.join()));
});

test("isolateInstances: right suspects cost one test each; wrong ones still give the right answer", async () => {
  const all = names(200);
  const right = fakeKeepalived(["i150"]);
  const r1 = await isolateInstances(all, new Set(["i150"]), right.test);
  assert.deepEqual([...r1.refused.keys()], ["i150"]);
  assert.equal(r1.kept.length, 199);
  assert.equal(r1.tests, 3, "global, the unsuspected ones, the suspect");
  const wrong = fakeKeepalived(["i150"]);
  const r2 = await isolateInstances(all, new Set(["i007"]), wrong.test);
  assert.deepEqual([...r2.refused.keys()], ["i150"]);
  assert.equal(r2.kept.length, 199);
  assert.ok(r2.tests <= 2 + 2 * Math.ceil(Math.log2(200)) + 1, `${r2.tests} tests`);
});

test("isolateInstances: of two instances that clash, the older (first in plan order) stays", async () => {
  const r = await isolateInstances(names(5), new Set(), fakeKeepalived([], [["i001", "i003"]]).test);
  assert.deepEqual(r.kept, ["i000", "i001", "i002", "i004"]);
  assert.deepEqual([...r.refused], [["i003", ["i001 clashes with i003"]]]);
});

test("isolateInstances: a config that fails without any instance is the group's fault; nothing is kept", async () => {
  const k = fakeKeepalived([], [], ["(global_defs) bad"]);
  const r = await isolateInstances(names(4), new Set(), k.test);
  assert.deepEqual(r, { kept: [], refused: new Map(), global: ["(global_defs) bad"], tests: 1 });
});

test("isolateInstances: every instance bad, in any order of suspects, gives the same answer", async () => {
  const all = names(6);
  const expected = all.map((n) => [n, [`(${n}) bad setting`]]);
  for (const suspects of [[], all, ["i005", "i000"]]) {
    const r = await isolateInstances(all, new Set(suspects), fakeKeepalived(all).test);
    assert.deepEqual(r.kept, []);
    assert.deepEqual(
      [...r.refused].sort(([a], [b]) => (a < b ? -1 : 1)),
      expected,
    );
  }
});

test("instanceOfLine and suspectInstances read keepalived's line numbers and instance names", () => {
  const plan: PlanV1 = labelledPlan([
    instance("good_a", "198.18.0.200"),
    instance("bad_b", "198.18.0.201", { healthCheckNodePort: 30001 }),
    instance("good_c", "198.18.0.202"),
  ]);
  const text = renderKeepalivedConf(plan, { node: "n1", interface: "eth0" });
  const lines = text.split("\n");
  const lineOf = (pattern: string, from = 0): number =>
    lines.findIndex((l, i) => i >= from && l.includes(pattern)) + 1;
  const owners = instanceOfLine(text, plan.instances);
  assert.equal(owners.get(lineOf("vrrp_instance good_a {")), "good_a");
  assert.equal(owners.get(lineOf("virtual_router_id 2")), "bad_b");
  assert.equal(
    owners.get(lineOf("vrrp_script bad_b_health {")),
    "bad_b",
    "a health script is its instance's",
  );
  assert.equal(owners.get(lineOf("router_id lab")), undefined, "global_defs is nobody's");
  assert.equal(owners.get(lineOf("}", lineOf("vrrp_instance good_c {"))), "good_c", "the closing brace too");
  const problems = [
    `(/run/x/keepalived.conf.candidate: Line ${lineOf("virtual_router_id 2")}) number '9999' outside range`,
    "(good_c) VRRPv3 advertisement interval 255.00s is out of range",
    "WARNING - interface eth9 for vrrp_instance good_a doesn't exist",
    "(Line 9999) something past the end",
  ];
  assert.deepEqual([...suspectInstances(problems, text, plan.instances)].sort(), [
    "bad_b",
    "good_a",
    "good_c",
  ]);
  assert.deepEqual([...suspectInstances(["Non-existent interface"], text, plan.instances)], []);
  // A name that is a prefix of another does not count for it.
  assert.deepEqual([...suspectInstances(["(good) x"], text, plan.instances)], []);
});

test("withoutInstances leaves the plan untouched when nothing is dropped", () => {
  const plan = labelledPlan([instance("a", "198.18.0.200"), instance("b", "198.18.0.201")]);
  assert.equal(withoutInstances(plan, new Set()), plan);
  assert.deepEqual(
    withoutInstances(plan, new Set(["a"])).instances.map((i) => i.name),
    ["b"],
  );
  assert.equal(plan.instances.length, 2);
});

test("refusedChanges: new or changed refusals, and the ones that load again", () => {
  const r = (instance: string, why: string) => ({ instance, services: [], problems: [why] });
  assert.deepEqual(refusedChanges([], [r("a", "x")]), { refused: [r("a", "x")], cleared: [] });
  assert.deepEqual(refusedChanges([r("a", "x")], [r("a", "x")]), { refused: [], cleared: [] });
  assert.deepEqual(refusedChanges([r("a", "x"), r("b", "y")], [r("a", "z")]), {
    refused: [r("a", "z")],
    cleared: ["b"],
  });
});
