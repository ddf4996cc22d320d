// One bad object never stops another (#11, defect 4): wrongly typed values anywhere become diagnostics on their
// own object, never a throw; and a group (or Service, or Node) whose planning throws anyway is set aside with a
// PlanningFailed diagnostic while every other one is planned as usual.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GROUP_ANNOTATION } from "../../src/api/names.js";
import type { KeepalivedGroup } from "../../src/api/types.js";
import { GroupIsolation } from "../../src/core/isolation.js";
import type { ClusterSnapshot, ServiceObject } from "../../src/core/objects.js";
import { planCluster, type ClusterPlan } from "../../src/core/plan.js";
import type { PendingGroup } from "../../src/core/planInputs.js";
import {
  conform,
  integerIn,
  notNull,
  objectOf,
  oneOf,
  STRING,
  type ShapeProblem,
} from "../../src/core/shape.js";
import { LABEL_SELECTOR } from "../../src/core/wireShapes.js";

const T0 = "2024-01-01T00:00:00Z";

const group = (name: string, spec: unknown): KeepalivedGroup =>
  ({ metadata: { name, namespace: "kao", creationTimestamp: T0 }, spec }) as KeepalivedGroup;
const svc = (name: string, groupName: string, ip: string): ServiceObject => ({
  metadata: {
    name,
    namespace: "app",
    creationTimestamp: T0,
    annotations: { [GROUP_ANNOTATION]: `kao/${groupName}` },
  },
  spec: { type: "LoadBalancer", externalIPs: [ip] },
});

/** Group "good" with a Service, group "bad" with the given spec and a Service, two nodes. */
function world(badSpec: unknown, extra: Partial<ClusterSnapshot> = {}): ClusterSnapshot {
  return {
    groups: [group("bad", badSpec), group("good", { interface: "eth0", allowedCIDRs: ["198.18.0.0/24"] })],
    nodes: [{ metadata: { name: "n1" } }, { metadata: { name: "n2" } }],
    services: [svc("a", "good", "198.18.0.10"), svc("b", "bad", "198.18.0.11")],
    ...extra,
  };
}

function goodIsPlanned(plan: ClusterPlan): void {
  assert.deepEqual(
    plan.groups.map((g) => g.group.key),
    ["kao/good"],
  );
  assert.deepEqual(
    plan.services.find((s) => s.key === "app/a")?.announced.map((a) => a.ip),
    ["198.18.0.10"],
  );
}

const pool = (selector: unknown) => ({
  interface: "eth0",
  addressPools: [{ name: "p", addresses: ["198.18.1.0/28"], serviceSelector: selector }],
});

