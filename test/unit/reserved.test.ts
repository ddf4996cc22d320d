// Addresses that are never VIPs (#11, defects 1 and 14): any node's InternalIP or ExternalIP (of any group or
// none), the network and broadcast addresses of an allowed CIDR, and the cluster's Service and Pod networks.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GROUP_ANNOTATION, LOAD_BALANCER_IPS_ANNOTATION } from "../../src/api/names.js";
import type { ClusterSnapshot, ServiceObject } from "../../src/core/objects.js";
import { planCluster, type ClusterPlan } from "../../src/core/plan.js";

const T0 = "2024-01-01T00:00:00Z";

function svc(
  name: string,
  spec: NonNullable<ServiceObject["spec"]>,
  extra: Partial<ServiceObject> = {},
): ServiceObject {
  return {
    metadata: {
      name,
      namespace: "app",
      creationTimestamp: T0,
      annotations: { [GROUP_ANNOTATION]: "kao/red" },
    },
    spec: { type: "LoadBalancer", ports: [{ protocol: "TCP", port: 80 }], ...spec },
    ...extra,
  };
}

/** Group red on n1, group blue on n2 (another group's node), n3 in no group; n2 has an ExternalIP too. */
function world(services: ServiceObject[], extra: Partial<ClusterSnapshot> = {}): ClusterSnapshot {
  const node = (name: string, labels: Record<string, string>, addresses: [string, string][]) => ({
    metadata: { name, labels },
    status: { addresses: addresses.map(([type, address]) => ({ type, address })) },
  });
  return {
    groups: ["red", "blue"].map((name) => ({
      metadata: { name, namespace: "kao", creationTimestamp: T0 },
      spec: {
        interface: "eth0",
        nodeSelector: { [name]: "1" },
        allowedCIDRs: ["198.18.0.0/24", "2001:db8::/64"],
        ...(name === "red" ? { addressPools: [{ name: "p", addresses: ["198.18.1.0/29"] }] } : {}),
      },
    })),
    nodes: [
      node("n1", { red: "1" }, [["InternalIP", "198.18.0.11"]]),
      node("n2", { blue: "1" }, [
        ["InternalIP", "198.18.0.12"],
        ["ExternalIP", "198.18.0.22"],
        ["InternalIP", "2001:db8::12"],
        ["Hostname", "n2.example"],
      ]),
      node("n3", {}, [["InternalIP", "198.18.0.13"]]),
    ],
    services,
    ...extra,
  };
}

const of = (plan: ClusterPlan, key: string) => plan.services.find((s) => s.key === key)!;
const announced = (plan: ClusterPlan, key: string) => of(plan, key).announced.map((a) => a.ip);
const said = (plan: ClusterPlan, key: string) =>
  of(plan, key).diagnostics.map((d) => `${d.reason} ${d.field}: ${d.message}`);

describe("node addresses are never VIPs", () => {
  it("externalIPs holding another group's node InternalIP, ExternalIP and IPv6 address: refused, node named", () => {
    const plan = planCluster(
      world([svc("hijack", { externalIPs: ["198.18.0.12", "198.18.0.22", "2001:db8::12", "198.18.0.40"] })]),
    );
    assert.deepEqual(announced(plan, "app/hijack"), ["198.18.0.40"]);
    const d = said(plan, "app/hijack");
    assert.equal(d.length, 3);
    assert.match(
      d[0]!,
      /^ReservedAddress spec\.externalIPs\[0\]: 198\.18\.0\.12 is the InternalIP of node n2;/,
    );
    assert.match(
      d[1]!,
      /^ReservedAddress spec\.externalIPs\[1\]: 198\.18\.0\.22 is the ExternalIP of node n2;/,
    );
    assert.match(
      d[2]!,
      /^ReservedAddress spec\.externalIPs\[2\]: 2001:db8::12 is the InternalIP of node n2;/,
    );
  });
  it("a node in no group, its own group's node, a request, the annotation and a trusted status IP: all refused", () => {
    const plan = planCluster(
      world(
        [
          svc("own", { externalIPs: ["198.18.0.11"] }),
          svc("none", { externalIPs: ["198.18.0.13"] }),
          svc("asks", { loadBalancerIP: "198.18.0.12" }),
          svc("annotated", {}, {}),
          svc("trusted", {}, { status: { loadBalancer: { ingress: [{ ip: "198.18.0.13" }] } } }),
        ].map((s) =>
          s.metadata.name === "annotated"
            ? {
                ...s,
                metadata: {
                  ...s.metadata,
                  annotations: { ...s.metadata.annotations, [LOAD_BALANCER_IPS_ANNOTATION]: "198.18.0.22" },
                },
              }
            : s,
        ),
      ),
    );
    for (const [key, field, node] of [
      ["app/own", "spec.externalIPs[0]", "n1"],
      ["app/none", "spec.externalIPs[0]", "n3"],
      ["app/asks", "spec.loadBalancerIP", "n2"],
      ["app/annotated", `metadata.annotations[${LOAD_BALANCER_IPS_ANNOTATION}]`, "n2"],
      ["app/trusted", "status.loadBalancer.ingress[0].ip", "n3"],
    ] as const) {
      assert.ok(
        said(plan, key).some(
          (d) => d.startsWith(`ReservedAddress ${field}:`) && d.includes(`of node ${node}`),
        ),
        `${key}: ${said(plan, key).join(" | ")}`,
      );
      assert.ok(!announced(plan, key).some((ip) => ip.startsWith("198.18.0.1") || ip === "198.18.0.22"), key);
    }
    // A Service that names an IP of its own gets none from a pool in its place.
    assert.deepEqual(announced(plan, "app/own"), []);
  });
  it("a pool holding a node's address is refused, naming the node", () => {
    const snapshot = world([]);
    snapshot.groups[0]!.spec!.addressPools = [{ name: "p", addresses: ["198.18.0.12-198.18.0.12"] }];
    const plan = planCluster(snapshot);
    const red = plan.groups.find((g) => g.group.name === "red")!;
    assert.match(
      red.diagnostics.map((d) => d.message).join(" "),
      /pool "p" contains node address 198\.18\.0\.12 \(the InternalIP of node n2\)/,
    );
  });
});

