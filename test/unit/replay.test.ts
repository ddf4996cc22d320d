// The planner's outcome depends only on its inputs, also where #11's checks decide: quotas of dedicated
// instances, reserved addresses, refused verbatim keys and wrongly typed objects, replayed 200 times shuffled.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GROUP_ANNOTATION, VERBATIM_CONFIG_ANNOTATION } from "../../src/api/names.js";
import type { ClusterSnapshot, ServiceObject } from "../../src/core/objects.js";
import { planCluster } from "../../src/core/plan.js";

function shuffle<T>(list: readonly T[], seed: number): T[] {
  const out = [...list];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function svc(
  i: number,
  extra: Partial<NonNullable<ServiceObject["spec"]>>,
  annotations: Record<string, string> = {},
): ServiceObject {
  return {
    metadata: {
      name: `s${i}`,
      namespace: `ns${i % 3}`,
      // Many equal timestamps: ties are broken by key, never by input order.
      creationTimestamp: `2024-01-01T00:00:0${i % 4}Z`,
      annotations: { [GROUP_ANNOTATION]: i % 5 === 0 ? "kao/blue" : "kao/red", ...annotations },
    },
    spec: { type: "LoadBalancer", ...extra },
  };
}

function snapshot(): ClusterSnapshot {
  const services: ServiceObject[] = [];
  for (let i = 0; i < 60; i++) {
    if (i % 2 === 0)
      services.push(
        svc(
          i,
          { externalIPs: [`198.18.0.${20 + i}`] },
          { [VERBATIM_CONFIG_ANNOTATION]: JSON.stringify({ accept: "", [`bogus${i}`]: 1 }) },
        ),
      );
    else if (i % 3 === 0) services.push(svc(i, { externalTrafficPolicy: "Local" }));
    else
      services.push(
        svc(i, { externalIPs: [i % 7 === 0 ? "198.18.0.12" : `198.18.0.${20 + i}`, "198.18.0.255"] }),
      );
  }
  services.push(
    {
      metadata: { name: "junk", annotations: { [GROUP_ANNOTATION]: 5 } },
      spec: { type: "LoadBalancer" },
    } as never,
    { metadata: 3 } as never,
  );
  return {
    groups: ["red", "blue"].map((name, i) => ({
      metadata: { name, namespace: "kao", creationTimestamp: `2023-01-0${i + 1}T00:00:00Z` },
      spec: {
        interface: "eth0",
        nodeSelector: { [name]: "1" },
        allowedCIDRs: ["198.18.0.0/24"],
        dedicatedInstancesPerNamespace: 4,
        addressPools: [{ name: "p", addresses: [`198.18.${i + 1}.0/28`] }],
      },
    })),
    nodes: [
      ...["r1", "r2", "r3"].map((n, i) => ({
        metadata: { name: n, labels: { red: "1" } },
        status: { addresses: [{ type: "InternalIP", address: `198.18.0.${10 + i}` }] },
      })),
      ...["b1", "b2"].map((n) => ({ metadata: { name: n, labels: { blue: "1", x: 5 as never } } })),
    ],
    services,
  };
}

describe("planCluster with #11's checks", () => {
  it("200 shuffled replays give identical plans", () => {
    const base = snapshot();
    const json = (s: ClusterSnapshot) =>
      JSON.stringify(planCluster(s), (_k, v: unknown) =>
        v instanceof Set ? [...(v as Set<unknown>)] : typeof v === "bigint" ? v.toString() : v,
      );
    const expected = json(base);
    const plan = planCluster(base);
    const reasons = new Set(plan.services.flatMap((s) => s.diagnostics.map((d) => d.reason)));
    for (const r of [
      "DedicatedInstanceQuotaExceeded",
      "ReservedAddress",
      "RejectedVerbatimConfig",
      "InvalidType",
    ])
      assert.ok(reasons.has(r), `the replay covers ${r}: ${[...reasons].join(", ")}`);
    for (let seed = 1; seed <= 200; seed++) {
      const shuffled: ClusterSnapshot = {
        groups: shuffle(base.groups, seed),
        nodes: shuffle(base.nodes, seed + 1),
        services: shuffle(base.services, seed + 2),
      };
      assert.equal(json(shuffled), expected, `seed ${seed}`);
    }
  });
});
