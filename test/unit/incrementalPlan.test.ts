// Incremental reconciles decide exactly as a fresh one (issue #13): over seeded random histories of changes
// (Services added, changed and deleted; plan objects lost; shared, requested, external and pool IPs; Local Services and their
// endpoints; verbatim settings; nodes relabelled; group specs changed, one made invalid and valid again; the
// controller's own writes landing in between), deciding with the memo the controller keeps across reconciles
// gives, at every step and so at the end, the same plan and the same actions as deciding the same state from
// scratch. Objects are replaced, never edited in place, as the caches do.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { ConfigMapObject, EndpointSliceObject } from "../../src/api/kube.js";
import {
  FIELD_MANAGER,
  LOAD_BALANCER_IPS_ANNOTATION,
  SHARING_KEY_ANNOTATION,
  VERBATIM_CONFIG_ANNOTATION,
} from "../../src/api/names.js";
import type { KeepalivedGroupSpec, KeepalivedGroupStatus } from "../../src/api/types.js";
import {
  decide,
  decidePlan,
  planState,
  type Action,
  type ClusterState,
} from "../../src/controller/decide.js";
import type { ClusterPlan } from "../../src/core/plan.js";
import { ReconcileMemo } from "../../src/controller/snapshot.js";
import type { ServiceWithManagedFields } from "../../src/render/serviceStatus.js";
import { cluster, group, node, NOW, ours, service, theirs } from "./controller/cluster.js";

const GROUPS = ["red", "blue", "green"] as const;

function spec(name: string, variant: number): KeepalivedGroupSpec {
  const base: KeepalivedGroupSpec = {
    interface: "eth0",
    nodeSelector: { lb: name },
    // Each group its own range (addresses assigned group by group), or red's and blue's together (variant 4).
    allowedCIDRs: [variant === 4 ? "198.18.6.0/23" : `198.18.${6 + GROUPS.indexOf(name as never)}.0/24`],
    addressPools: [{ name: "p", addresses: [`198.18.${10 + GROUPS.indexOf(name as never)}.0/29`] }],
  };
  // The pool moved: Services already published keep their IPs only where the group still allows them.
  if (variant === 5)
    base.addressPools = [{ name: "p", addresses: [`198.18.${6 + GROUPS.indexOf(name as never)}.200/29`] }];
  if (variant === 1) base.vrrp = { instanceNodes: 2 };
  if (variant === 2) base.spreadVIPs = false;
  // Invalid: the group is refused and its Services wait.
  if (variant === 3) base.interface = "not a valid interface name!";
  return base;
}

const change = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("service" as const),
      i: fc.nat(7),
      group: fc.constantFrom("red", "blue", "green", "missing"),
      ip: fc.constantFrom("none", "external", "requested", "shared", "clash", "trusted"),
      local: fc.boolean(),
      verbatim: fc.boolean(),
      lb: fc.boolean(),
    }),
  },
  fc.record({ op: fc.constant("delete" as const), i: fc.nat(7) }),
  fc.record({ op: fc.constant("node" as const), i: fc.nat(4), group: fc.constantFrom(...GROUPS, "none") }),
  fc.record({ op: fc.constant("group" as const), group: fc.constantFrom(...GROUPS), variant: fc.nat(5) }),
  fc.record({ op: fc.constant("endpoints" as const), i: fc.nat(7), nodes: fc.subarray([0, 1, 2, 3, 4]) }),
  fc.record({ op: fc.constant("write" as const) }),
  // Someone deletes a group's plan objects: the previous placement is lost, so stickiness no longer holds.
  fc.record({ op: fc.constant("lose" as const), group: fc.constantFrom(...GROUPS) }),
);
type Change = typeof change extends fc.Arbitrary<infer T> ? T : never;

const key = (o: { metadata: { namespace?: string; name?: string } }): string =>
  `${o.metadata.namespace ?? ""}/${o.metadata.name ?? ""}`;
const put = <T extends { metadata: { namespace?: string; name?: string } }>(list: T[], o: T): T[] => [
  ...list.filter((x) => key(x) !== key(o)),
  o,
];

