// The membership cap (spec.vrrp.instanceNodes, default 5): an instance runs on its primary node and at most
// instanceNodes - 1 backups, ranked by rendezvous hashing, so a node's keepalived.conf grows with what it may
// hold, not with the group. Counted over whole plans: member counts, what a new node or new Services change,
// and the answer to values the field cannot take.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GROUP_ANNOTATION, VERBATIM_CONFIG_ANNOTATION } from "../../src/api/names.js";
import type { KeepalivedGroup } from "../../src/api/types.js";
import type { ClusterSnapshot, ServiceObject } from "../../src/core/objects.js";
import { planCluster, type GroupPlan, type VirtualRouter } from "../../src/core/plan.js";

function group(instanceNodes?: unknown): KeepalivedGroup {
  const vrrp = instanceNodes === undefined ? {} : { instanceNodes: instanceNodes as number };
  return {
    metadata: { name: "g", namespace: "kao", creationTimestamp: "2023-01-01T00:00:00Z" },
    spec: { interface: "eth0", vrrp, addressPools: [{ name: "p", addresses: ["198.18.0.0/22"] }] },
  };
}
/** Service i: created i seconds in; every fifth has a verbatimconfig, so an instance of its own. */
function service(i: number): ServiceObject {
  const annotations: Record<string, string> = { [GROUP_ANNOTATION]: "kao/g" };
  if (i % 5 === 0) annotations[VERBATIM_CONFIG_ANNOTATION] = JSON.stringify({ garp_master_refresh: "60" });
  return {
    metadata: {
      name: `s${i}`,
      namespace: "app",
      creationTimestamp: new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString(),
      annotations,
    },
    spec: { type: "LoadBalancer", ports: [{ protocol: "TCP", port: 80 }] },
  };
}
function snapshot(nodes: number, services: number, instanceNodes?: unknown): ClusterSnapshot {
  return {
    groups: [group(instanceNodes)],
    nodes: Array.from({ length: nodes }, (_, i) => ({
      metadata: { name: `n${String(i).padStart(2, "0")}` },
      status: { addresses: [{ type: "InternalIP", address: `198.19.0.${i + 1}` }] },
    })),
    services: Array.from({ length: services }, (_, i) => service(i)),
  };
}
function only(snap: ClusterSnapshot): GroupPlan {
  const plan = planCluster(snap);
  assert.equal(plan.invalidGroups.length, 0, JSON.stringify(plan.invalidGroups));
  assert.equal(plan.groups.length, 1);
  return plan.groups[0]!;
}
/** The same snapshot planned again from this plan's placement and ingress, as the controller does. */
function after(
  previous: ClusterSnapshot,
  plan: ReturnType<typeof planCluster>,
  next: ClusterSnapshot,
): ClusterSnapshot {
  return {
    ...next,
    previousPlacement: Object.fromEntries(plan.groups.map((g) => [g.group.key, g.placement])),
    ownIngress: Object.fromEntries(plan.services.map((s) => [s.key, s.announced.map((a) => a.ip)])),
  };
}
const members = (i: VirtualRouter): string[] => i.priorities.map((p) => p.node);
const byKey = (g: GroupPlan): Map<string, VirtualRouter> => new Map(g.instances.map((i) => [i.key, i]));

