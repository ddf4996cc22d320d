// The address allocator: pools, selectors, requests, sharing, exhaustion, overlap, policy — and a shuffled replay.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ADDRESS_POOL_ANNOTATION,
  GROUP_ANNOTATION,
  LOAD_BALANCER_IPS_ANNOTATION,
  SHARING_KEY_ANNOTATION,
} from "../../src/api/names.js";
import type { KeepalivedGroupSpec } from "../../src/api/types.js";
import type { ClusterSnapshot, ServiceObject } from "../../src/core/objects.js";
import { planCluster, type ClusterPlan } from "../../src/core/plan.js";

function svc(
  name: string,
  opts: {
    ns?: string;
    created?: string;
    lb?: boolean;
    externalIPs?: string[];
    ingress?: string[];
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
    ports?: number[];
    families?: string[];
    policy?: string;
    loadBalancerIP?: string;
    group?: string;
  } = {},
): ServiceObject {
  const spec: NonNullable<ServiceObject["spec"]> = {
    type: opts.lb === false ? "ClusterIP" : "LoadBalancer",
    ports: (opts.ports ?? [80]).map((port) => ({ protocol: "TCP", port })),
  };
  if (opts.externalIPs !== undefined) spec.externalIPs = opts.externalIPs;
  if (opts.families !== undefined) spec.ipFamilies = opts.families;
  if (opts.policy !== undefined) spec.ipFamilyPolicy = opts.policy;
  if (opts.loadBalancerIP !== undefined) spec.loadBalancerIP = opts.loadBalancerIP;
  return {
    metadata: {
      name,
      namespace: opts.ns ?? "app",
      creationTimestamp: opts.created ?? "2024-01-01T00:00:00Z",
      labels: opts.labels ?? {},
      annotations: { [GROUP_ANNOTATION]: opts.group ?? "kao/g", ...opts.annotations },
    },
    spec,
    status: { loadBalancer: { ingress: (opts.ingress ?? []).map((ip) => ({ ip })) } },
  };
}

function world(
  spec: KeepalivedGroupSpec,
  services: ServiceObject[],
  extra: Partial<ClusterSnapshot> = {},
): ClusterSnapshot {
  return {
    groups: [
      {
        metadata: { name: "g", namespace: "kao", creationTimestamp: "2023-01-01T00:00:00Z" },
        spec: { interface: "eth0", ...spec },
      },
    ],
    nodes: ["n1", "n2"].map((n, i) => ({
      metadata: { name: n },
      status: { addresses: [{ type: "InternalIP", address: `198.18.0.${i + 1}` }] },
    })),
    services,
    namespaces: [
      { metadata: { name: "app", labels: { team: "a" } } },
      { metadata: { name: "other", labels: { team: "b" } } },
    ],
    ...extra,
  };
}
const ips = (plan: ClusterPlan, key: string): string[] =>
  (plan.services.find((s) => s.key === key)?.announced ?? []).map((a) => a.ip);
const reasons = (plan: ClusterPlan, key: string): string[] =>
  (plan.services.find((s) => s.key === key)?.diagnostics ?? []).map((d) => d.reason);
const POOL = { addressPools: [{ name: "main", addresses: ["198.18.10.0/29"] }] };

