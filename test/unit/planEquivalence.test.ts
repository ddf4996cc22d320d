// The faster planner (issue #13) must plan exactly as the planner before it: over a few thousand seeded random
// snapshots (groups, node selectors, pools, shared and requested IPs, dual stack, Local Services with
// endpoints, verbatim settings, previous placement and ingress, recorded router IDs), planCluster gives the
// same plan as the frozen copy in test/support/legacyCore. The one intended change is the membership cap
// (spec.vrrp.instanceNodes, default 5, random in some groups): each instance keeps its first instanceNodes
// members of the old ranking, with the old priorities, so the old plan is compared after cutting it the same way.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  GROUP_ANNOTATION,
  LOAD_BALANCER_IPS_ANNOTATION,
  SHARING_KEY_ANNOTATION,
  SPREAD_VIPS_ANNOTATION,
  VERBATIM_CONFIG_ANNOTATION,
  ADDRESS_POOL_ANNOTATION,
} from "../../src/api/names.js";
import type { KeepalivedGroup } from "../../src/api/types.js";
import type { ClusterSnapshot as AnySnapshot, NodeObject, ServiceObject } from "../../src/core/objects.js";

/** A snapshot as JSON gives it (ownIngress an object), which both planners read. */
type ClusterSnapshot = AnySnapshot & { ownIngress?: Record<string, string[]> };
import { planCluster, type ClusterPlan } from "../../src/core/plan.js";
import fc from "fast-check";
import {
  groupNumbers,
  groupStrings,
  serviceStrings,
  serviceVerbatim,
  nodeFacts,
} from "../hostile/arbitraries.js";
import { caseObjects, loadWorld, plainCase } from "../hostile/corpus.js";
import {
  planCluster as legacyPlanCluster,
  type ClusterPlan as LegacyPlan,
} from "../support/legacyCore/plan.js";

/** mulberry32: a small seeded PRNG, so every snapshot can be replayed from its seed. */
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

