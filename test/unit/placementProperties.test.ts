// Properties of placement, checked over random histories (seeded, so a failure replays): adding Services,
// in any batches and any order, never moves a VIP that has a node; a batch places exactly as the same
// Services added one at a time in age order; planning again moves nothing; removing Services moves only
// what the load bound needs. Over placeItems, and over planCluster with the previous placement.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GROUP_ANNOTATION } from "../../src/api/names.js";
import type { ClusterSnapshot, ServiceObject } from "../../src/core/objects.js";
import { placeItems, type PlacementItem } from "../../src/core/placement.js";
import { planCluster } from "../../src/core/plan.js";

/** mulberry32: a small seeded PRNG, so every history can be replayed from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function shuffled<T>(list: readonly T[], rnd: () => number): T[] {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
const created = (n: number): string => new Date(Date.UTC(2024, 0, 1) + n * 1000).toISOString();

/**
 * Item n: created n seconds in; one in five carries two VIPs (a dual-stack Service). With `restrictTo`,
 * one in four may only go to some of those nodes (local endpoints, unicast families).
 */
function item(n: number, rnd: () => number, restrictTo?: string[]): PlacementItem {
  const it: PlacementItem = {
    key: `ns/svc-${n}`,
    hashKey: `ns/svc-${n}`,
    weight: rnd() < 0.2 ? 2 : 1,
    createdAt: created(n),
  };
  if (restrictTo !== undefined && rnd() < 0.25) {
    const some = restrictTo.filter(() => rnd() < 0.5);
    it.eligible = some.length > 0 ? some : restrictTo.slice(0, 1);
  }
  return it;
}
type Placement = Map<string, string>;
function place(items: readonly PlacementItem[], nodes: string[], previous: Placement): Placement {
  const withPrevious = items.map((it) => {
    const node = previous.get(it.key);
    return node === undefined ? it : { ...it, previous: node };
  });
  return new Map([...placeItems(withPrevious, nodes)].map(([key, ranking]) => [key, ranking[0] ?? ""]));
}
function moved(before: Placement, after: Placement): string[] {
  return [...before].filter(([key, node]) => after.has(key) && after.get(key) !== node).map(([k]) => k);
}
function loads(items: readonly PlacementItem[], placed: Placement): Map<string, number> {
  const out = new Map<string, number>();
  for (const it of items) out.set(placed.get(it.key)!, (out.get(placed.get(it.key)!) ?? 0) + it.weight);
  return out;
}
/**
 * Every node within the bound: share + its heaviest item (share + 1 for single VIPs), counting only the
 * items every node may hold; the share is of all items.
 */
function assertBound(
  items: readonly PlacementItem[],
  placed: Placement,
  nodes: string[],
  what: string,
): void {
  const total = items.reduce((s, it) => s + it.weight, 0);
  const share = Math.ceil(total / nodes.length);
  const free = items.filter((it) => it.eligible === undefined);
  for (const [node, load] of loads(free, placed)) {
    const heaviest = Math.max(...free.filter((it) => placed.get(it.key) === node).map((it) => it.weight));
    assert.ok(load <= share + heaviest, `${what}: ${node} holds ${load}, share ${share}`);
  }
}

describe("placeItems over random histories", () => {
  const cases: [string, string[], boolean][] = [
    ["3 nodes", ["a", "b", "c"], false],
    ["5 nodes", ["n1", "n2", "n3", "n4", "n5"], false],
    ["3 nodes, some Services on some nodes only", ["a", "b", "c"], true],
  ];
  for (const [name, nodes, restricted] of cases) {
    it(`${name}: batches of new Services in shuffled order never move a placed one; a second plan moves nothing`, () => {
      for (let seed = 1; seed <= 60; seed++) {
        const rnd = random(seed);
        let all: PlacementItem[] = [];
        let placed: Placement = new Map();
        while (all.length < 300) {
          const size = 1 + Math.floor(rnd() * (rnd() < 0.3 ? 120 : 10));
          const batch = Array.from({ length: size }, (_, i) =>
            item(all.length + i, rnd, restricted ? nodes : undefined),
          );
          all = [...all, ...batch];
          const next = place(shuffled(all, rnd), nodes, placed);
          assert.deepEqual(moved(placed, next), [], `seed ${seed}: moved on adding ${size}`);
          assert.deepEqual(
            moved(next, place(all, nodes, next)),
            [],
            `seed ${seed}: moved when planned again`,
          );
          assertBound(all, next, nodes, `seed ${seed}`);
          placed = next;
        }
      }
    });
  }

  it("a batch places exactly as the same Services added one at a time in age order", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = random(seed);
      const nodes = ["a", "b", "c"];
      const start = Array.from({ length: Math.floor(rnd() * 50) }, (_, i) => item(i, rnd));
      const before = place(start, nodes, new Map());
      const added = Array.from({ length: 1 + Math.floor(rnd() * 100) }, (_, i) =>
        item(start.length + i, rnd),
      );
      const all = [...start, ...added];
      const batch = place(shuffled(all, rnd), nodes, before);
      let oneByOne = before;
      for (let i = 1; i <= added.length; i++)
        oneByOne = place(all.slice(0, start.length + i), nodes, oneByOne);
      assert.deepEqual([...batch].sort(), [...oneByOne].sort(), `seed ${seed}`);
    }
  });

  it("the order the items are listed in changes nothing, and planning again moves nothing", () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = random(seed);
      const all = Array.from({ length: 200 }, (_, i) => item(i, rnd));
      const first = place(all, ["a", "b", "c"], new Map());
      assert.deepEqual(place(shuffled(all, rnd), ["a", "b", "c"], new Map()), first, `seed ${seed}`);
      assert.deepEqual(place(shuffled(all, rnd), ["a", "b", "c"], first), first, `seed ${seed}`);
    }
  });

  it("removing Services moves only what nodes hold above share + 1, and only off those nodes", () => {
    const counts: number[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = random(seed);
      const nodes = ["a", "b", "c"];
      const all = Array.from({ length: 300 }, (_, i) => ({ ...item(i, rnd), weight: 1 }));
      const before = place(all, nodes, new Map());
      const kept = shuffled(all, rnd).slice(0, 150);
      const after = place(kept, nodes, before);
      const share = Math.ceil(150 / nodes.length);
      const excess = [...loads(kept, before).values()].reduce((s, l) => s + Math.max(0, l - share - 1), 0);
      const gone = moved(before, after);
      assert.equal(gone.length, excess, `seed ${seed}`);
      for (const key of gone) assert.ok((loads(kept, before).get(before.get(key)!) ?? 0) > share + 1);
      assertBound(kept, after, nodes, `seed ${seed}`);
      counts.push(gone.length);
    }
    console.log(`# deleting 150 of 300 Services on 3 nodes moved ${counts.join(", ")} VIPs (40 seeds)`);
  });
});

