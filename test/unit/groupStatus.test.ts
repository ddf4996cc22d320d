// The group status the controller writes: router IDs only when there are some (an empty map comes back from
// server-side apply as null and the write is refused), and the counts of what is really announced.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GROUP_ANNOTATION } from "../../src/api/names.js";
import { planCluster } from "../../src/core/plan.js";
import { groupStatus, invalidGroupStatus } from "../../src/render/objects.js";

const NOW = "2024-01-01T00:00:00Z";

function plan(services: number, spec: Record<string, unknown> = {}) {
  return planCluster({
    groups: [
      {
        metadata: { namespace: "kao", name: "g", creationTimestamp: NOW, generation: 3 },
        spec: { interface: "eth0", allowedCIDRs: ["198.18.0.0/24"], ...spec },
      },
    ],
    nodes: [{ metadata: { name: "n1" } }],
    services: Array.from({ length: services }, (_, i) => ({
      metadata: { namespace: "demo", name: `s${i}`, annotations: { [GROUP_ANNOTATION]: "kao/g" } },
      spec: { type: "LoadBalancer", externalIPs: [`198.18.0.${10 + i}`] },
    })),
  }).groups[0]!;
}

describe("groupStatus", () => {
  it("a group with instances records their router IDs and VIPs", () => {
    const s = groupStatus(plan(2), undefined, NOW);
    assert.equal(s.vips, 2);
    assert.deepEqual(Object.keys(s.routerIDs ?? {}), ["node/n1/ipv4"]);
  });
  it("no instance left: no routerIDs field at all, 0 VIPs, Ready says so", () => {
    const before = groupStatus(plan(1), undefined, NOW);
    const s = groupStatus(plan(0), before, NOW);
    assert.equal("routerIDs" in s, false);
    assert.equal(s.vips, 0);
    assert.match(s.conditions?.find((c) => c.type === "Ready")?.message ?? "", /^0 VIP\(s\) on 1 node\(s\)/);
  });
  it("every router ID blacklisted: not Ready, 0 VIPs, no routerIDs", () => {
    const s = groupStatus(
      plan(1, { routerIDRange: { min: 9, max: 9 }, blacklistRouterIDs: [9] }),
      undefined,
      NOW,
    );
    assert.equal("routerIDs" in s, false);
    assert.equal(s.vips, 0);
    assert.equal(s.conditions?.find((c) => c.type === "Ready")?.reason, "RouterIDsExhausted");
  });
  it("an invalid group keeps recorded router IDs, and writes none when none were recorded", () => {
    const kept = invalidGroupStatus(1, [], { routerIDs: { "node/n1/ipv4": 4 } }, NOW);
    assert.deepEqual(kept.routerIDs, { "node/n1/ipv4": 4 });
    assert.equal("routerIDs" in invalidGroupStatus(1, [], { routerIDs: {} }, NOW), false);
    assert.equal("routerIDs" in invalidGroupStatus(1, [], undefined, NOW), false);
  });
});
