// The plan an agent follows: the wire codec (round trip, same bytes, every malformed field named, unknown
// versions), the one choice of a node's instances, and the notify FIFO in the rendered global_defs.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { PLAN_API_VERSION, type PlanInstanceV1, type PlanV1 } from "../../../src/api/plan.js";
import type { ClusterSnapshot } from "../../../src/core/objects.js";
import { planCluster, type ClusterPlan } from "../../../src/core/plan.js";
import { renderKeepalivedConf, RenderError } from "../../../src/render/keepalivedConf.js";
import { instancesForNode, planVips } from "../../../src/render/membership.js";
import {
  encodePlan,
  parsePlan,
  placementOfPlan,
  PlanFormatError,
  planV1,
  serializeGroupPlan,
} from "../../../src/render/planCodec.js";
import { loadSnapshot, REPO } from "../../support/fixtures.js";

const FIXTURES = "test/fixtures/render";
const fixturePlans = (): [string, ClusterPlan][] =>
  readdirSync(join(REPO, FIXTURES))
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => [f, planCluster(loadSnapshot(join(FIXTURES, f)))]);

/** VRRPv2 with a password, verbatim lines, a Local Service with a health check port. */
const authPlan = (): string =>
  serializeGroupPlan(planCluster(loadSnapshot(join(FIXTURES, "local-verbatim-auth.yaml"))).groups[0]!);

/** Dual stack, unicast adverts, Fast timing, and spec.interfaceFromIP; `reversed` lists every input backwards. */
function dualStack(reversed = false): ClusterSnapshot {
  const snapshot = loadSnapshot(join(FIXTURES, "dual-stack-unicast.yaml"));
  snapshot.groups = snapshot.groups.map((g) => ({
    ...g,
    spec: { ...g.spec, interfaceFromIP: "198.18.0.1" },
  }));
  if (reversed) for (const list of [snapshot.groups, snapshot.services, snapshot.nodes]) list.reverse();
  return snapshot;
}

test("plan codec: every fixture's plan survives text unchanged and encodes to the same bytes again", () => {
  for (const [file, plan] of [...fixturePlans(), ["interfaceFromIP", planCluster(dualStack())] as const]) {
    for (const group of plan.groups) {
      const text = serializeGroupPlan(group);
      const back = parsePlan(text, "plan.json");
      assert.deepEqual(back, planV1(group), file);
      assert.equal(encodePlan(back), text, file);
    }
  }
});