describe("wrongly typed values are diagnostics on their own object", () => {
  const cases: [string, unknown, RegExp][] = [
    [
      "matchExpressions: 5",
      pool({ matchExpressions: 5 }),
      /^spec\.addressPools\[0\]\.serviceSelector\.matchExpressions: must be a list, not a whole number \(5\)/,
    ],
    [
      "matchExpressions: [null]",
      pool({ matchExpressions: [null] }),
      /matchExpressions\[0\]: must be an object, not null/,
    ],
    [
      "values: 5",
      pool({ matchExpressions: [{ key: "a", operator: "In", values: 5 }] }),
      /matchExpressions\[0\]\.values: must be a list, not a whole number \(5\)/,
    ],
    [
      "values: [1]",
      pool({ matchExpressions: [{ key: "a", operator: "In", values: [1] }] }),
      /values\[0\]: must be a string, not a whole number \(1\)/,
    ],
    [
      "no key",
      pool({ matchExpressions: [{ operator: "Exists" }] }),
      /matchExpressions\[0\]\.key: is required/,
    ],
    [
      "wrong operator",
      pool({ matchExpressions: [{ key: "a", operator: "Near" }] }),
      /operator "Near" is not one of In, NotIn, Exists, DoesNotExist/,
    ],
    [
      "Exists with values",
      pool({ matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] }),
      /operator Exists on key "a" takes no values/,
    ],
    ["a selector that is a string", pool("team=a"), /serviceSelector: must be an object, not a string/],
    ["nodeSelector: 5", { interface: "eth0", nodeSelector: 5 }, /^spec\.nodeSelector: must be a map/],
    [
      "nodeSelector value null",
      { interface: "eth0", nodeSelector: { a: null } },
      /^spec\.nodeSelector\[a\]: must be a string, not null/,
    ],
    ["spec: 7", 7, /^spec: must be an object, not a whole number \(7\)/],
    ["interface: true", { interface: true }, /^spec\.interface: must be a string, not a boolean/],
    [
      "routerIDScope: Region",
      { interface: "eth0", routerIDScope: "Region" },
      /"Region" is neither Cluster nor Group/,
    ],
    [
      "vrrp.timing: Slow",
      { interface: "eth0", vrrp: { timing: "Slow" } },
      /"Slow" is not a timing profile; use Default, Fast, Fastest/,
    ],
    [
      "garp.masterRepeat: 0",
      { interface: "eth0", vrrp: { garp: { masterRepeat: 0 } } },
      /garp\.masterRepeat: 0 is not a whole number from 1 to 255/,
    ],
    ["interfaceFromIP: 127.0.0.1", { interfaceFromIP: "127.0.0.1" }, /"127\.0\.0\.1" is a loopback address/],
    ["interfaceFromIP: ::1", { interfaceFromIP: "::1" }, /is the loopback address/],
    ["interfaceFromIP: 169.254.1.1", { interfaceFromIP: "169.254.1.1" }, /is a link-local address/],
    ["interfaceFromIP: fe80::1", { interfaceFromIP: "fe80::1" }, /is a link-local address/],
    ["interfaceFromIP: 224.0.0.18", { interfaceFromIP: "224.0.0.18" }, /is a multicast address/],
    ["interfaceFromIP: 0.0.0.0", { interfaceFromIP: "0.0.0.0" }, /'this network'/],
    ["interfaceFromIP: ::", { interfaceFromIP: "::" }, /is the unspecified address/],
    [
      "dedicatedInstancesPerNamespace: 300",
      { interface: "eth0", dedicatedInstancesPerNamespace: 300 },
      /300 is not a whole number from 0 to 255/,
    ],
  ];
  for (const [name, spec, message] of cases) {
    it(`${name}: the group is invalid, the other planned`, () => {
      const plan = planCluster(world(spec));
      goodIsPlanned(plan);
      const bad = plan.invalidGroups.find((g) => g.key === "kao/bad");
      assert.ok(bad !== undefined);
      assert.ok(
        bad.diagnostics.some((d) => message.test(`${d.field}: ${d.message}`)),
        bad.diagnostics.map((d) => `${d.field}: ${d.message}`).join("\n"),
      );
      const b = plan.services.find((s) => s.key === "app/b")!;
      assert.equal(b.diagnostics[0]?.reason, "GroupNotFound");
      assert.match(b.diagnostics[0].message, /is invalid \(see its status conditions\)/);
    });
  }
  it("garbage in Services, Nodes, Namespaces, OpenShift Networks and derived inputs: no throw", () => {
    const snapshot = world({
      interface: "eth0",
      allowedCIDRs: ["198.18.0.0/24"],
      addressPools: [
        { name: "p", addresses: ["198.18.1.0/28"], namespaceSelector: { matchLabels: { t: "a" } } },
      ],
    });
    snapshot.services.push(
      {
        metadata: { name: "c", namespace: "app", annotations: { [GROUP_ANNOTATION]: 5 } },
        spec: { type: "LoadBalancer" },
      } as unknown as ServiceObject,
      { metadata: 5 } as unknown as ServiceObject,
      {
        metadata: { name: "e", namespace: "app", annotations: { [GROUP_ANNOTATION]: 5 } },
      } as unknown as ServiceObject,
      null as unknown as ServiceObject,
      {
        metadata: { name: "d", annotations: { [GROUP_ANNOTATION]: "kao/good" } },
        spec: { type: "LoadBalancer", externalIPs: "198.18.0.12", ports: 5 },
      } as unknown as ServiceObject,
    );
    snapshot.nodes.push(
      { metadata: { name: "n3", labels: 5 }, status: { addresses: [null, { type: 1 }] } } as never,
      7 as never,
    );
    snapshot.namespaces = [{ metadata: { name: "app", labels: { t: 5 } } }, null, { metadata: [] }] as never;
    snapshot.openshiftNetworks = [
      { metadata: { name: "cluster" }, spec: { serviceNetwork: 5, externalIP: [] } },
    ] as never;
    snapshot.ownIngress = { "app/a": [5], "app/b": "x" } as never;
    snapshot.localEndpointNodes = 9 as never;
    snapshot.previousPlacement = { "kao/good": { "198.18.0.10": 3 } } as never;
    const plan = planCluster(snapshot);
    assert.deepEqual(
      plan.groups.map((g) => g.group.key),
      ["kao/bad", "kao/good"],
    );
    assert.equal(
      plan.services.find((s) => s.key === "app/e"),
      undefined,
      "a ClusterIP Service with a wrongly typed group annotation is not ours",
    );
    const c = plan.services.find((s) => s.key === "app/c")!;
    assert.match(c.diagnostics[0]?.message ?? "", /must be a string, not a whole number \(5\)/);
    const d = plan.services.find((s) => s.key === "default/d")!;
    assert.deepEqual(
      d.diagnostics.map((x) => x.field),
      ["spec.externalIPs", "spec.ports"],
    );
    assert.ok(
      plan.groups[1]!.diagnostics.some((x) => x.object.kind === "Node" && x.field === "metadata.labels"),
    );
  });
});

