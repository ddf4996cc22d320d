import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { GROUP_ANNOTATION } from "../../src/api/names.js";
import type { ClusterSnapshot, ServiceObject } from "../../src/core/objects.js";
import { planCluster } from "../../src/core/plan.js";
import { renderKeepalivedConf } from "../../src/render/keepalivedConf.js";
import { planV1 } from "../../src/render/planCodec.js";
import { loadSnapshot } from "../support/fixtures.js";

const service = (
  ns: string,
  name: string,
  group: string,
  ips: string[],
  created = "2024-01-01T00:00:00Z",
): ServiceObject => ({
  metadata: { namespace: ns, name, creationTimestamp: created, annotations: { [GROUP_ANNOTATION]: group } },
  spec: { type: "LoadBalancer" },
  status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } },
});

function twoGroups(): ClusterSnapshot {
  return {
    groups: [
      {
        metadata: { namespace: "kao", name: "red", creationTimestamp: "2024-01-01T00:00:00Z" },
        spec: { interface: "eth0", nodeSelector: { red: "1" } },
      },
      {
        metadata: { namespace: "kao", name: "blue", creationTimestamp: "2024-01-02T00:00:00Z" },
        spec: { interface: "eth0", nodeSelector: { blue: "1" } },
      },
    ],
    nodes: [
      ...["r1", "r2", "r3"].map((n) => ({ metadata: { name: n, labels: { red: "1" } } })),
      ...["b1", "b2"].map((n) => ({ metadata: { name: n, labels: { blue: "1" } } })),
    ],
    services: [
      ...Array.from({ length: 30 }, (_, i) =>
        service(
          `ns${i % 4}`,
          `r${i}`,
          "kao/red",
          [`198.18.1.${i + 1}`],
          `2024-02-01T00:00:${String(i).padStart(2, "0")}Z`,
        ),
      ),
      ...Array.from({ length: 10 }, (_, i) =>
        service("team", `b${i}`, "kao/blue", [`198.18.2.${i + 1}`, `2001:db8::${i + 1}`]),
      ),
      service("team", "dup", "kao/blue", ["198.18.1.1"], "2025-01-01T00:00:00Z"),
      service("team", "lost", "kao/nowhere", ["198.18.3.1"]),
      service("team", "broken", "kao", ["198.18.3.2"]),
    ],
  };
}

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

