// One group's placement steps: which settings a group takes, how VIPs become placement items, and which
// virtual routers carry them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KeepalivedGroupSpec } from "../../src/api/types.js";
import type { NodeMember } from "../../src/core/clusterPlan.js";
import type { Diagnostic } from "../../src/core/diagnostics.js";
import { validateGroup, type GroupModel } from "../../src/core/group.js";
import { parseIP, type ParsedIP } from "../../src/core/ip.js";
import { planRouters, settingsForGroup } from "../../src/core/routers.js";
import type { ServiceClaim } from "../../src/core/service.js";
import { mergeSharedVips, vipItems, type GroupSurroundings, type VipItem } from "../../src/core/vipItems.js";

function model(spec: KeepalivedGroupSpec = {}): GroupModel {
  const result = validateGroup({
    metadata: { namespace: "kao", name: "g" },
    spec: { interface: "eth0", ...spec },
  });
  assert.ok(result.ok);
  return result.model;
}
const ips = (...texts: string[]): ParsedIP[] => texts.map((t) => parseIP(t) as ParsedIP);
/** A claim of the group with its VIPs already given. */
function claim(name: string, vips: string[], more: Partial<ServiceClaim> = {}): ServiceClaim {
  return {
    ...{ namespace: "app", name, key: `app/${name}`, createdAt: "2024-01-01T00:00:00Z", groupKey: "kao/g" },
    ...{ vips: ips(...vips), trusted: [], external: [], requested: [], loadBalancer: true, families: [4] },
    ...{ requireAllFamilies: false, ports: ["TCP/80"], labels: {}, vipFields: {}, spreadVIPs: false },
    ...{ instanceSettings: [], localTrafficOnly: false },
    ...more,
  };
}
const nodes = (...names: string[]): NodeMember[] =>
  names.map((name, i) => ({
    name,
    addresses: { 4: `10.0.0.${i + 1}`, ...(name.endsWith("6") ? { 6: `fd00::${i + 1}` } : {}) },
  }));
const surroundings = (
  spec: KeepalivedGroupSpec,
  members: NodeMember[],
  more: Partial<GroupSurroundings> = {},
) => ({
  model: model(spec),
  nodes: members,
  localEndpointNodes: undefined,
  previous: {},
  ...more,
});

describe("settingsForGroup: verbatimconfig settings the group's VRRP mode cannot take", () => {
  const cases: [string, KeepalivedGroupSpec, [string, string][], [string, string][], RegExp | undefined][] = [
    ["kept when all fit", {}, [["garp_master_refresh", "60"]], [["garp_master_refresh", "60"]], undefined],
    ["unicast_ttl without unicast", {}, [["unicast_ttl", "3"]], [], /needs spec.unicastEnabled/],
    [
      "unicast_ttl with unicast",
      { unicastEnabled: true },
      [["unicast_ttl", "3"]],
      [["unicast_ttl", "3"]],
      undefined,
    ],
    [
      "fractional advert_int on VRRPv2",
      { vrrp: { version: 2 } },
      [["advert_int", "1.5"]],
      [],
      /whole seconds/,
    ],
    [
      "whole advert_int on VRRPv2",
      { vrrp: { version: 2 } },
      [["advert_int", "2"]],
      [["advert_int", "2"]],
      undefined,
    ],
    ["fractional advert_int on VRRPv3", {}, [["advert_int", "1.5"]], [["advert_int", "1.5"]], undefined],
  ];
  for (const [name, spec, settings, kept, warning] of cases) {
    it(name, () => {
      const diagnostics: Diagnostic[] = [];
      const original = claim("s", [], { instanceSettings: settings });
      const accepted = settingsForGroup(original, model(spec), diagnostics);
      assert.deepEqual(accepted.instanceSettings, kept);
      if (warning === undefined) {
        assert.equal(accepted, original, "unchanged claims are passed through");
        assert.deepEqual(diagnostics, []);
      } else {
        const [rejected] = diagnostics;
        assert.ok(rejected);
        assert.equal(rejected.reason, "RejectedVerbatimConfig");
        assert.match(rejected.message, warning);
      }
    });
  }
});

describe("vipItems", () => {
  it("a Service's VIPs are one item; a spreading Service's are one item each, keyed by VIP", () => {
    const items = vipItems(surroundings({}, nodes("n1", "n2")), [
      claim("a", ["198.18.0.1", "198.18.0.2"]),
      claim("b", ["198.18.0.3", "198.18.0.4"], { spreadVIPs: true }),
    ]);
    assert.deepEqual(
      items.map((i) => [i.key, i.hashKey, i.weight]),
      [
        ["app/a", "app/a", 2],
        ["app/b/198.18.0.3", "198.18.0.3", 1],
        ["app/b/198.18.0.4", "198.18.0.4", 1],
      ],
    );
  });
  it("eligibility: local endpoints, the active node when spreading is off, unicast addresses", () => {
    const local = claim("l", ["198.18.0.1"], { localTrafficOnly: true });
    const dual = claim("d", ["198.18.0.2", "2001:db8::2"]);
    const where = { localEndpointNodes: { "app/l": ["n2", "gone"] } };
    assert.deepEqual(vipItems(surroundings({}, nodes("n1", "n2"), where), [local])[0]?.eligible, ["n2"]);
    const standby = vipItems(surroundings({ spreadVIPs: false }, nodes("n1", "n2")), [dual])[0]?.eligible;
    assert.equal(standby?.length, 1);
    const unicast = vipItems(surroundings({ unicastEnabled: true }, nodes("n1", "n26", "n36")), [dual]);
    assert.deepEqual(unicast[0]?.eligible, ["n26", "n36"]);
  });
  it("the previous node of an item's first VIP makes it sticky", () => {
    const where = { previous: { "198.18.0.1": "n2" } };
    assert.equal(
      vipItems(surroundings({}, nodes("n1", "n2"), where), [claim("a", ["198.18.0.1"])])[0]?.previous,
      "n2",
    );
  });
});