function svc(c: Extract<Change, { op: "service" }>): ServiceWithManagedFields {
  const s = service(`s${c.i}`, {
    group: `kao/${c.group}`,
    type: c.lb ? "LoadBalancer" : "ClusterIP",
    created: new Date(Date.UTC(2025, 0, 1, 0, 0, c.i)).toISOString(),
    // In red's or blue's range, not always the Service's own group's; often the IP of another Service.
    ...(c.ip === "external" ? { externalIPs: [`198.18.${6 + (c.i % 2)}.${20 + (c.i % 3)}`] } : {}),
    ...(c.ip === "clash" ? { externalIPs: ["198.18.6.99"] } : {}),
    // Published by another controller: taken wherever it is.
    ...(c.ip === "trusted" ? { ingress: [`198.18.${6 + (c.i % 2)}.20`], managedFields: theirs } : {}),
  });
  const annotations = s.metadata.annotations ?? {};
  if (c.ip === "requested")
    annotations[LOAD_BALANCER_IPS_ANNOTATION] = `198.18.${6 + (c.i % 2)}.${21 + (c.i % 3)}`;
  if (c.ip === "shared") {
    annotations[LOAD_BALANCER_IPS_ANNOTATION] = "198.18.6.77";
    annotations[SHARING_KEY_ANNOTATION] = "shared";
    s.spec = { ...s.spec, ports: [{ name: "p", protocol: "TCP", port: 1000 + c.i }] };
  }
  if (c.verbatim) annotations[VERBATIM_CONFIG_ANNOTATION] = JSON.stringify({ nopreempt: "" });
  if (c.local) s.spec = { ...s.spec, externalTrafficPolicy: "Local" };
  return s;
}

function slice(i: number, nodes: number[]): EndpointSliceObject {
  return {
    metadata: { namespace: "demo", name: `s${i}-x`, labels: { "kubernetes.io/service-name": `s${i}` } },
    endpoints: nodes.map((n) => ({ nodeName: `n${n}`, conditions: { ready: true } })),
  };
}

let rv = 100;

/** What the API server holds once the (non-Event) actions are written: new objects for the written ones only. */
function written(state: ClusterState, actions: readonly Action[]): ClusterState {
  const next = { ...state };
  for (const a of actions) {
    const version = String(++rv);
    if (a.kind === "apply" && a.manifest.kind === "ConfigMap") {
      const cm = a.manifest as ConfigMapObject;
      next.configMaps = put(next.configMaps, {
        ...cm,
        metadata: { ...cm.metadata, resourceVersion: version },
      });
    } else if (a.kind === "apply" && a.manifest.kind === "DaemonSet")
      next.daemonSets = put(next.daemonSets, a.manifest);
    else if (a.kind === "delete" && a.target.kind === "ConfigMap")
      next.configMaps = next.configMaps.filter((o) => key(o) !== key(a.target));
    else if (a.kind === "applyStatus" && a.manifest.kind === "KeepalivedGroup") {
      const g = next.groups.find((x) => key(x) === key(a.manifest));
      const status = a.manifest.status as KeepalivedGroupStatus;
      if (g !== undefined) next.groups = put(next.groups, { ...g, status });
    } else if (a.kind === "applyStatus" && a.manifest.kind === "Service") {
      const s = next.services.find((x) => key(x) === key(a.manifest));
      if (s === undefined) continue;
      const status = a.manifest.status as NonNullable<ServiceWithManagedFields["status"]>;
      const mine = (status.loadBalancer?.ingress ?? []).length > 0 ? ours : [];
      const others = (s.metadata.managedFields ?? []).filter((m) => m.manager !== FIELD_MANAGER);
      next.services = put(next.services, {
        ...s,
        status,
        metadata: { ...s.metadata, managedFields: [...others, ...mine] },
      });
    }
  }
  return next;
}

