// Node plan objects: their names, what each holds, when they are written, deleted, or refused as too large.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { ConfigMapObject } from "../../../src/api/kube.js";
import { labelValue, nodePlanName } from "../../../src/api/names.js";
import type { KeepalivedGroupStatus } from "../../../src/api/types.js";
import { decide, decidePlan, planState, type Action } from "../../../src/controller/decide.js";
import { decideNodePlans } from "../../../src/controller/nodePlanActions.js";
import type { GroupPlan } from "../../../src/core/plan.js";
import { instancesForNode } from "../../../src/render/membership.js";
import {
  desiredNodePlans,
  NODE_PLAN_LIMIT,
  nodePlanText,
  nodeShare,
  PLAIN_PLAN_LIMIT,
} from "../../../src/render/nodePlans.js";
import { compactPlan, parsePlan, planV1 } from "../../../src/render/planCodec.js";
import { NOW, cluster, converged, node, planConfigMap, service, settled, web } from "./cluster.js";

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

const lines = (actions: readonly Action[]): string[] =>
  actions.flatMap((a) =>
    a.kind === "apply" || a.kind === "delete"
      ? [
          `${a.kind} ${(a.kind === "apply" ? a.manifest : a.target).kind} ${(a.kind === "apply" ? a.manifest : a.target).metadata.name}`,
        ]
      : [],
  );

function planned(services = [web()]): GroupPlan {
  const gp = decide(cluster({ services }), { nowMs: NOW, holders: undefined }).plan.groups[0];
  assert.ok(gp !== undefined);
  return gp;
}

describe("node plan names", () => {
  it("are DNS subdomains of bounded length, distinct for pairs that join to the same text", () => {
    const long = (c: string): string => `${c.repeat(60)}.${c.repeat(60)}.${c.repeat(60)}.${c.repeat(60)}`;
    const pairs: [string, string][] = [
      ["a-b", "c"],
      ["a", "b-c"],
      ["workers", "master-0"],
      [long("g"), long("n")],
      [long("g"), `${long("n")}x`],
      ["g", "node-"],
      ["g.x", "a"],
    ];
    const names = pairs.map(([g, n]) => nodePlanName(g, n));
    assert.equal(new Set(names).size, names.length);
    for (const name of names) {
      assert.match(name, DNS_SUBDOMAIN, name);
      assert.ok(name.length <= 213, `${name.length} characters`);
    }
    assert.equal(nodePlanName("workers", "master-0"), nodePlanName("workers", "master-0"));
    assert.match(nodePlanName("workers", "master-0"), /^workers-master-0-[0-9a-f]{10}$/);
  });

  it("label values: a short name itself, a long one clipped with a hash", () => {
    assert.equal(labelValue("master-0"), "master-0");
    const long = `${"n".repeat(70)}.example.com`;
    assert.match(labelValue(long), LABEL_VALUE);
    assert.ok(labelValue(long).length <= 63);
    assert.notEqual(labelValue(long), labelValue(`${long}x`));
  });
});

describe("node shares", () => {
  it("hold exactly the node's instances, their members' addresses, and the placement of their VIPs", () => {
    const gp = planned([web(), service("api", { externalIPs: ["198.18.6.11"] })]);
    const wire = planV1(gp);
    for (const n of wire.nodes) {
      const share = nodeShare(wire, n.name);
      assert.deepEqual(share.instances, instancesForNode(wire, n.name));
      assert.deepEqual(share.group, wire.group);
      const members = new Set(share.instances.flatMap((i) => i.priorities.map((p) => p.node)));
      assert.deepEqual(
        share.nodes.map((x) => x.name),
        wire.nodes.filter((x) => members.has(x.name) || x.name === n.name).map((x) => x.name),
      );
      const vips = share.instances.flatMap((i) => i.vips).sort();
      assert.deepEqual(Object.keys(share.placement).sort(), vips);
    }
  });

  it("each stored text is exactly compactPlan(nodeShare(...)), and parses back to the share", () => {
    const gp = planned([web(), service("api", { externalIPs: ["198.18.6.11"] })]);
    const wire = planV1(gp);
    const { manifests } = desiredNodePlans(gp, { uid: "u" });
    assert.equal(manifests.length, wire.nodes.length);
    for (const { node, manifest } of manifests) {
      const text = (manifest.data as Record<string, string>)["plan.json"];
      assert.equal(text, compactPlan(nodeShare(wire, node)));
      assert.deepEqual(parsePlan(text, "test"), nodeShare(wire, node));
    }
  });

  it("a share stays plain up to 16 KiB and is gzipped above, read back the same either way", () => {
    const gp = planned();
    const withServices = (count: number): GroupPlan => ({
      ...gp,
      instances: gp.instances.map((i, n) =>
        n === 0 ? { ...i, services: Array.from({ length: count }, (_, k) => `demo/s-${k}`) } : i,
      ),
    });
    const stored = (count: number): { plain: number; packed: number; texts: number[] } => {
      const out = { plain: 0, packed: 0, texts: [] as number[] };
      for (const { manifest } of desiredNodePlans(withServices(count), { uid: "u" }).manifests) {
        const cm = manifest as unknown as ConfigMapObject;
        const read = nodePlanText(cm);
        assert.ok("text" in read);
        assert.equal(parsePlan(read.text, "test").instances[0]?.services.length, count);
        out.texts.push(Buffer.byteLength(read.text));
        if (cm.data !== undefined) out.plain++;
        if (cm.binaryData !== undefined) out.packed++;
      }
      return out;
    };
    const small = stored(10);
    assert.ok(small.texts.every((b) => b <= PLAIN_PLAN_LIMIT));
    assert.deepEqual([small.plain, small.packed], [small.texts.length, 0]);
    const large = stored(2_000);
    assert.ok(large.texts.every((b) => b > PLAIN_PLAN_LIMIT));
    assert.deepEqual([large.plain, large.packed], [0, large.texts.length]);
  });

  it("a share that does not fit plain is gzipped; one that does not fit gzipped is not written", () => {
    const gp = planned();
    const inflate = (count: number, make: (i: number) => string): GroupPlan => ({
      ...gp,
      instances: gp.instances.map((i, n) =>
        n === 0 ? { ...i, services: Array.from({ length: count }, (_, k) => make(k)) } : i,
      ),
    });
    // Repetitive names: over the limit as text, far under it gzipped.
    const big = desiredNodePlans(
      inflate(20_000, (k) => `demo/service-number-${k}`),
      { uid: "u" },
    );
    assert.deepEqual(big.unwritable, []);
    for (const { manifest } of big.manifests) {
      const cm = manifest as unknown as ConfigMapObject;
      assert.ok(JSON.stringify(manifest).length <= NODE_PLAN_LIMIT);
      const read = nodePlanText(cm);
      assert.ok("text" in read);
      const share = parsePlan(read.text, "test");
      if (cm.binaryData !== undefined) assert.equal(share.instances[0]?.services.length, 20_000);
    }
    assert.ok(big.manifests.some(({ manifest }) => manifest.binaryData !== undefined));
    // Random names do not compress: refused, and the group is not Ready.
    const huge = inflate(20_000, () => `demo/${randomBytes(16).toString("hex")}`);
    const { actions, problems } = decideNodePlans(huge, "u", []);
    assert.ok(problems.length > 0);
    const [first] = problems;
    assert.ok(first !== undefined);
    assert.equal(first.reason, "NodePlanTooLarge");
    assert.match(
      first.message,
      /^the plan of node master-[01] is \d+ KiB even gzipped, over the 256 KiB limit/,
    );
    for (const p of problems) {
      const node = /node (\S+)/.exec(p.message)?.[1] ?? "";
      assert.ok(!lines(actions).some((l) => l.endsWith(nodePlanName("workers", node))));
    }
  });
});

