// Anchors: every instance names one link-local address of its own in its adverts, derived from its router
// ID, so every node's pooled instance runs before it carries a VIP and adding Services never changes what
// adverts name. Planner, wire plan (new and earlier forms), renderer and the agent's questions.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GROUP_ANNOTATION } from "../../src/api/names.js";
import type { PlanV1 } from "../../src/api/plan.js";
import type { KeepalivedGroupSpec } from "../../src/api/types.js";
import { anchorAddress, anchorCidrProblem, DEFAULT_ANCHOR_IPV4_CIDR } from "../../src/core/anchors.js";
import { validateGroup } from "../../src/core/group.js";
import { parseIP } from "../../src/core/ip.js";
import type { ClusterSnapshot, ServiceObject } from "../../src/core/objects.js";
import { planCluster, type GroupPlan } from "../../src/core/plan.js";
import { renderKeepalivedConf } from "../../src/render/keepalivedConf.js";
import { instancesForNode, planVips } from "../../src/render/membership.js";
import { parsePlan, PlanFormatError, planV1, serializeGroupPlan } from "../../src/render/planCodec.js";
import { ConfigTester } from "../support/keepalived.js";

const service = (name: string, ips: string[], second: number): ServiceObject => ({
  metadata: {
    namespace: "app",
    name,
    creationTimestamp: new Date(Date.UTC(2024, 0, 1, 0, 0, second)).toISOString(),
    annotations: { [GROUP_ANNOTATION]: "kao/lb" },
  },
  spec: { type: "LoadBalancer" },
  status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } },
});
function snapshot(services: ServiceObject[], spec: KeepalivedGroupSpec = {}): ClusterSnapshot {
  return {
    groups: [{ metadata: { namespace: "kao", name: "lb" }, spec: { interface: "eth0", ...spec } }],
    nodes: ["n1", "n2", "n3"].map((name, i) => ({
      metadata: { name },
      status: {
        addresses: [
          { type: "InternalIP", address: `198.18.0.${11 + i}` },
          { type: "InternalIP", address: `2001:db8::${11 + i}` },
        ],
      },
    })),
    services,
  };
}
const group = (s: ClusterSnapshot): GroupPlan => {
  const g = planCluster(s).groups[0];
  assert.ok(g, "the group is valid");
  return g;
};

describe("anchor addresses", () => {
  it("IPv4: the router ID in the group's /24; IPv6: fe80::70:<router ID in hex>", () => {
    assert.equal(anchorAddress(4, 7, DEFAULT_ANCHOR_IPV4_CIDR), "169.254.240.7");
    assert.equal(anchorAddress(4, 255, "169.254.77.0/24"), "169.254.77.255");
    assert.equal(anchorAddress(6, 200, DEFAULT_ANCHOR_IPV4_CIDR), "fe80::70:c8");
  });
  const cases: [string, RegExp | undefined][] = [
    ["169.254.240.0/24", undefined],
    ["169.254.1.0/24", undefined],
    ["169.254.0.0/24", /RFC 3927/],
    ["169.254.255.0/24", /RFC 3927/],
    ["169.254.240.0/23", /must be a \/24/],
    ["169.254.240.1/24", /host bits set; write 169\.254\.240\.0\/24/],
    ["10.0.0.0/24", /link-local/],
    ["fe80::/64", /not an IPv4 CIDR/],
    ["nonsense", /not an IPv4 CIDR/],
  ];
  for (const [cidr, problem] of cases) {
    it(`spec.vrrp.anchorIPv4CIDR ${cidr}`, () => {
      const why = anchorCidrProblem(cidr);
      if (problem === undefined) assert.equal(why, undefined);
      else assert.match(why ?? "", problem);
      const r = validateGroup({
        metadata: { name: "g", namespace: "ns" },
        spec: { interface: "eth0", vrrp: { anchorIPv4CIDR: cidr } },
      });
      assert.equal(r.ok, problem === undefined);
      if (!r.ok) {
        const [error] = r.errors;
        assert.ok(error);
        assert.equal(error.field, "spec.vrrp.anchorIPv4CIDR");
        assert.match(error.message, /remove it to use 169\.254\.240\.0\/24/);
      }
    });
  }
  it("a value of the wrong type is an error naming the field, not a crash", () => {
    const spec = { interface: "eth0", vrrp: { anchorIPv4CIDR: 42 } } as unknown as KeepalivedGroupSpec;
    const r = validateGroup({ metadata: { name: "g", namespace: "ns" }, spec });
    assert.ok(!r.ok);
    assert.equal(r.errors[0]?.field, "spec.vrrp.anchorIPv4CIDR");
  });
});