describe("instance membership: spec.vrrp.instanceNodes", () => {
  for (const [nodes, k] of [
    [3, undefined],
    [5, undefined],
    [4, 4],
    [2, 2],
  ] as const) {
    it(`${nodes} nodes, instanceNodes ${k ?? "unset"}: every node runs every instance, priorities as before`, () => {
      const g = only(snapshot(nodes, 20, k));
      const pooled = g.instances.filter((i) => i.key.startsWith("node/"));
      const dedicated = g.instances.filter((i) => i.key.startsWith("service/"));
      assert.equal(pooled.length, nodes);
      assert.equal(dedicated.length, 4);
      for (const i of g.instances) {
        assert.deepEqual([...members(i)].sort(), g.nodes.map((n) => n.name).sort(), i.key);
        assert.deepEqual(
          i.priorities.map((p) => p.priority),
          [250, 240, 120, 60, 30].slice(0, nodes),
        );
      }
    });
  }

  for (const [nodes, k] of [
    [12, undefined],
    [12, 3],
    [40, 7],
    [6, 5],
  ] as const) {
    it(`${nodes} nodes, instanceNodes ${k ?? "unset"}: each instance has exactly K members, its primary first`, () => {
      const want = k ?? 5;
      const g = only(snapshot(nodes, 60, k));
      let counted = 0;
      for (const i of g.instances) {
        assert.equal(i.priorities.length, want, i.key);
        assert.equal(new Set(members(i)).size, want, i.key);
        // The pooled instance of node X is led by X; a dedicated one by the node its VIPs are placed on.
        const primary = i.key.startsWith("node/") ? i.key.split("/")[1] : g.placement[i.vips[0] ?? ""];
        assert.equal(i.priorities[0]?.node, primary, i.key);
        counted++;
      }
      assert.equal(counted, nodes + 12);
      // Every node still runs its own pooled instance, and some others' — never all of them.
      for (const n of g.nodes) {
        const runs = g.instances.filter((i) => i.key.startsWith("node/") && members(i).includes(n.name));
        assert.ok(
          runs.some((i) => i.key === `node/${n.name}/ipv4`),
          n.name,
        );
      }
    });
  }

  it("a node joining changes only the instances whose top K it enters, by one member each", () => {
    const before = snapshot(12, 60);
    const first = planCluster(before);
    const grown = snapshot(13, 60);
    const second = planCluster(after(before, first, grown));
    const [a, b] = [byKey(first.groups[0]!), byKey(second.groups[0]!)];
    let entered = 0;
    for (const [key, old] of a) {
      const now = b.get(key);
      assert.ok(now !== undefined, key);
      if (members(now)[0] !== members(old)[0]) continue; // a dedicated instance whose VIP moved
      const joined = members(now).includes("n12");
      if (!joined) {
        assert.deepEqual(now.priorities, old.priorities, key);
        continue;
      }
      entered++;
      const left = members(old).filter((n) => !members(now).includes(n));
      assert.equal(left.length, 1, key);
    }
    assert.ok(entered > 0 && entered < a.size, `${entered} of ${a.size}`);
    assert.ok(b.has("node/n12/ipv4"));
    assert.equal(members(b.get("node/n12/ipv4")!).length, 5);
  });

  it("adding Services moves no VIP and changes no instance's members", () => {
    const before = snapshot(12, 40);
    const first = planCluster(before);
    const second = planCluster(after(before, first, snapshot(12, 80)));
    const [a, b] = [first.groups[0]!, second.groups[0]!];
    for (const [vip, node] of Object.entries(a.placement)) assert.equal(b.placement[vip], node, vip);
    const now = byKey(b);
    for (const old of a.instances) assert.deepEqual(now.get(old.key)?.priorities, old.priorities, old.key);
  });

  for (const wrong of [0, 1, 256, "5", 2.5, -3]) {
    it(`instanceNodes ${JSON.stringify(wrong)} is an error of the group naming the field and the fix`, () => {
      const plan = planCluster(snapshot(6, 3, wrong));
      assert.equal(plan.groups.length, 0);
      const errors = plan.invalidGroups[0]?.diagnostics ?? [];
      const d = errors.find((e) => e.field === "spec.vrrp.instanceNodes");
      assert.ok(d, JSON.stringify(errors));
      assert.equal(d.severity, "Error");
      assert.match(d.message, /whole number/);
      // The Services are told why they are not announced, not left silent.
      assert.ok(plan.services.every((s) => s.diagnostics.some((x) => x.reason === "GroupNotFound")));
    });
  }

  it("instanceNodes 255 and 2 are taken", () => {
    assert.equal(only(snapshot(6, 3, 255)).instances[0]?.priorities.length, 6);
    assert.equal(only(snapshot(6, 3, 2)).instances[0]?.priorities.length, 2);
  });
});
