// Who writes status.loadBalancer.ingress: we do only where nobody else does.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ServicePlan } from "../../src/core/plan.js";
import {
  desiredIngress,
  ownsIngress,
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