describe("address allocation", () => {
  it("hands out the lowest free address, skipping a CIDR's network and broadcast addresses", () => {
    const plan = planCluster(
      world(POOL, [
        svc("a", { created: "2024-01-01T00:00:01Z" }),
        svc("b", { created: "2024-01-01T00:00:02Z" }),
      ]),
    );
    assert.deepEqual(ips(plan, "app/a"), ["198.18.10.1"]);
    assert.deepEqual(ips(plan, "app/b"), ["198.18.10.2"]);
    assert.deepEqual(plan.groups[0]?.pools, [{ name: "main", size: "6", used: 2 }]);
  });
  it("keeps what a Service already holds, even when a lower address is free", () => {
    const plan = planCluster(world(POOL, [svc("a"), svc("b")], { ownIngress: { "app/b": ["198.18.10.5"] } }));
    assert.deepEqual(ips(plan, "app/b"), ["198.18.10.5"]);
    assert.deepEqual(ips(plan, "app/a"), ["198.18.10.1"]);
  });
  it("exhaustion is a Warning on the Service that did not fit; the others keep theirs", () => {
    const services = Array.from({ length: 8 }, (_, i) =>
      svc(`s${i}`, { created: `2024-01-01T00:00:0${i}Z` }),
    );
    const plan = planCluster(world(POOL, services));
    assert.equal(plan.services.filter((s) => s.announced.length === 1).length, 6);
    assert.deepEqual(reasons(plan, "app/s7"), ["NoAddressAvailable"]);
    assert.match(
      plan.services.find((s) => s.key === "app/s7")?.diagnostics[0]?.message ?? "",
      /no free ipv4 address/,
    );
  });
  it("selectors and autoAssign decide which pool serves which Service", () => {
    const spec: KeepalivedGroupSpec = {
      addressPools: [
        {
          name: "team-a",
          addresses: ["198.18.11.10-198.18.11.11"],
          namespaceSelector: { matchLabels: { team: "a" } },
        },
        {
          name: "web",
          addresses: ["198.18.12.10-198.18.12.11"],
          serviceSelector: { matchExpressions: [{ key: "tier", operator: "In", values: ["web"] }] },
        },
        { name: "manual", addresses: ["198.18.13.0/24"], autoAssign: false },
      ],
    };
    const plan = planCluster(
      world(spec, [
        svc("x"),
        svc("y", { ns: "other", labels: { tier: "web" } }),
        svc("z", { ns: "other" }),
        svc("m", { ns: "other", annotations: { [LOAD_BALANCER_IPS_ANNOTATION]: "198.18.13.77" } }),
      ]),
    );
    assert.deepEqual(ips(plan, "app/x"), ["198.18.11.10"]);
    assert.deepEqual(ips(plan, "other/y"), ["198.18.12.10"]);
    assert.deepEqual(
      reasons(plan, "other/z"),
      ["NoAddressAvailable"],
      "no pool serves it; manual does not auto-assign",
    );
    assert.deepEqual(
      ips(plan, "other/m"),
      ["198.18.13.77"],
      "a requested IP may come from a pool without autoAssign",
    );
  });
  it("requests: loadBalancerIP and the annotation, inside the pools only; a taken one is refused", () => {
    const plan = planCluster(
      world(POOL, [
        svc("a", { loadBalancerIP: "198.18.10.4", created: "2024-01-01T00:00:01Z" }),
        svc("b", {
          annotations: { [LOAD_BALANCER_IPS_ANNOTATION]: "198.18.10.4" },
          created: "2024-01-01T00:00:02Z",
        }),
        svc("c", { loadBalancerIP: "203.0.113.5" }),
      ]),
    );
    assert.deepEqual(ips(plan, "app/a"), ["198.18.10.4"]);
    assert.deepEqual(reasons(plan, "app/b"), ["IPInUse"]);
    assert.deepEqual(reasons(plan, "app/c"), ["RequestedIPNotAllowed"]);
  });
  it("sharing: same key and different ports share; a port clash or no key is refused", () => {
    const share = { [SHARING_KEY_ANNOTATION]: "dns" };
    const plan = planCluster(
      world(POOL, [
        svc("udp", {
          annotations: { ...share, [LOAD_BALANCER_IPS_ANNOTATION]: "198.18.10.1" },
          ports: [53],
          created: "2024-01-01T00:00:01Z",
        }),
        svc("tcp", { annotations: share, ports: [853], created: "2024-01-01T00:00:02Z" }),
        svc("clash", {
          annotations: { ...share, [LOAD_BALANCER_IPS_ANNOTATION]: "198.18.10.1" },
          ports: [53],
          created: "2024-01-01T00:00:03Z",
        }),
        svc("nokey", {
          annotations: { [LOAD_BALANCER_IPS_ANNOTATION]: "198.18.10.1" },
          created: "2024-01-01T00:00:04Z",
        }),
      ]),
    );
    assert.deepEqual(ips(plan, "app/udp"), ["198.18.10.1"]);
    assert.deepEqual(ips(plan, "app/tcp"), ["198.18.10.1"]);
    assert.match(
      plan.services.find((s) => s.key === "app/clash")?.diagnostics[0]?.message ?? "",
      /both use port TCP\/53/,
    );
    assert.deepEqual(reasons(plan, "app/nokey"), ["IPInUse"]);
    const instances = plan.groups[0]!.instances.filter((i) => i.vips.includes("198.18.10.1"));
    assert.equal(instances.length, 1, "a shared IP is in exactly one VRRP instance");
    assert.deepEqual(instances[0]?.services, ["app/tcp", "app/udp"]);
  });
  it("dual-stack: one address per family", () => {
    const spec: KeepalivedGroupSpec = {
      addressPools: [
        { name: "v4", addresses: ["198.18.10.0/29"] },
        { name: "v6", addresses: ["2001:db8:10::/125"] },
      ],
    };
    const plan = planCluster(
      world(spec, [
        svc("ds", { families: ["IPv4", "IPv6"], policy: "RequireDualStack" }),
        svc("v6", { families: ["IPv6"] }),
      ]),
    );
    assert.deepEqual(ips(plan, "app/ds"), ["198.18.10.1", "2001:db8:10::1"]);
    assert.deepEqual(ips(plan, "app/v6"), ["2001:db8:10::2"]);
  });
  it("security policy: externalIPs only inside pools or allowedCIDRs; status IPs set by others are trusted", () => {
    const plan = planCluster(
      world({ ...POOL, allowedCIDRs: ["198.18.20.0/24"] }, [
        svc("ok", { lb: false, externalIPs: ["198.18.20.5", "198.18.10.3"] }),
        svc("hijack", { lb: false, externalIPs: ["10.0.0.1"] }),
        svc("platform", { ingress: ["172.21.6.50"] }),
      ]),
    );
    assert.deepEqual(ips(plan, "app/ok"), ["198.18.10.3", "198.18.20.5"]);
    assert.deepEqual(ips(plan, "app/hijack"), []);
    assert.match(
      plan.services.find((s) => s.key === "app/hijack")?.diagnostics[0]?.message ?? "",
      /10\.0\.0\.1 is outside the addresses KeepalivedGroup kao\/g allows \(pool main/,
    );
    assert.deepEqual(ips(plan, "app/platform"), ["172.21.6.50"]);
  });
  it("a status IP inside the group's addresses stays its Service's, however old a newer claimant says it is", () => {
    for (const forged of ["1970-01-01T00:00:00Z", ""]) {
      const plan = planCluster(
        world({ allowedCIDRs: ["198.18.20.0/24"] }, [
          svc("published", { created: "2024-01-01T00:00:00Z", ingress: ["198.18.20.5"] }),
          svc("forged", { created: forged, lb: false, externalIPs: ["198.18.20.5"] }),
        ]),
      );
      assert.deepEqual(ips(plan, "app/published"), ["198.18.20.5"], forged);
      assert.deepEqual(ips(plan, "app/forged"), [], forged);
      assert.deepEqual(reasons(plan, "app/forged"), ["IPInUse"], forged);
    }
    // A status IP outside its group's addresses proves nothing and waits its turn by age: the hostile corpus
    // (addresses/steal-other-group-ip/status) plays that with two groups.
  });
  it("OpenShift's Network policy: allowedCIDRs and autoAssignCIDRs allowed, rejectedCIDRs refused", () => {
    const network = {
      metadata: { name: "cluster" },
      spec: {
        externalIP: {
          policy: { allowedCIDRs: ["172.21.6.32/27"], rejectedCIDRs: ["172.21.6.40/29"] },
          autoAssignCIDRs: ["172.21.7.0/27"],
        },
      },
    };
    const plan = planCluster(
      world(
        {},
        [svc("a", { lb: false, externalIPs: ["172.21.6.50", "172.21.6.41", "172.21.7.3", "172.21.8.1"] })],
        { openshiftNetworks: [network] },
      ),
    );
    assert.deepEqual(ips(plan, "app/a"), ["172.21.6.50", "172.21.7.3"]);
    assert.deepEqual(reasons(plan, "app/a"), ["OutsideAllowedRanges", "OutsideAllowedRanges"]);
  });
  it("pools overlapping each other, another group's or a node's address are refused with a clear condition", () => {
    const within = planCluster(
      world(
        {
          addressPools: [
            { name: "a", addresses: ["198.18.10.0/24"] },
            { name: "b", addresses: ["198.18.10.128/25"] },
          ],
        },
        [],
      ),
    );
    assert.match(
      within.invalidGroups[0]?.diagnostics[0]?.message ?? "",
      /pool "b" \(198\.18\.10\.128\/25\) overlaps pool "a"/,
    );
    const node = planCluster(world({ addressPools: [{ name: "nodes", addresses: ["198.18.0.0/24"] }] }, []));
    assert.equal(node.groups[0]?.diagnostics[0]?.reason, "PoolContainsNodeAddress");
    const snapshot = world(POOL, []);
    snapshot.groups.push({
      metadata: { name: "h", namespace: "kao", creationTimestamp: "2024-06-01T00:00:00Z" },
      spec: { interface: "eth0", addressPools: [{ name: "dup", addresses: ["198.18.10.4/30"] }] },
    });
    const cross = planCluster(snapshot);
    const d = cross.groups.find((g) => g.group.name === "h")?.diagnostics[0];
    assert.ok(d);
    assert.equal(d.reason, "OverlappingAddressPools");
    assert.match(d.message, /KeepalivedGroup kao\/g/);
  });
  it("an unknown pool named by the annotation is a Warning", () => {
    const plan = planCluster(world(POOL, [svc("a", { annotations: { [ADDRESS_POOL_ANNOTATION]: "nope" } })]));
    assert.deepEqual(reasons(plan, "app/a"), ["UnknownAddressPool"]);
  });
  it("the outcome depends only on the cluster: 100 shuffled replays, and replays fed with their own ingress, agree", () => {
    const services = Array.from({ length: 12 }, (_, i) =>
      svc(`s${i}`, {
        created: `2024-01-01T00:00:${String(i % 5).padStart(2, "0")}Z`,
        annotations: i % 3 === 0 ? { [SHARING_KEY_ANNOTATION]: "k" } : {},
        ports: [80 + i],
      }),
    );
    const spec = { addressPools: [{ name: "p", addresses: ["198.18.10.0/28"] }] };
    const base = planCluster(world(spec, services));
    const expected = JSON.stringify(base.services);
    let seed = 7;
    for (let round = 0; round < 100; round++) {
      const shuffled = [...services];
      for (let i = shuffled.length - 1; i > 0; i--) {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        const j = seed % (i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      assert.equal(JSON.stringify(planCluster(world(spec, shuffled)).services), expected, `round ${round}`);
    }
    const own = Object.fromEntries(base.services.map((s) => [s.key, s.announced.map((a) => a.ip)]));
    assert.equal(
      JSON.stringify(planCluster(world(spec, services, { ownIngress: own })).services),
      expected,
      "restart keeps every address",
    );
  });
});