describe("network, broadcast and cluster networks are never VIPs", () => {
  it("the first and last address of an allowed CIDR are refused; a /31, /32 or a range is taken whole", () => {
    const snapshot = world([
      svc("edges", { externalIPs: ["198.18.0.0", "198.18.0.255", "2001:db8::", "198.18.0.254"] }),
      svc("tiny", { externalIPs: ["198.18.5.0", "198.18.5.1", "198.18.6.9", "198.18.7.1"] }),
    ]);
    snapshot.groups[0]!.spec!.allowedCIDRs!.push("198.18.5.0/31", "198.18.6.9/32", "198.18.7.0-198.18.7.1");
    const plan = planCluster(snapshot);
    assert.deepEqual(announced(plan, "app/edges"), ["198.18.0.254"]);
    const d = said(plan, "app/edges");
    assert.match(d[0]!, /198\.18\.0\.0 is the network address of 198\.18\.0\.0\/24/);
    assert.match(d[1]!, /198\.18\.0\.255 is the broadcast address of 198\.18\.0\.0\/24/);
    assert.match(d[2]!, /2001:db8:: is the network address of 2001:db8::\/64/);
    assert.deepEqual(announced(plan, "app/tiny"), ["198.18.5.0", "198.18.5.1", "198.18.6.9", "198.18.7.1"]);
  });
  it("a pool CIDR's edges are refused too, unless the pool hands them out (includeNetworkAndBroadcast)", () => {
    const snapshot = world([
      svc(
        "p",
        {},
        {
          status: {
            loadBalancer: { ingress: [{ ip: "198.18.1.0" }, { ip: "198.18.1.7" }, { ip: "198.18.3.0" }] },
          },
        },
      ),
    ]);
    snapshot.groups[0]!.spec!.addressPools!.push({
      name: "whole",
      addresses: ["198.18.3.0/29"],
      includeNetworkAndBroadcast: true,
    });
    const plan = planCluster(snapshot);
    assert.deepEqual(announced(plan, "app/p"), ["198.18.3.0"]);
    assert.match(
      said(plan, "app/p").join("\n"),
      /198\.18\.1\.0 is the network address of 198\.18\.1\.0\/29[^]*198\.18\.1\.7 is the broadcast address of 198\.18\.1\.0\/29/,
    );
  });
  it("a pool never hands out an allowed CIDR's broadcast address, even when its range includes it", () => {
    const snapshot = world([svc("a", {}), svc("b", {})]);
    snapshot.groups[0]!.spec!.addressPools = [
      { name: "p", addresses: ["198.18.0.254-198.18.0.255", "198.18.2.1/32"] },
    ];
    const plan = planCluster(snapshot);
    assert.deepEqual([...announced(plan, "app/a"), ...announced(plan, "app/b")].sort(), [
      "198.18.0.254",
      "198.18.2.1",
    ]);
  });
  it("the OpenShift Network's Service and Pod networks (spec and status): refused, pools overlapping them unused", () => {
    const network = {
      metadata: { name: "cluster" },
      spec: {
        serviceNetwork: ["198.18.0.128/28"],
        clusterNetwork: [{ cidr: "198.18.0.160/28", hostPrefix: 23 }],
      },
      status: { serviceNetwork: ["198.18.0.176/28"], clusterNetwork: [{ cidr: 5 }, null] },
    };
    const snapshot = world(
      [svc("in", { externalIPs: ["198.18.0.130", "198.18.0.161", "198.18.0.177", "198.18.0.100"] })],
      {
        openshiftNetworks: [network as never],
      },
    );
    snapshot.groups[0]!.spec!.addressPools = [{ name: "p", addresses: ["198.18.0.176/29"] }];
    const plan = planCluster(snapshot);
    assert.deepEqual(announced(plan, "app/in"), ["198.18.0.100"]);
    const d = said(plan, "app/in");
    assert.match(
      d[0]!,
      /is in the cluster's Service network 198\.18\.0\.128\/28 \(Network cluster spec\.serviceNetwork\)/,
    );
    assert.match(
      d[1]!,
      /is in the cluster's Pod network 198\.18\.0\.160\/28 \(Network cluster spec\.clusterNetwork\)/,
    );
    assert.match(d[2]!, /Service network 198\.18\.0\.176\/28 \(Network cluster status\.serviceNetwork\)/);
    const red = plan.groups.find((g) => g.group.name === "red")!;
    assert.ok(red.diagnostics.some((x) => x.reason === "PoolOverlapsClusterNetwork"));
  });
});