describe("mergeSharedVips", () => {
  const item = (c: ServiceClaim): VipItem => ({
    key: c.key,
    hashKey: c.key,
    weight: c.vips.length,
    claim: c,
    claims: [c],
    vips: c.vips,
  });
  it("Services sharing an IP become one item with the union of their VIPs", () => {
    const a = claim("a", ["198.18.0.1", "198.18.0.2"]);
    const b = claim("b", ["198.18.0.2", "198.18.0.3"]);
    const c = claim("c", ["198.18.0.9"]);
    const merged = mergeSharedVips([item(a), item(b), item(c)]);
    assert.deepEqual(
      merged.map((i) => [i.key, i.claims.map((x) => x.name), i.vips.map((v) => v.text), i.weight]),
      [
        ["app/a+app/b", ["a", "b"], ["198.18.0.1", "198.18.0.2", "198.18.0.3"], 3],
        ["app/c", ["c"], ["198.18.0.9"], 1],
      ],
    );
    assert.deepEqual(
      a.vips.map((v) => v.text),
      ["198.18.0.1", "198.18.0.2"],
      "the claims' own lists are left alone",
    );
  });
});

describe("planRouters", () => {
  it("pooled VIPs: one instance per node and family of the nodes' addresses, the holder first", () => {
    const planned = planRouters(surroundings({}, nodes("n1", "n2")), [claim("a", ["198.18.0.1"])]);
    assert.deepEqual(
      planned.routers.map((r) => [r.key, r.name, r.vips, r.priorities.map((p) => p.priority)]),
      [
        [
          "node/n1/ipv4",
          "node_n1_ipv4",
          planned.placement["198.18.0.1"] === "n1" ? ["198.18.0.1"] : [],
          [250, 240],
        ],
        [
          "node/n2/ipv4",
          "node_n2_ipv4",
          planned.placement["198.18.0.1"] === "n2" ? ["198.18.0.1"] : [],
          [250, 240],
        ],
      ],
    );
  });
  it("a dedicated Service gets an instance per family, with its settings and health check port", () => {
    const dedicated = claim("d", ["198.18.0.2", "2001:db8::2"], {
      localTrafficOnly: true,
      healthCheckNodePort: 30001,
      instanceSettings: [["garp_master_refresh", "60"]],
    });
    const planned = planRouters(surroundings({}, nodes("n16", "n26")), [dedicated]);
    assert.deepEqual(
      planned.routers
        .filter((r) => r.key.startsWith("service/"))
        .map((r) => [r.key, r.vips, r.services, r.settings, r.healthCheckNodePort]),
      [
        ["service/app/d/ipv4", ["198.18.0.2"], ["app/d"], [["garp_master_refresh", "60"]], 30001],
        ["service/app/d/ipv6", ["2001:db8::2"], ["app/d"], [["garp_master_refresh", "60"]], 30001],
      ],
    );
  });
  it("every node has its pooled instances before it holds a VIP: one per family its nodes have", () => {
    const none = planRouters(surroundings({}, nodes("n1", "n26")), []);
    assert.deepEqual(
      none.routers.map((r) => [r.key, r.vips, r.priorities.map((p) => p.node)]),
      [
        ["node/n1/ipv4", [], ["n1", "n26"]],
        ["node/n26/ipv4", [], ["n26", "n1"]],
        ["node/n26/ipv6", [], ["n26", "n1"]],
        ["node/n1/ipv6", [], ["n1", "n26"]],
      ].sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)),
    );
    const unicast = planRouters(surroundings({ unicastEnabled: true }, nodes("n1", "n26")), []);
    assert.deepEqual(
      unicast.routers.map((r) => r.key),
      ["node/n1/ipv4", "node/n26/ipv4", "node/n26/ipv6"],
      "unicast: only nodes with an address of the family",
    );
  });
  it("VIPs no node may hold are a Warning on their Service, and not placed", () => {
    const local = claim("l", ["198.18.0.1"], { localTrafficOnly: true });
    const planned = planRouters(surroundings({}, nodes("n1"), { localEndpointNodes: { "app/l": [] } }), [
      local,
    ]);
    assert.deepEqual(
      planned.routers.map((r) => [r.key, r.vips]),
      [["node/n1/ipv4", []]],
      "only the node's own pooled instance",
    );
    assert.deepEqual(planned.placement, {});
    assert.deepEqual(
      planned.diagnostics.map((d) => [d.object.name, d.reason]),
      [["l", "NoEligibleNode"]],
    );
    assert.match(planned.diagnostics[0]?.message ?? "", /ready local endpoint/);
  });
});