describe("the planner's anchors", () => {
  it("with no Services every node already has an instance per family, each with its own anchor", () => {
    const plan = group(snapshot([]));
    assert.deepEqual(plan.instances.map((i) => i.key).sort(), [
      "node/n1/ipv4",
      "node/n1/ipv6",
      "node/n2/ipv4",
      "node/n2/ipv6",
      "node/n3/ipv4",
      "node/n3/ipv6",
    ]);
    for (const i of plan.instances) {
      assert.deepEqual(i.vips, []);
      assert.equal(i.anchor, anchorAddress(i.family, i.routerId, DEFAULT_ANCHOR_IPV4_CIDR));
      assert.equal(parseIP(i.anchor)?.family, i.family);
    }
    assert.equal(new Set(plan.instances.map((i) => i.anchor)).size, plan.instances.length);
  });

  it("adding and removing Services changes no instance's router ID or anchor", () => {
    const recorded = (p: GroupPlan): Record<string, number> => p.routerIDs;
    const empty = group(snapshot([]));
    const withRouterIds = (services: ServiceObject[]): ClusterSnapshot => {
      const s = snapshot(services);
      s.groups[0]!.status = { routerIDs: recorded(empty) };
      return s;
    };
    const many = Array.from({ length: 20 }, (_, i) =>
      service(`s${i}`, [`198.18.1.${i + 1}`, `2001:db8:1::${i + 1}`], i),
    );
    for (const services of [many.slice(0, 1), many, many.slice(5, 9)]) {
      const plan = group(withRouterIds(services));
      const anchors = (p: GroupPlan): [string, number, string][] =>
        p.instances.map((i) => [i.key, i.routerId, i.anchor]);
      assert.deepEqual(anchors(plan), anchors(empty));
      for (const i of plan.instances) assert.ok(!i.vips.includes(i.anchor));
    }
  });

  it("dedicated instances get anchors too; spec.vrrp.anchorIPv4CIDR moves the IPv4 ones", () => {
    const local = service("local", ["198.18.1.9"], 1);
    local.spec = { type: "LoadBalancer", externalTrafficPolicy: "Local", healthCheckNodePort: 30000 };
    const plan = group(snapshot([local], { vrrp: { anchorIPv4CIDR: "169.254.77.0/24" } }));
    const dedicated = plan.instances.find((i) => i.key === "service/app/local/ipv4");
    assert.ok(dedicated);
    assert.equal(dedicated.anchor, `169.254.77.${dedicated.routerId}`);
  });
});

describe("anchors on the wire and in keepalived.conf", () => {
  const wire = (p: GroupPlan): PlanV1 => parsePlan(serializeGroupPlan(p), "plan.json");

  it("an instance without VIPs is rendered with its anchor alone, and keepalived accepts it silently", () => {
    const plan = wire(group(snapshot([service("web", ["198.18.1.1"], 0)])));
    const holder = plan.placement["198.18.1.1"]!;
    const other = plan.nodes.find((n) => n.name !== holder)!.name;
    const conf = renderKeepalivedConf(plan, { node: other, interface: "eth0" });
    const own = plan.instances.find((i) => i.name === `node_${other}_ipv4`)!;
    assert.match(
      conf,
      new RegExp(
        `vrrp_instance ${own.name} \\{[^}]*virtual_ipaddress \\{\\n {8}${own.anchor.replaceAll(".", "\\.")}/32 scope link\\n {4}\\}\\n\\}`,
      ),
    );
    const v6 = plan.instances.find((i) => i.name === `node_${other}_ipv6`)!;
    assert.match(conf, new RegExp(`virtual_ipaddress \\{\\n {8}${v6.anchor}/128\\n {4}\\}`));
    assert.equal(instancesForNode(plan, other).length, 6, "every node runs all six instances");
    assert.ok(planVips(plan).includes(own.anchor), "a dead keepalived's anchors are cleaned up too");
    const tester = new ConfigTester();
    try {
      for (const node of plan.nodes) {
        const r = tester.check(renderKeepalivedConf(plan, { node: node.name, interface: "eth0" }));
        assert.deepEqual(r.output, [], node.name);
        assert.equal(r.exitCode, 0);
      }
    } finally {
      tester.close();
    }
  });

  it("a plan of an earlier release (anchor = one of the VIPs, or none) is still read and rendered", () => {
    const plan = planV1(group(snapshot([service("web", ["198.18.1.1", "198.18.1.2"], 0)])));
    for (const i of plan.instances) i.anchor = i.vips[0] ?? "";
    const back = parsePlan(JSON.stringify(plan), "old.json");
    const holder = back.placement["198.18.1.1"]!;
    assert.deepEqual(
      instancesForNode(back, holder).map((i) => i.vips),
      [["198.18.1.1", "198.18.1.2"]],
      "instances without VIPs or anchor are left out, as before",
    );
    assert.match(
      renderKeepalivedConf(back, { node: holder, interface: "eth0" }),
      /virtual_ipaddress \{\n {8}198\.18\.1\.1\/32\n {4}\}\n {4}virtual_ipaddress_excluded \{\n {8}198\.18\.1\.2\/32\n/,
    );
  });

  const bad: [string, string, 4 | 6][] = [
    ["a global address that is not a VIP", "198.18.9.9", 4],
    ["a link-local address of the other family", "fe80::70:1", 4],
    ["a non-canonical link-local address", "FE80::70:1", 6],
    ["nothing, although the instance has VIPs", "", 4],
  ];
  for (const [what, anchor, family] of bad) {
    it(`the reader refuses an anchor that is ${what}`, () => {
      const plan = planV1(group(snapshot([service("web", ["198.18.1.1", "2001:db8:1::1"], 0)])));
      const i = plan.instances.findIndex((x) => x.vips.length > 0 && x.family === family);
      plan.instances[i]!.anchor = anchor;
      assert.throws(
        () => parsePlan(JSON.stringify(plan), "plan.json"),
        (e: unknown) => e instanceof PlanFormatError && e.field === `instances[${i}].anchor`,
      );
    });
  }
});