describe("a group whose planning throws is set aside; the others are planned", () => {
  const throwing = (field: string) =>
    Object.defineProperty({ interface: "eth0" }, field, {
      enumerable: true,
      get() {
        throw new TypeError("number 5 is not iterable");
      },
    });
  it("a throw while validating: PlanningFailed on that group, its Services told, the other group planned", () => {
    const plan = planCluster(world(throwing("addressPools")));
    goodIsPlanned(plan);
    const bad = plan.invalidGroups.find((g) => g.key === "kao/bad")!;
    assert.equal(bad.diagnostics[0]?.reason, "PlanningFailed");
    assert.match(
      bad.diagnostics[0].message,
      /validating the group failed \(TypeError: number 5 is not iterable\)/,
    );
  });
  it("a Service or Node that throws while read: a diagnostic of its own, nothing else touched", () => {
    const snapshot = world({ interface: "eth0", allowedCIDRs: ["198.18.0.0/24"] });
    snapshot.services.push(
      Object.defineProperty({ metadata: { name: "x", namespace: "app" } }, "spec", {
        enumerable: true,
        get() {
          throw new Error("boom");
        },
      }),
    );
    snapshot.nodes.push(
      Object.defineProperty({}, "metadata", {
        enumerable: true,
        get() {
          throw new Error("boom");
        },
      }) as never,
    );
    const plan = planCluster(snapshot);
    assert.equal(plan.groups.length, 2);
    const x = plan.services.find((s) => s.key === "app/x")!;
    assert.equal(x.diagnostics[0]?.reason, "PlanningFailed");
    assert.deepEqual(
      plan.services.find((s) => s.key === "app/b")?.announced.map((a) => a.ip),
      ["198.18.0.11"],
    );
  });
  it("GroupIsolation.each and .all: a step that throws for one group sets that group aside, in key order", () => {
    const pending = (key: string) =>
      ({ model: { key, namespace: "kao", name: key.split("/")[1] } }) as unknown as PendingGroup;
    const isolation = new GroupIsolation(new Map(["kao/a", "kao/b", "kao/c"].map((k) => [k, pending(k)])));
    const seen: string[][] = [];
    const result = isolation.all(
      "adding",
      (list) => {
        seen.push(list.map((g) => g.model.key));
        if (list.some((g) => g.model.key === "kao/b")) throw new Error("b is broken");
        return list.length;
      },
      -1,
    );
    assert.equal(result, 2);
    assert.deepEqual(seen, [
      ["kao/a", "kao/b", "kao/c"],
      ["kao/a"],
      ["kao/b"],
      ["kao/c"],
      ["kao/a", "kao/c"],
    ]);
    assert.deepEqual(
      isolation.failed.map((f) => [f.key, f.diagnostics[0]?.reason]),
      [["kao/b", "PlanningFailed"]],
    );
    isolation.each("naming", (g) => {
      if (g.model.key === "kao/c") throw new Error("c is broken");
    });
    assert.deepEqual([...isolation.groups.keys()], ["kao/a"]);
    const always = isolation.all(
      "failing",
      (list) => {
        if (list.length > 0) throw new Error("only together");
        return 0;
      },
      -1,
    );
    assert.equal(always, 0, "a is set aside alone, the rest (nothing) runs");
    assert.deepEqual(
      isolation.failed.map((f) => f.key),
      ["kao/b", "kao/c", "kao/a"],
    );
    const isolated = new GroupIsolation(new Map(["kao/a", "kao/b"].map((k) => [k, pending(k)])));
    const none = isolated.all(
      "pairing",
      (list) => {
        if (list.length > 1) throw new Error("only together");
        return list.length;
      },
      -1,
    );
    assert.equal(none, -1, "each works alone, never together: both are set aside");
    assert.deepEqual(
      isolated.failed.map((f) => f.diagnostics[0]?.message.split(" failed")[0]),
      ["pairing (together with the other groups)", "pairing (together with the other groups)"],
    );
  });
});