describe("node plan writes", () => {
  it("a node that left: its plan is deleted; the others are not written again", () => {
    const before = converged(cluster({ services: [web()] }));
    const after = { ...before, nodes: [node("master-0", 0)] };
    const d = decide(after, { nowMs: NOW, holders: undefined });
    const written = lines(d.actions);
    assert.ok(
      written.includes(`delete ConfigMap ${nodePlanName("workers", "master-1")}`),
      written.join("\n"),
    );
    assert.ok(
      !written.some(
        (l) => l.startsWith("apply ConfigMap") && !l.endsWith(nodePlanName("workers", "master-0")),
      ),
    );
  });

  it("an unchanged plan is never written again", () => {
    const state = converged(cluster({ services: [web()] }));
    assert.deepEqual(lines(decide(state, { nowMs: NOW, holders: undefined }).actions), []);
  });

  it("an earlier release's group ConfigMap: its placement is kept, and it goes after every node's plan is written", () => {
    const state = cluster({
      services: [web()],
      configMaps: [planConfigMap("workers", { "198.18.6.10": "master-1" })],
    });
    const first = decide(state, { nowMs: NOW, holders: undefined });
    assert.equal(first.plan.groups[0]?.placement["198.18.6.10"], "master-1");
    // In the same pass (the echo of our own writes triggers no other), after the node plans it replaces.
    const configMaps = lines(first.actions).filter((l) => l.includes("ConfigMap"));
    assert.ok(configMaps.length >= 2, configMaps.join("\n"));
    assert.equal(configMaps.at(-1), "delete ConfigMap workers");
    assert.ok(configMaps.slice(0, -1).every((l) => l.startsWith("apply ConfigMap workers-")));
    const next = decide(settled(state, first.actions), { nowMs: NOW, holders: undefined });
    assert.deepEqual(lines(next.actions), []);
    assert.equal(next.plan.groups[0]?.placement["198.18.6.10"], "master-1");
  });

  it("the group status says when a share cannot be written: Ready=False, NodePlanTooLarge", () => {
    const state = converged(cluster({ services: [web()] }));
    const seen = { nowMs: NOW, holders: undefined };
    const plan = planState(state, seen);
    const [gp] = plan.groups;
    assert.ok(gp !== undefined);
    const services = Array.from({ length: 20_000 }, () => `demo/${randomBytes(16).toString("hex")}`);
    plan.groups[0] = { ...gp, instances: gp.instances.map((i) => ({ ...i, services })) };
    const d = decidePlan(plan, state, seen);
    const status = d.actions.find((a) => a.kind === "applyStatus" && a.manifest.kind === "KeepalivedGroup");
    assert.ok(status?.kind === "applyStatus");
    const ready = (status.manifest.status as KeepalivedGroupStatus).conditions?.find(
      (c) => c.type === "Ready",
    );
    assert.deepEqual([ready?.status, ready?.reason], ["False", "NodePlanTooLarge"]);
    // The last plans written stay for the agents: none is deleted or rewritten.
    assert.deepEqual(lines(d.actions), []);
  });
});
