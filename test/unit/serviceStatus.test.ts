// Who writes status.loadBalancer.ingress: we do only where nobody else does.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ServicePlan } from "../../src/core/plan.js";
import fc from "fast-check";
import {
  desiredIngress,
  ownsIngress,
  publishedAsPlanned,
  sameIngress,
  withoutOwnIngress,
  type ServiceWithManagedFields,
} from "../../src/render/serviceStatus.js";

const ours = [
  {
    manager: "keepalived-operator",
    operation: "Apply",
    subresource: "status",
    fieldsV1: { "f:status": { "f:loadBalancer": { "f:ingress": {} } } },
  },
];
const theirs = [
  {
    manager: "openshift-ingress-ip",
    operation: "Update",
    subresource: "status",
    fieldsV1: { "f:status": { "f:loadBalancer": { "f:ingress": {} } } },
  },
];
const svc = (
  type: string,
  ingress: string[],
  managedFields: ServiceWithManagedFields["metadata"]["managedFields"] = [],
): ServiceWithManagedFields => ({
  metadata: { name: "s", namespace: "n", managedFields },
  spec: { type },
  status: { loadBalancer: { ingress: ingress.map((ip) => ({ ip })) } },
});
const plan = (...ips: string[]): ServicePlan => ({
  key: "n/s",
  groupKey: "kao/g",
  announced: ips.map((ip) => ({ ip })),
  diagnostics: [],
});

describe("desiredIngress", () => {
  const cases: [
    string,
    ServiceWithManagedFields,
    ServicePlan | undefined,
    { ip: string; ipMode: "VIP" }[] | undefined,
  ][] = [
    [
      "empty LoadBalancer with a VIP: we write it",
      svc("LoadBalancer", []),
      plan("198.18.0.1"),
      [{ ip: "198.18.0.1", ipMode: "VIP" }],
    ],
    [
      "someone else's ingress: hands off",
      svc("LoadBalancer", ["172.21.6.50"], theirs),
      plan("172.21.6.50"),
      undefined,
    ],
    ["ours, VIP gone: we clear it", svc("LoadBalancer", ["198.18.0.1"], ours), plan(), []],
    ["ours, Service no longer ours: we clear it", svc("LoadBalancer", ["198.18.0.1"], ours), undefined, []],
    ["ClusterIP with externalIPs: no status to write", svc("ClusterIP", []), plan("198.18.0.1"), undefined],
    ["empty and nothing to announce: no write", svc("LoadBalancer", []), plan(), undefined],
  ];
  for (const [name, s, p, want] of cases) {
    it(name, () => {
      assert.deepEqual(desiredIngress(s, p), want);
    });
  }
  it("our own ingress is an output, not a source of VIPs", () => {
    assert.ok(ownsIngress(svc("LoadBalancer", ["198.18.0.1"], ours)));
    assert.deepEqual(
      withoutOwnIngress(svc("LoadBalancer", ["198.18.0.1"], ours)).status?.loadBalancer?.ingress,
      undefined,
    );
    assert.equal(
      withoutOwnIngress(svc("LoadBalancer", ["172.21.6.50"], theirs)).status?.loadBalancer?.ingress?.length,
      1,
    );
  });
});

describe("publishedAsPlanned, the fast path of a reconcile", () => {
  it("says 'no write' exactly where desiredIngress and sameIngress would (our ingress, a LoadBalancer)", () => {
    const ip = fc.constantFrom("198.18.0.1", "198.18.0.2", "2001:db8::1");
    const ingress = fc.array(
      fc.record({
        ip: fc.option(ip, { nil: undefined }),
        ipMode: fc.constantFrom(undefined, "VIP", "Proxy"),
      }),
      { maxLength: 3 },
    );
    fc.assert(
      fc.property(ingress, fc.array(ip, { maxLength: 3 }), (current, announced) => {
        const s: ServiceWithManagedFields = {
          metadata: { name: "web", namespace: "demo", managedFields: ours },
          spec: { type: "LoadBalancer" },
          status: {
            loadBalancer: {
              ingress: current.map((i) => ({
                ...(i.ip === undefined ? {} : { ip: i.ip }),
                ...(i.ipMode === undefined ? {} : { ipMode: i.ipMode }),
              })),
            },
          },
        };
        const plan: ServicePlan = {
          key: "demo/web",
          groupKey: "kao/workers",
          announced: announced.map((a) => ({ ip: a, instance: "i" })),
          diagnostics: [],
        };
        const wanted = desiredIngress(s, plan, true);
        assert.ok(wanted !== undefined);
        assert.equal(publishedAsPlanned(s, plan), sameIngress(s, wanted));
      }),
      { seed: 27, numRuns: 500 },
    );
  });
});
