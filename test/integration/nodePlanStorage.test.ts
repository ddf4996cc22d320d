// A node plan that grows past 16 KiB is stored gzipped, and one that shrinks is stored plain again, on the real
// API server: server-side apply drops the field the controller's manager no longer sets, so an object never holds
// a stale plain plan next to a gzipped one (an agent reads the plain one first).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ConfigMapObject } from "../../src/api/kube.js";
import { decide } from "../../src/controller/decide.js";
import { apiServerWriter } from "../../src/controller/writer.js";
import type { GroupPlan } from "../../src/core/plan.js";
import { startControlPlane, type ControlPlane } from "../../src/lab/controlplane.js";
import { desiredNodePlans, nodePlanText } from "../../src/render/nodePlans.js";
import { parsePlan } from "../../src/render/planCodec.js";
import { adminClient, apply, get, type KubeClient } from "../support/kube.js";
import { NOW, NS, cluster, web } from "../unit/controller/cluster.js";

/** The group's plan with `count` Service names on its first instance: the share's size grows with it. */
function planWith(count: number): GroupPlan {
  const gp = decide(cluster({ services: [web()] }), { nowMs: NOW, holders: undefined }).plan.groups[0];
  assert.ok(gp !== undefined);
  return {
    ...gp,
    instances: gp.instances.map((i, n) =>
      n === 0 ? { ...i, services: Array.from({ length: count }, (_, k) => `demo/service-${k}`) } : i,
    ),
  };
}

describe("node plan storage on the real API server", { timeout: 120_000 }, () => {
  let cp: ControlPlane;
  let client: KubeClient;

  before(async () => {
    cp = await startControlPlane();
    client = adminClient(cp);
    await apply(client, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
  });
  after(async () => {
    await cp.stop();
  });

  it("plain, then gzipped, then plain again: each write leaves only its own form", async () => {
    const writer = apiServerWriter(client, { identity: "test" });
    for (const [count, form] of [
      [10, "plain"],
      [2_000, "gzipped"],
      [12, "plain"],
    ] as const) {
      const [first] = desiredNodePlans(planWith(count), { uid: "uid-workers" }).manifests;
      assert.ok(first !== undefined);
      await writer.apply(first.manifest);
      const cm = await get<ConfigMapObject>(client, first.manifest);
      assert.ok(cm !== undefined);
      assert.deepEqual(
        [Object.keys(cm.data ?? {}), Object.keys(cm.binaryData ?? {})],
        form === "plain" ? [["plan.json"], []] : [[], ["plan.json.gz"]],
        `${count} Services: ${form}`,
      );
      const read = nodePlanText(cm);
      assert.ok("text" in read, JSON.stringify(read));
      assert.equal(parsePlan(read.text, "stored").instances[0]?.services.length, count);
    }
  });
});