interface Draw {
  rnd: () => number;
  int: (n: number) => number;
  chance: (p: number) => boolean;
  pick: <T>(list: readonly T[]) => T;
}
function draw(seed: number): Draw {
  const rnd = random(seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  return { rnd, int, chance: (p) => rnd() < p, pick: (list) => list[int(list.length)]! };
}

const ZONES = ["a", "b", "c"];
const created = (n: number): string => new Date(Date.UTC(2024, 0, 1) + n * 1000).toISOString();

function group(d: Draw, g: number): KeepalivedGroup {
  const spec: NonNullable<KeepalivedGroup["spec"]> = { interface: "eth0" };
  if (d.chance(0.6)) spec.nodeSelector = { zone: d.pick(ZONES) };
  const pools = [{ name: "p4", addresses: [`198.18.${g * 16}.0/${d.pick([24, 28, 29])}`] }];
  if (d.chance(0.3)) pools.push({ name: "p6", addresses: [`2001:db8:${g}::/120`] });
  if (d.chance(0.2))
    pools.push({ name: "small", addresses: [`198.18.${g * 16 + 8}.1-198.18.${g * 16 + 8}.3`] });
  if (d.chance(0.9)) spec.addressPools = pools;
  if (d.chance(0.5)) spec.allowedCIDRs = [`198.19.${g}.0/24`, "2001:db8:ff::/64"];
  if (d.chance(0.3)) spec.spreadVIPs = false;
  if (d.chance(0.25)) spec.unicastEnabled = true;
  if (d.chance(0.3)) spec.routerIDScope = "Group";
  if (d.chance(0.15)) spec.routerIDRange = { min: 10, max: 10 + d.int(12) };
  if (d.chance(0.15)) spec.blacklistRouterIDs = [1, 2, "3"];
  if (d.chance(0.1)) spec.dedicatedInstancesPerNamespace = d.int(3);
  if (d.chance(0.2)) spec.vrrp = { instanceNodes: d.pick([2, 3, 4, 6, 8]) };
  const out: KeepalivedGroup = {
    metadata: { name: `g${g}`, namespace: "kao", creationTimestamp: created(g) },
    spec,
  };
  if (d.chance(0.3)) out.status = { routerIDs: { [`node/n${d.int(8)}/ipv4`]: 1 + d.int(40) } };
  return out;
}

function node(d: Draw, n: number): NodeObject {
  const addresses = [{ type: "InternalIP", address: `198.19.200.${n + 1}` }];
  if (d.chance(0.4)) addresses.push({ type: "InternalIP", address: `2001:db8:ee::${n + 1}` });
  if (d.chance(0.05)) addresses.pop();
  return { metadata: { name: `n${n}`, labels: { zone: d.pick(ZONES) } }, status: { addresses } };
}

function service(d: Draw, s: number, groups: number): ServiceObject {
  const annotations: Record<string, string> = {
    [GROUP_ANNOTATION]: `kao/g${d.int(groups + (d.chance(0.05) ? 1 : 0))}`,
  };
  const spec: NonNullable<ServiceObject["spec"]> = {
    type: "LoadBalancer",
    ports: [{ protocol: "TCP", port: 80 + d.int(3) }],
  };
  const g = annotations[GROUP_ANNOTATION]!.slice(5);
  if (d.chance(0.15)) spec.externalIPs = [`198.19.${g}.${1 + d.int(30)}`];
  if (d.chance(0.1)) spec.loadBalancerIP = `198.18.${Number(g) * 16}.${1 + d.int(20)}`;
  if (d.chance(0.05))
    annotations[LOAD_BALANCER_IPS_ANNOTATION] =
      `198.18.${Number(g) * 16}.${1 + d.int(20)},2001:db8:${g}::${1 + d.int(9)}`;
  if (d.chance(0.15)) annotations[SHARING_KEY_ANNOTATION] = d.pick(["k1", "k2"]);
  if (d.chance(0.1)) annotations[SPREAD_VIPS_ANNOTATION] = "true";
  if (d.chance(0.05)) annotations[ADDRESS_POOL_ANNOTATION] = d.pick(["p6", "small", "nope"]);
  if (d.chance(0.1))
    annotations[VERBATIM_CONFIG_ANNOTATION] = JSON.stringify({ advert_int: d.pick(["1", "x"]), accept: "" });
  if (d.chance(0.2)) {
    spec.ipFamilyPolicy = d.pick(["PreferDualStack", "RequireDualStack"]);
    spec.ipFamilies = d.pick([
      ["IPv4", "IPv6"],
      ["IPv6", "IPv4"],
    ]);
  }
  if (d.chance(0.15)) {
    spec.externalTrafficPolicy = "Local";
    spec.healthCheckNodePort = 30000 + s;
  }
  if (d.chance(0.05)) spec.type = "ClusterIP";
  return {
    metadata: {
      name: `s${s}`,
      namespace: `ns${d.int(3)}`,
      creationTimestamp: created(100 + d.int(50)),
      annotations,
      labels: { app: d.pick(["web", "db"]) },
    },
    spec,
  };
}

/** A random snapshot; its previous placement and ingress come from planning a part of it first. */
export function randomSnapshot(seed: number, scale = 1): ClusterSnapshot {
  const d = draw(seed);
  const groups = 1 + d.int(3);
  const nodeCount = d.int(Math.ceil(9 * scale));
  const serviceCount = d.int(Math.ceil(30 * scale));
  const snapshot: ClusterSnapshot = {
    groups: Array.from({ length: groups }, (_, g) => group(d, g)),
    nodes: Array.from({ length: nodeCount }, (_, n) => node(d, n)),
    services: Array.from({ length: serviceCount }, (_, s) => service(d, s, groups)),
    namespaces: [{ metadata: { name: "ns0", labels: { team: "x" } } }],
  };
  const local: Record<string, string[]> = {};
  for (const s of snapshot.services)
    if (s.spec?.externalTrafficPolicy === "Local" && d.chance(0.7))
      local[`${s.metadata.namespace}/${s.metadata.name}`] = snapshot.nodes
        .filter(() => d.chance(0.5))
        .map((n) => n.metadata.name ?? "");
  snapshot.localEndpointNodes = local;
  if (d.chance(0.6)) {
    // A history: an earlier plan of some of the Services, on some of the nodes.
    const earlier = legacyPlanCluster({
      ...snapshot,
      services: snapshot.services.filter(() => d.chance(0.6)),
      nodes: snapshot.nodes.filter(() => d.chance(0.8)),
    });
    snapshot.previousPlacement = Object.fromEntries(earlier.groups.map((g) => [g.group.key, g.placement]));
    snapshot.ownIngress = Object.fromEntries(
      earlier.services.map((s) => [s.key, s.announced.map((a) => a.ip)]),
    );
  }
  return snapshot;
}

/** The old plan with each instance cut to its first `k` members, as the membership cap does. */
export function capped(plan: LegacyPlan, snapshot: ClusterSnapshot): LegacyPlan {
  const copy = structuredClone(plan);
  for (const g of copy.groups) {
    const spec = snapshot.groups.find((x) => `kao/${x.metadata.name}` === g.group.key)?.spec;
    const k = spec?.vrrp?.instanceNodes ?? 5;
    for (const i of g.instances) i.priorities = i.priorities.slice(0, k);
  }
  return copy;
}

/** The new plan without the group settings the old planner did not know. */
function comparable(plan: ClusterPlan): unknown {
  const copy = structuredClone(plan);
  for (const g of copy.groups) delete (g.group.vrrp as { instanceNodes?: number }).instanceNodes;
  return copy;
}

describe("the planner plans as it did before issue #13", () => {
  it("gives the same plan as the legacy planner on 3,000 random snapshots (old members cut to instanceNodes)", () => {
    let instances = 0;
    let cut = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      const snapshot = randomSnapshot(seed, seed % 10 === 0 ? 3 : 1);
      const old = legacyPlanCluster(snapshot);
      const now = planCluster(snapshot);
      for (const g of old.groups)
        for (const i of g.instances) {
          instances++;
          if (i.priorities.length > 5) cut++;
        }
      assert.deepStrictEqual(comparable(now), capped(old, snapshot), `seed ${seed}`);
    }
    // The snapshots exercise the cap, and plenty of instances.
    assert.ok(instances > 20000, `${instances} instances`);
    assert.ok(cut > 500, `${cut} instances over the cap`);
  });

  it("is deterministic whatever the order of the snapshot's lists", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const snapshot = randomSnapshot(seed);
      const d = draw(seed * 7919);
      const shuffle = <T>(list: readonly T[]): T[] => {
        const out = [...list];
        for (let i = out.length - 1; i > 0; i--) {
          const j = d.int(i + 1);
          [out[i], out[j]] = [out[j]!, out[i]!];
        }
        return out;
      };
      const reordered = {
        ...snapshot,
        groups: shuffle(snapshot.groups),
        nodes: shuffle(snapshot.nodes),
        services: shuffle(snapshot.services),
      };
      assert.deepStrictEqual(planCluster(reordered), planCluster(snapshot), `seed ${seed}`);
    }
  });

  it("gives the same plan as the legacy planner on hostile inputs (fast-check, the hostile corpus's world)", () => {
    const world = loadWorld();
    let [announced, mistyped] = [0, 0];
    const parts = fc.record({
      group: fc.oneof(groupStrings, groupNumbers),
      services: fc.array(fc.oneof(serviceStrings, serviceVerbatim), { minLength: 1, maxLength: 4 }),
      nodes: nodeFacts.map(({ names, address }) =>
        names.map((name) => ({
          kind: "Node",
          metadata: { name },
          status: { addresses: [{ type: "InternalIP", address }] },
        })),
      ),
    });
    fc.assert(
      fc.property(parts, (p) => {
        const objects = caseObjects(
          world,
          plainCase("equivalence", p as unknown as Parameters<typeof plainCase>[1]),
        );
        const snapshot = {
          groups: objects.groups,
          services: objects.services,
          nodes: objects.nodes,
        } as unknown as ClusterSnapshot;
        const now = planCluster(snapshot);
        assert.deepStrictEqual(comparable(now), capped(legacyPlanCluster(snapshot), snapshot));
        if (now.services.some((x) => x.announced.length > 0)) announced++;
        const all = [...now.services, ...now.groups, ...now.invalidGroups].flatMap((x) => x.diagnostics);
        if (all.some((d) => d.reason === "InvalidType")) mistyped++;
      }),
      { seed: 13, numRuns: 400 },
    );
    // The inputs reach both the announcing and the type-checking paths.
    assert.ok(announced > 100 && mistyped > 20, `${announced} announcing, ${mistyped} mistyped`);
  });
});