const GROUP = "kao/lb";
function service(n: number, created: string): ServiceObject {
  return {
    metadata: {
      namespace: `ns-${n % 7}`,
      name: `bulk-${n}`,
      creationTimestamp: created,
      annotations: { [GROUP_ANNOTATION]: GROUP },
    },
    spec: { type: "LoadBalancer" },
    status: { loadBalancer: { ingress: [{ ip: `198.18.${10 + Math.floor(n / 250)}.${(n % 250) + 1}` }] } },
  };
}
function snapshot(services: ServiceObject[], previous: Record<string, string>): ClusterSnapshot {
  return {
    groups: [{ metadata: { namespace: "kao", name: "lb" }, spec: { interface: "eth0" } }],
    nodes: ["master-0", "master-1", "master-2"].map((name, i) => ({
      metadata: { name },
      status: { addresses: [{ type: "InternalIP", address: `198.18.0.${11 + i}` }] },
    })),
    services,
    previousPlacement: { [GROUP]: previous },
  };
}
const placementOf = (s: ClusterSnapshot): Record<string, string> => planCluster(s).groups[0]?.placement ?? {};
const vipsMoved = (before: Record<string, string>, after: Record<string, string>): string[] =>
  Object.keys(before).filter((vip) => vip in after && after[vip] !== before[vip]);

describe("planCluster with the previous placement", () => {
  it("300 Services in one burst next to 100 placed ones: no VIP of the 100 moves (VIPMoved 0)", () => {
    const old = Array.from({ length: 100 }, (_, n) => service(n, created(n)));
    // A burst: created within two seconds, listed in any order.
    const burst = Array.from({ length: 300 }, (_, n) => service(100 + n, created(1000 + (n % 2))));
    const before = placementOf(snapshot(old, {}));
    const rnd = random(7);
    const after = placementOf(snapshot(shuffled([...old, ...burst], rnd), before));
    assert.equal(Object.keys(after).length, 400);
    assert.deepEqual(vipsMoved(before, after), []);
    // Seen a few at a time in age order (as the controller's informer delivers them), the 300 land
    // exactly where the batch put them.
    const age = (s: ServiceObject): string =>
      `${s.metadata.creationTimestamp ?? ""} ${s.metadata.namespace ?? ""}/${s.metadata.name ?? ""}`;
    const byAge = [...burst].sort((a, b) => (age(a) < age(b) ? -1 : 1));
    let stepwise = before;
    for (let i = 1; i <= 300; i += 37) {
      stepwise = placementOf(snapshot([...old, ...byAge.slice(0, i)], stepwise));
      assert.deepEqual(vipsMoved(before, stepwise), [], `after ${i}`);
    }
    stepwise = placementOf(snapshot([...old, ...burst], stepwise));
    assert.deepEqual(stepwise, after, "batching does not change the placement");
  });

  it("deleting half of 300 Services moves only what the load bound needs", () => {
    const all = Array.from({ length: 300 }, (_, n) => service(n, created(n)));
    const before = placementOf(snapshot(all, {}));
    const half = all.filter((_, n) => n % 2 === 1 || n % 3 === 0).slice(0, 150);
    const after = placementOf(snapshot(half, before));
    const perNode = new Map<string, number>();
    for (const vip of Object.keys(after)) perNode.set(before[vip]!, (perNode.get(before[vip]!) ?? 0) + 1);
    const excess = [...perNode.values()].reduce((s, l) => s + Math.max(0, l - 51), 0);
    const gone = vipsMoved(before, after);
    console.log(
      `# deleting 150 of 300: held ${[...perNode].map(([n, l]) => `${n}=${l}`).join(" ")}; ${gone.length} VIP(s) moved`,
    );
    assert.equal(gone.length, excess);
  });
});