describe("planCluster", () => {
  it("depends only on the snapshot: 200 shuffled replays give identical plans and files", () => {
    const base = twoGroups();
    const expected = JSON.stringify(planCluster(base), (_k, v: unknown) =>
      v instanceof Set ? [...(v as Set<unknown>)] : v,
    );
    for (let seed = 1; seed <= 200; seed++) {
      const snapshot: ClusterSnapshot = {
        groups: shuffle(base.groups, seed),
        nodes: shuffle(base.nodes, seed + 1),
        services: shuffle(base.services, seed + 2),
      };
      const got = JSON.stringify(planCluster(snapshot), (_k, v: unknown) =>
        v instanceof Set ? [...(v as Set<unknown>)] : v,
      );
      assert.equal(got, expected, `seed ${seed}`);
    }
  });

  it("router IDs are unique across groups, IPv4 and IPv6 never share an instance", () => {
    const plan = planCluster(twoGroups());
    const ids = plan.groups.flatMap((g) => g.instances.map((i) => i.routerId));
    assert.equal(new Set(ids).size, ids.length);
    for (const i of plan.groups.flatMap((g) => g.instances)) {
      assert.ok(
        i.vips.every((v) => v.includes(":") === (i.family === 6)),
        i.name,
      );
    }
  });

  it("an IP claimed twice stays with the older Service; the newer gets a Warning naming both", () => {
    const plan = planCluster(twoGroups());
    const dup = plan.services.find((s) => s.key === "team/dup")!;
    assert.deepEqual(dup.announced, []);
    assert.equal(dup.diagnostics[0]?.reason, "IPInUse");
    const d = dup.diagnostics[0];
    assert.ok(d);
    assert.match(d.message, /ns0\/r0/);
    assert.equal(plan.services.find((s) => s.key === "ns0/r0")?.announced[0]?.ip, "198.18.1.1");
  });

  it("unknown group and malformed annotation are reported on the Service only", () => {
    const plan = planCluster(twoGroups());
    assert.equal(plan.services.find((s) => s.key === "team/lost")?.diagnostics[0]?.reason, "GroupNotFound");
    assert.equal(
      plan.services.find((s) => s.key === "team/broken")?.diagnostics[0]?.reason,
      "InvalidGroupAnnotation",
    );
    const announced = plan.services.filter((s) => s.announced.length > 0).length;
    assert.equal(announced, 40);
  });

  it("VIPs spread evenly: 30 Services on 3 nodes, 10 each", () => {
    const red = planCluster(twoGroups()).groups.find((g) => g.group.name === "red")!;
    const perNode = new Map<string, number>();
    for (const node of Object.values(red.placement)) perNode.set(node, (perNode.get(node) ?? 0) + 1);
    assert.deepEqual([...perNode.values()].sort(), [10, 10, 10]);
  });

  it("moving the annotation to another group moves the VIP", () => {
    const snapshot = twoGroups();
    const moved = snapshot.services.map((s) =>
      s.metadata.name === "r5" ? service("ns1", "r5", "kao/blue", ["198.18.1.6"]) : s,
    );
    const plan = planCluster({ ...snapshot, services: moved });
    const blue = plan.groups.find((g) => g.group.name === "blue")!;
    const red = plan.groups.find((g) => g.group.name === "red")!;
    assert.ok(blue.instances.some((i) => i.vips.includes("198.18.1.6")));
    assert.ok(!red.instances.some((i) => i.vips.includes("198.18.1.6")));
  });

  it("restarts keep router IDs and VIP placement: feeding status and placement back changes nothing", () => {
    const first = planCluster(twoGroups());
    const again = twoGroups();
    for (const g of again.groups) {
      const earlier = first.groups.find((p) => p.group.name === g.metadata.name)!;
      g.status = { routerIDs: earlier.routerIDs };
    }
    again.previousPlacement = Object.fromEntries(first.groups.map((g) => [g.group.key, g.placement]));
    const second = planCluster(again);
    assert.deepEqual(
      second.groups.map((g) => [g.routerIDs, g.placement]),
      first.groups.map((g) => [g.routerIDs, g.placement]),
    );
  });

  it("more than 255 Services in one group, and exhaustion names the group and the fix", () => {
    const snapshot = twoGroups();
    snapshot.services = Array.from({ length: 600 }, (_, i) =>
      service("big", `s${i}`, "kao/red", [`198.19.${Math.floor(i / 200)}.${(i % 200) + 1}`]),
    );
    const plan = planCluster(snapshot);
    assert.equal(plan.services.filter((s) => s.announced.length === 1).length, 600);
    const narrow = twoGroups();
    narrow.groups[0]!.spec = { ...narrow.groups[0]!.spec, routerIDRange: { min: 1, max: 2 } };
    const d = planCluster(narrow)
      .groups.find((g) => g.group.name === "red")!
      .diagnostics.find((x) => x.reason === "RouterIDsExhausted");
    assert.ok(d);
    assert.equal(d.object.name, "red");
    assert.match(d.message, /widen spec\.routerIDRange/);
  });

  it("a Service left without a router ID is told so, and its VIPs are not announced", () => {
    const narrow = twoGroups();
    narrow.groups[0]!.spec = { ...narrow.groups[0]!.spec, routerIDRange: { min: 1, max: 1 } };
    narrow.groups[1]!.spec = { ...narrow.groups[1]!.spec, routerIDScope: "Group" };
    const plan = planCluster(narrow);
    const red = plan.groups.find((g) => g.group.name === "red")!;
    assert.equal(red.instances.length, 1);
    const unnumbered = plan.services.filter((s) =>
      s.diagnostics.some((d) => d.reason === "RouterIDsExhausted"),
    );
    assert.ok(unnumbered.length > 0);
    for (const s of unnumbered) {
      assert.deepEqual(s.announced, []);
      assert.match(
        s.diagnostics.find((d) => d.reason === "RouterIDsExhausted")!.message,
        /group kao\/red has no free/,
      );
    }
  });

  it("a Service of an invalid group is told the group is invalid, not missing", () => {
    const snapshot = twoGroups();
    snapshot.groups[1]!.spec = { nodeSelector: { blue: "1" } };
    const plan = planCluster(snapshot);
    assert.deepEqual(
      plan.invalidGroups.map((g) => g.key),
      ["kao/blue"],
    );
    const d = plan.services.find((s) => s.key === "team/b0")?.diagnostics[0];
    assert.ok(d);
    assert.equal(d.reason, "GroupNotFound");
    assert.match(d.message, /kao\/blue is invalid/);
  });

  it("externalTrafficPolicy: Local uses only nodes with local endpoints", () => {
    const snapshot = twoGroups();
    const local = service("web", "local", "kao/red", ["198.18.5.1"]);
    local.spec = { type: "LoadBalancer", externalTrafficPolicy: "Local", healthCheckNodePort: 30100 };
    snapshot.services.push(local);
    snapshot.localEndpointNodes = { "web/local": ["r2"] };
    const red = planCluster(snapshot).groups.find((g) => g.group.name === "red")!;
    const instance = red.instances.find((i) => i.vips.includes("198.18.5.1"))!;
    assert.deepEqual(
      instance.priorities.map((p) => p.node),
      ["r2"],
    );
    assert.equal(instance.healthCheckNodePort, 30100);
    snapshot.localEndpointNodes = { "web/local": [] };
    const none = planCluster(snapshot);
    assert.ok(!none.groups.some((g) => g.instances.some((i) => i.vips.includes("198.18.5.1"))));
    assert.equal(none.services.find((s) => s.key === "web/local")?.diagnostics[0]?.reason, "NoEligibleNode");
  });

  it("unicast groups place a VIP only on nodes with an address of its family", () => {
    const snapshot = twoGroups();
    snapshot.groups[1]!.spec = { interface: "eth0", nodeSelector: { blue: "1" }, unicastEnabled: true };
    snapshot.nodes = snapshot.nodes.map((n) =>
      n.metadata.name === "b1"
        ? {
            ...n,
            status: {
              addresses: [
                { type: "InternalIP", address: "198.18.0.1" },
                { type: "InternalIP", address: "2001:db8::b1" },
              ],
            },
          }
        : n.metadata.name === "b2"
          ? { ...n, status: { addresses: [{ type: "InternalIP", address: "198.18.0.2" }] } }
          : n,
    );
    const plan = planCluster(snapshot);
    const blue = plan.groups.find((g) => g.group.name === "blue")!;
    const v6 = blue.instances.filter((i) => i.family === 6);
    assert.ok(v6.every((i) => i.priorities.every((p) => p.node === "b1")));
    assert.equal(v6.flatMap((i) => i.vips).length, 10, "no IPv6 VIP is lost");
    assert.ok(plan.services.filter((s) => /^team\/b\d+$/.test(s.key)).every((s) => s.announced.length === 2));
  });

  it("an invalid group disables only its own Services", () => {
    const snapshot = twoGroups();
    snapshot.groups[1]!.spec = { interface: "bad name" };
    const plan = planCluster(snapshot);
    assert.equal(plan.invalidGroups[0]?.key, "kao/blue");
    assert.equal(plan.services.find((s) => s.key === "team/b0")?.diagnostics[0]?.reason, "GroupNotFound");
    assert.equal(plan.services.filter((s) => s.announced.length > 0).length, 30);
  });
});