test("plan codec: the same plan gives the same bytes, whatever the order of keys and inputs", () => {
  const plan = planCluster(dualStack()).groups[0]!;
  const text = serializeGroupPlan(plan);
  assert.equal(serializeGroupPlan(planCluster(dualStack(true)).groups[0]!), text);
  const reversed = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(reversed)
      : typeof v === "object" && v !== null
        ? Object.fromEntries(
            Object.entries(v)
              .reverse()
              .map(([k, x]) => [k, reversed(x)]),
          )
        : v;
  assert.equal(encodePlan(reversed(planV1(plan)) as PlanV1), text);
  assert.match(text, /^\{\n {2}"apiVersion": "plan\.keepalived-operator\.redhat-cop\.io\/v1",\n {2}"group"/);
});

test("plan codec: the wire plan carries no controller state (pools, ranges, router-ID records)", () => {
  const text = authPlan();
  for (const field of [
    "pools",
    "allowed",
    "blacklist",
    "routerIDs",
    "recordedRouterIds",
    "diagnostics",
    "image",
  ])
    assert.ok(!text.includes(`"${field}"`), field);
  const plan = parsePlan(serializeGroupPlan(planCluster(dualStack()).groups[0]!), "p.json");
  assert.equal(plan.group.interfaceFromIP, "198.18.0.1");
});

/** The plan text with the field at `path` (dots; list indexes as numbers) set to `value`, or removed. */
function withField(text: string, path: string, value: unknown): string {
  const root = JSON.parse(text) as Record<string, unknown>;
  const keys = path.split(".");
  const last = keys.pop()!;
  let at = root;
  for (const k of keys) at = at[k] as Record<string, unknown>;
  at[last] = value;
  // JSON leaves out fields set to undefined: they are missing from the text.
  return JSON.stringify(root);
}

const MALFORMED: [path: string, value: unknown, field: string][] = [
  ["group", undefined, "group"],
  ["group.namespace", 1, "group.namespace"],
  ["group.name", "Bad Name", "group.name"],
  ["group.key", "x/y", "group.key"],
  ["group.interface", "eth0 }", "group.interface"],
  ["group.interfaceFromIP", "nope", "group.interfaceFromIP"],
  ["group.password", "vrrp", "group.password"],
  ["group.password.secretName", 3, "group.password.secretName"],
  ["group.password.secretKey", undefined, "group.password.secretKey"],
  ["group.verbatimGlobal", "x", "group.verbatimGlobal"],
  ["group.verbatimGlobal", [["a"]], "group.verbatimGlobal[0]"],
  ["group.verbatimGlobal", [["Bad", "1"]], "group.verbatimGlobal[0][0]"],
  ["group.verbatimGlobal", [["a", "1\n}"]], "group.verbatimGlobal[0][1]"],
  ["group.unicast", "yes", "group.unicast"],
  ["group.vrrp", undefined, "group.vrrp"],
  ["group.vrrp.version", 4, "group.vrrp.version"],
  ["group.vrrp.advertIntervalMs", "1000", "group.vrrp.advertIntervalMs"],
  ["group.vrrp.preempt", 1, "group.vrrp.preempt"],
  ["group.vrrp.preemptDelaySeconds", -1, "group.vrrp.preemptDelaySeconds"],
  ["group.vrrp.garpMasterDelaySeconds", 1.5, "group.vrrp.garpMasterDelaySeconds"],
  ["group.vrrp.garpMasterRepeat", 0, "group.vrrp.garpMasterRepeat"],
  ["group.vrrp.garpMasterRefreshSeconds", null, "group.vrrp.garpMasterRefreshSeconds"],
  ["nodes", {}, "nodes"],
  ["nodes.0", "lb-a", "nodes[0]"],
  ["nodes.0.name", "", "nodes[0].name"],
  ["nodes.0.addresses", undefined, "nodes[0].addresses"],
  ["nodes.0.addresses.4", "2001:db8::1", "nodes[0].addresses.4"],
  ["instances", undefined, "instances"],
  ["instances.#", null, "instances[#]"],
  ["instances.#.name", "a b", "instances[#].name"],
  ["instances.#.routerId", 0, "instances[#].routerId"],
  ["instances.#.routerId", "9", "instances[#].routerId"],
  ["instances.#.family", 5, "instances[#].family"],
  ["instances.#.vips", "198.18.20.1", "instances[#].vips"],
  ["instances.#.vips", ["not-an-ip"], "instances[#].vips[0]"],
  ["instances.#.vips", ["2001:db8::1"], "instances[#].vips[0]"],
  ["instances.#.anchor", "198.18.20.99", "instances[#].anchor"],
  ["instances.#.priorities", [{ node: "lb-a" }], "instances[#].priorities[0].priority"],
  ["instances.#.priorities", [{ node: 3, priority: 200 }], "instances[#].priorities[0].node"],
  ["instances.#.services", [1], "instances[#].services[0]"],
  ["instances.#.services", ["a\n}"], "instances[#].services[0]"],
  ["instances.#.healthCheckNodePort", 70000, "instances[#].healthCheckNodePort"],
  ["instances.#.settings", [["nopreempt"]], "instances[#].settings[0]"],
  ["placement", undefined, "placement"],
  ["placement", { x: "lb-a" }, "placement"],
  ["placement", { "198.18.20.1": 1 }, "placement[198.18.20.1]"],
];

test("plan codec: every malformed field is a PlanFormatError naming it, never a TypeError", () => {
  const base = authPlan();
  // The Local Service's instance has every field, the optional health check port included.
  const n = String(parsePlan(base, "p.json").instances.findIndex((i) => i.healthCheckNodePort === 31999));
  assert.notEqual(n, "-1");
  for (const [pathOf, value, fieldOf] of MALFORMED) {
    const [path, field] = [pathOf.replace("#", n), fieldOf.replace("#", n)];
    const text = withField(base, path, value);
    assert.throws(
      () => parsePlan(text, "p.json"),
      (e: unknown) =>
        e instanceof PlanFormatError && e.field === field && e.message.startsWith(`p.json: ${field}: `),
      `${path} = ${JSON.stringify(value)} names ${field}`,
    );
  }
  for (const text of ["{", "[]", "null", '"plan"'])
    assert.throws(
      () => parsePlan(text, "p.json"),
      (e: unknown) => e instanceof PlanFormatError && e.field === "(file)",
      text,
    );
});

test("plan codec: a plan of another version names the version this agent reads", () => {
  for (const version of ["plan.keepalived-operator.redhat-cop.io/v2", undefined, 1]) {
    assert.throws(
      () => parsePlan(withField(authPlan(), "apiVersion", version), "ConfigMap kao/legacy"),
      (e: unknown) =>
        e instanceof PlanFormatError &&
        e.field === "apiVersion" &&
        e.message.includes(`reads plans of apiVersion "${PLAN_API_VERSION}"`),
    );
  }
});

test("placementOfPlan: the placement of a plan, undefined for anything else", () => {
  const text = authPlan();
  assert.deepEqual(placementOfPlan(text), parsePlan(text, "p").placement);
  assert.ok(Object.keys(placementOfPlan(text) ?? {}).length > 0);
  for (const other of ["", "{", "{}", withField(text, "apiVersion", "v0"), withField(text, "placement", [])])
    assert.equal(placementOfPlan(other), undefined, other);
});

const instance = (name: string, vips: string[], nodes: string[]): PlanInstanceV1 => ({
  name,
  routerId: 1,
  family: 4,
  vips,
  anchor: vips[0] ?? "",
  priorities: nodes.map((node, rank) => ({ node, priority: 200 - rank })),
  services: [],
  settings: [],
});

test("instancesForNode: the instances with VIPs in which the node has a priority, in plan order", () => {
  const plan = parsePlan(authPlan(), "p.json");
  plan.instances = [
    instance("c", ["198.18.0.3"], ["b", "a"]),
    instance("empty", [], ["a", "b"]),
    instance("other", ["198.18.0.4"], ["b"]),
    instance("a", ["198.18.0.1"], ["a"]),
  ];
  const names = (node: string): string[] => instancesForNode(plan, node).map((i) => i.name);
  assert.deepEqual(names("a"), ["c", "a"]);
  assert.deepEqual(names("b"), ["c", "other"]);
  assert.deepEqual(names("z"), []);
  assert.deepEqual(planVips(plan), ["198.18.0.1", "198.18.0.3", "198.18.0.4"]);
});

test("the notify FIFO opens global_defs; an unsafe path is refused", () => {
  const plan = parsePlan(serializeGroupPlan(planCluster(dualStack()).groups[0]!), "p.json");
  const ctx = { node: plan.nodes[0]!.name, interface: "eth0" };
  const plain = renderKeepalivedConf(plan, ctx);
  const text = renderKeepalivedConf(plan, { ...ctx, notifyFifo: "/run/k/notify.fifo" });
  assert.match(text, /^global_defs \{\n {4}vrrp_notify_fifo \/run\/k\/notify\.fifo\n {4}router_id edge\n/m);
  assert.equal(text.replace("    vrrp_notify_fifo /run/k/notify.fifo\n", ""), plain);
  assert.throws(
    () => renderKeepalivedConf(plan, { ...ctx, notifyFifo: "/run/k/a b" }),
    (e: unknown) => e instanceof RenderError && /notify FIFO path/.test(e.message),
  );
});
