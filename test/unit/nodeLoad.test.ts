// A group whose nodes would hold more VIPs than keepalived carries steadily gets a Warning that names them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { crowdedNodes, crowdedNodesWarning, STEADY_VIPS_PER_NODE } from "../../src/core/nodeLoad.js";
import type { NodeObject, ServiceObject } from "../../src/core/objects.js";
import { planCluster } from "../../src/core/plan.js";
import { labGroup, labService } from "../../src/lab/plans.js";

const vip = (i: number): string => `198.18.${64 + (i >> 8)}.${i & 255}`;

function placement(perNode: Record<string, number>): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  for (const [node, n] of Object.entries(perNode)) for (let k = 0; k < n; k++) out[vip(i++)] = node;
  return out;
}

function plannedWarnings(services: number, nodes: number): string[] {
  const snapshot = {
    groups: [labGroup()],
    services: Array.from({ length: services }, (_, i): ServiceObject => labService(`svc-${i}`, [vip(i)], i)),
    nodes: Array.from({ length: nodes }, (_, i): NodeObject => ({
      metadata: { name: `node-${i + 1}`, labels: {} },
      status: { addresses: [{ type: "InternalIP", address: `198.18.0.${11 + i}` }] },
    })),
  };
  const plan = planCluster(snapshot);
  assert.deepEqual(plan.invalidGroups, []);
  return (plan.groups[0]?.diagnostics ?? []).map((d) => `${d.severity} ${d.reason} ${d.field}: ${d.message}`);
}

describe("VIPs per node", () => {
  it("counts each node's VIPs and lists those over the limit, most loaded first, ties by name", () => {
    const p = placement({ a: 3, b: 5, c: 2, d: 5 });
    assert.deepEqual(crowdedNodes(p, 2), [
      { node: "b", vips: 5 },
      { node: "d", vips: 5 },
      { node: "a", vips: 3 },
    ]);
    assert.deepEqual(crowdedNodes(p, 5), [], "the limit itself is not over it");
  });

  it("the warning names the group's field, the nodes with their counts (five at most) and the fix", () => {
    const d = crowdedNodesWarning(
      { namespace: "ops", name: "workers" },
      placement({ n1: 9, n2: 8, n3: 7, n4: 7, n5: 7, n6: 7, n7: 6, n8: 1 }),
      5,
    );
    assert.equal(d?.severity, "Warning");
    assert.equal(d.reason, "TooManyVIPsPerNode");
    assert.equal(d.field, "spec.nodeSelector");
    assert.deepEqual(d.object, { kind: "KeepalivedGroup", namespace: "ops", name: "workers" });
    assert.match(
      d.message,
      /more than 5 VIPs each: n1 \(9\), n2 \(8\), n3 \(7\), n4 \(7\), n5 \(7\) and 2 more\./,
    );
    assert.match(d.message, /select more nodes for the group \(spec\.nodeSelector\) or spread its Services/);
    assert.equal(
      crowdedNodesWarning({ namespace: "ops", name: "workers" }, placement({ n1: 5 }), 5),
      undefined,
    );
  });

  it(`planCluster: a lone node with ${STEADY_VIPS_PER_NODE} VIPs is fine; one more and the group is warned`, () => {
    assert.deepEqual(plannedWarnings(STEADY_VIPS_PER_NODE, 1), []);
    const over = plannedWarnings(STEADY_VIPS_PER_NODE + 1, 1);
    assert.equal(over.length, 1);
    assert.match(over[0] ?? "", /^Warning TooManyVIPsPerNode spec\.nodeSelector: .*: node-1 \(1501\)\./);
  });

  it("planCluster: the same Services over three nodes are spread under the limit: no warning", () => {
    assert.deepEqual(plannedWarnings(STEADY_VIPS_PER_NODE + 1, 3), []);
  });
});