describe("hostile strings never become directives", () => {
  const HOSTILE = [
    'x\n}\nvrrp_script pwn {\n script "/bin/sh -c id"\n}\n',
    "x } include /etc/shadow",
    "@node notify /bin/sh",
    '"; notify_master "/bin/sh',
  ];
  it("in every field that reaches the config", () => {
    const base = loadSnapshot(join("test/fixtures/render", "seed-demo.yaml"));
    for (const h of HOSTILE) {
      const snapshot: ClusterSnapshot = structuredClone(base);
      const svc = snapshot.services[0]!;
      svc.metadata.name = h;
      snapshot.services.push({
        metadata: {
          name: "evil",
          namespace: h,
          annotations: {
            [GROUP_ANNOTATION]: `keepalived-operator/${h}`,
            "keepalived-operator.redhat-cop.io/verbatimconfig": JSON.stringify({
              garp_master_refresh: h,
              [h]: "1",
            }),
          },
        },
        spec: { type: "LoadBalancer", externalIPs: [h, `198.18.9.9 ${h}`] },
        status: { loadBalancer: { ingress: [{ ip: h }] } },
      });
      snapshot.services.push({
        metadata: {
          name: "evil2",
          namespace: "ok",
          annotations: {
            [GROUP_ANNOTATION]: "keepalived-operator/keepalivedgroup-workers",
            "keepalived-operator.redhat-cop.io/verbatimconfig": JSON.stringify({
              garp_master_refresh: h,
              [h]: "1",
            }),
          },
        },
        spec: { type: "LoadBalancer", externalIPs: ["198.18.9.10"] },
      });
      snapshot.nodes.push({ metadata: { name: h, labels: { "node-role.kubernetes.io/loadbalancer": "" } } });
      const plan = planCluster(snapshot);
      const group = plan.groups[0]!;
      for (const node of group.nodes) {
        const conf = renderKeepalivedConf(planV1(group), { node: node.name, interface: "ens3" });
        assert.ok(
          !conf.includes("pwn") &&
            !conf.includes("/bin/sh") &&
            !conf.includes("include") &&
            !conf.includes("shadow"),
          conf,
        );
        assert.doesNotMatch(conf, /^\s*@/m);
      }
      assert.ok(!group.nodes.some((n) => n.name === h), "a node with a hostile name is left out");
    }
  });
});

describe("dual-stack failover order", () => {
  it("a node's IPv4 and IPv6 instances rank their backups alike", () => {
    const nodes = Array.from({ length: 6 }, (_, i) => ({ metadata: { name: `n${i}` } }));
    const services = Array.from({ length: 12 }, (_, i) => ({
      metadata: { namespace: "x", name: `s${i}`, annotations: { [GROUP_ANNOTATION]: "kao/g" } },
      spec: { type: "LoadBalancer" },
      status: { loadBalancer: { ingress: [{ ip: `198.18.1.${i + 1}` }, { ip: `2001:db8::${i + 1}` }] } },
    }));
    const plan = planCluster({
      groups: [{ metadata: { namespace: "kao", name: "g" }, spec: { interface: "eth0" } }],
      nodes,
      services,
    });
    const order = (name: string) =>
      plan.groups[0]!.instances.find((i) => i.name === name)?.priorities.map((p) => p.node);
    for (const n of nodes)
      assert.deepEqual(order(`node_${n.metadata.name}_ipv6`), order(`node_${n.metadata.name}_ipv4`));
  });
});
