import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { actualHolders, holderChanges, type AgentLease } from "../../src/controller/holders.js";

const lease = (
  node: string,
  vips: string[],
  renewTime = "2026-01-01T00:00:10.000000Z",
  ttl = 10,
): AgentLease => ({
  metadata: {
    namespace: "kao",
    name: `g-${node}`,
    labels: { keepalivedGroup: "g", "keepalived-operator.redhat-cop.io/node": node },
    annotations: { "keepalived-operator.redhat-cop.io/vips": JSON.stringify(vips) },
  },
  spec: { holderIdentity: node, renewTime, leaseDurationSeconds: ttl },
});
const now = Date.parse("2026-01-01T00:00:15Z");

describe("actualHolders", () => {
  it("maps VIPs to the nodes that report them, ignoring expired Leases and garbage", () => {
    const holders = actualHolders(
      [
        lease("n1", ["198.18.0.1", "198.18.0.2"]),
        lease("n2", ["198.18.0.2"]),
        lease("n3", ["198.18.0.3"], "2026-01-01T00:00:00Z", 5),
        {
          ...lease("n4", []),
          metadata: {
            ...lease("n4", []).metadata,
            annotations: { "keepalived-operator.redhat-cop.io/vips": "{oops" },
          },
        },
      ],
      now,
    ).get("kao/g")!;
    assert.deepEqual(Object.fromEntries(holders), { "198.18.0.1": ["n1"], "198.18.0.2": ["n1", "n2"] });
  });
  it("reports changes of holders", () => {
    const a = new Map([
      ["198.18.0.1", ["n1"]],
      ["198.18.0.2", ["n2"]],
    ]);
    const b = new Map([
      ["198.18.0.1", ["n2"]],
      ["198.18.0.2", ["n2"]],
      ["198.18.0.3", ["n1"]],
    ]);
    assert.deepEqual(holderChanges(a, b), [
      { vip: "198.18.0.1", before: ["n1"], after: ["n2"] },
      { vip: "198.18.0.3", before: [], after: ["n1"] },
    ]);
  });
});