describe("conform", () => {
  it("copies only the named fields of the named types, reporting each dropped value with its path", () => {
    const problems: ShapeProblem[] = [];
    const out = conform(
      {
        matchLabels: { a: "1", b: 2, __proto__: "x" },
        matchExpressions: [{ key: "k", operator: "In", values: ["v", 3] }, null],
        extra: 1,
      },
      LABEL_SELECTOR,
      "sel",
      problems,
    );
    assert.deepEqual(JSON.parse(JSON.stringify(out)), {
      matchLabels: { a: "1" },
      matchExpressions: [{ key: "k", operator: "In", values: ["v"] }],
    });
    assert.deepEqual(
      problems.map((p) => p.path),
      ["sel.matchLabels[b]", "sel.matchExpressions[0].values[1]", "sel.matchExpressions[1]"],
    );
    assert.equal(conform({ a: null }, objectOf({ a: STRING }, ["a"]), "x", []), undefined);
  });

  it("reports null where a value must be (notNull), a word outside an enum and a number out of range", () => {
    const problems: ShapeProblem[] = [];
    const shape = objectOf({
      metadata: notNull(objectOf({ name: STRING })),
      label: STRING,
      family: oneOf("IPv4", "IPv6"),
      port: integerIn(1, 65535),
    });
    const out = conform({ metadata: null, label: null, family: "IPv5", port: 0 }, shape, "", problems);
    assert.deepEqual(out, {});
    assert.deepEqual(
      problems.map((p) => `${p.path} ${p.problem}`),
      [
        "metadata must be an object, not null",
        'family must be one of IPv4, IPv6, not a string ("IPv5")',
        "port must be a whole number from 1 to 65535, not a whole number (0)",
      ],
    );
    assert.deepEqual(conform({ family: "IPv6", port: 65535 }, shape, "", []), {
      family: "IPv6",
      port: 65535,
    });
  });
});