function applyChange(state: ClusterState, c: Change, lastActions: readonly Action[]): ClusterState {
  switch (c.op) {
    case "service":
      return { ...state, services: put(state.services, svc(c)) };
    case "delete":
      return { ...state, services: state.services.filter((s) => s.metadata.name !== `s${c.i}`) };
    case "node":
      return {
        ...state,
        nodes: put(state.nodes, node(`n${c.i}`, c.i, c.group === "none" ? {} : { lb: c.group })),
      };
    case "group": {
      const before = state.groups.find((g) => g.metadata.name === c.group);
      const g = group(c.group, { spec: spec(c.group, c.variant) });
      if (before?.status !== undefined) g.status = before.status;
      g.metadata.generation = (before?.metadata.generation ?? 0) + 1;
      return { ...state, groups: put(state.groups, g) };
    }
    case "endpoints":
      return { ...state, endpointSlices: put(state.endpointSlices, slice(c.i, c.nodes)) };
    case "write":
      return written(state, lastActions);
    case "lose":
      return {
        ...state,
        configMaps: state.configMaps.filter((cm) => !cm.metadata.name?.startsWith(c.group)),
      };
  }
}

const comparable = (d: ReturnType<typeof decide>) => ({
  plan: d.plan,
  actions: d.actions,
  gauges: d.gauges,
  placements: [...d.planPlacements],
});

describe("incremental reconciles decide as a fresh one", () => {
  it("every step of a random history: the memo's plan and actions equal those of a fresh decision", () => {
    let [steps, reused] = [0, 0];
    fc.assert(
      fc.property(fc.array(change, { minLength: 1, maxLength: 40 }), (changes) => {
        let state = cluster({
          groups: GROUPS.map((g) => group(g, { spec: spec(g, 0) })),
          nodes: [0, 1, 2, 3, 4].map((i) => node(`n${i}`, i, { lb: GROUPS[i % 3] ?? "red" })),
        });
        const memo = new ReconcileMemo();
        let last: Action[] = [];
        let previousPlans = new Set<object>();
        // Each history also writes what it decided at the end of every few steps.
        for (const [n, c] of changes.entries()) {
          state = applyChange(state, c, last);
          if (n % 4 === 3) state = written(state, last);
          const incremental = decide(state, { nowMs: NOW, holders: undefined, memo });
          const fresh = decide(state, { nowMs: NOW, holders: undefined });
          assert.deepStrictEqual(comparable(incremental), comparable(fresh));
          if (incremental.plan.groups.some((g) => previousPlans.has(g))) reused++;
          previousPlans = new Set(incremental.plan.groups);
          last = incremental.actions.filter((a) => a.kind !== "event");
          steps++;
        }
      }),
      { seed: 1613, numRuns: 150 },
    );
    // The memo is used, not merely present: many steps reuse a group's plan of the step before.
    assert.ok(reused > steps / 10, `${reused} of ${steps} steps reused a group plan`);
  });

  it("a lost previous placement is an input: VIPs kept by stickiness are planned afresh, as a fresh decision does", () => {
    const memo = new ReconcileMemo();
    let state = cluster({
      groups: [group("red", { spec: spec("red", 0) })],
      nodes: [node("n0", 0, { lb: "red" }), node("n1", 1, {})],
      services: [0, 1, 2, 3, 4, 5].map((i) =>
        svc({ op: "service", i, group: "red", ip: "none", local: false, verbatim: false, lb: true }),
      ),
    });
    const both = (): ReturnType<typeof decide> => {
      const incremental = decide(state, { nowMs: NOW, holders: undefined, memo });
      assert.deepStrictEqual(
        comparable(incremental),
        comparable(decide(state, { nowMs: NOW, holders: undefined })),
      );
      return incremental;
    };
    // Everything on n0, written; then n1 joins and stickiness keeps more on n0 than hashing alone would.
    for (let pass = 0; pass < 3; pass++) state = written(state, both().actions);
    state = applyChange(state, { op: "node", i: 1, group: "red" }, []);
    for (let pass = 0; pass < 3; pass++) state = written(state, both().actions);
    const sticky = both().plan.groups[0]?.placement ?? {};
    state = applyChange(state, { op: "lose", group: "red" }, []);
    const afresh = both().plan.groups[0]?.placement ?? {};
    assert.notDeepStrictEqual(afresh, sticky, "this history must make stickiness matter");
  });

  it("groups whose ranges overlap are assigned together: one IP asked for in both goes to one Service", () => {
    const memo = new ReconcileMemo();
    const ask = (i: number, g: "red" | "blue"): ServiceWithManagedFields =>
      svc({ op: "service", i, group: g, ip: "external", local: false, verbatim: false, lb: true });
    // s1 (red) and s7 (blue) both ask for 198.18.7.21, blue's; red's variant 4 allows it too.
    let state = cluster({
      groups: [group("red", { spec: spec("red", 4) }), group("blue", { spec: spec("blue", 0) })],
      nodes: [node("n0", 0, { lb: "red" }), node("n1", 1, { lb: "blue" })],
      services: [ask(1, "red"), ask(7, "blue")],
    });
    for (let pass = 0; pass < 3; pass++) {
      const incremental = decide(state, { nowMs: NOW, holders: undefined, memo });
      assert.deepStrictEqual(
        comparable(incremental),
        comparable(decide(state, { nowMs: NOW, holders: undefined })),
      );
      const holders = incremental.plan.services.filter((p) =>
        p.announced.some((a) => a.ip === "198.18.7.21"),
      );
      assert.deepStrictEqual(
        holders.map((p) => p.key),
        ["demo/s1"],
        "the older Service holds it",
      );
      state = written(state, incremental.actions);
    }
  });

  it("a Service found quiet is decided again when its plan's IPs or problems change, its object the same", () => {
    const memo = new ReconcileMemo();
    let state = cluster({
      groups: [group("red", { spec: spec("red", 0) })],
      nodes: [node("n0", 0, { lb: "red" })],
      services: [1, 2].map((i) =>
        svc({ op: "service", i, group: "red", ip: "none", local: false, verbatim: false, lb: true }),
      ),
    });
    for (let pass = 0; pass < 3; pass++)
      state = written(state, decide(state, { nowMs: NOW, holders: undefined, memo }).actions);
    const withMemo = { nowMs: NOW, holders: undefined, memo };
    const plan = planState(state, withMemo);
    const services = (p: ClusterPlan): Action[] =>
      decidePlan(p, state, withMemo).actions.filter(
        (a) =>
          (a.kind === "applyStatus" && a.manifest.kind === "Service") ||
          (a.kind === "event" && a.involved.kind === "Service"),
      );
    assert.deepStrictEqual(services(plan), [], "published and quiet: nothing to write or say");
    const [first, second] = plan.services;
    assert.ok(first !== undefined && second !== undefined && first.announced[0] !== undefined);
    const variants: [string, ClusterPlan][] = [
      [
        "another IP",
        {
          ...plan,
          services: [{ ...first, announced: [{ ...first.announced[0], ip: "198.18.10.6" }] }, second],
        },
      ],
      [
        "one more IP",
        { ...plan, services: [{ ...first, announced: [...first.announced, { ip: "198.18.10.5" }] }, second] },
      ],
      ["no IP", { ...plan, services: [{ ...first, announced: [] }, second] }],
      [
        "a problem",
        {
          ...plan,
          services: [
            {
              ...first,
              diagnostics: [
                {
                  object: { kind: "Service", namespace: "demo", name: "s1" },
                  field: "spec",
                  reason: "Test",
                  message: "a problem",
                  severity: "Warning",
                },
              ],
            },
            second,
          ],
        },
      ],
      ["its group invalid", { ...plan, invalidGroups: [{ key: first.groupKey, diagnostics: [] }] }],
    ];
    for (const [what, changed] of variants) {
      const fresh = decidePlan(changed, state, { nowMs: NOW, holders: undefined }).actions.filter(
        (a) =>
          (a.kind === "applyStatus" && a.manifest.kind === "Service") ||
          (a.kind === "event" && a.involved.kind === "Service"),
      );
      assert.deepStrictEqual(services(changed), fresh, `${what}: as a fresh decision`);
      if (what !== "its group invalid") assert.notDeepStrictEqual(fresh, [], `${what}: something to do`);
    }
  });
});
