// The agent's node Lease on a real API server: applied at once, renewed as a heartbeat, rewritten on every
// change, a last write on stop; and an API server that refuses is retried without a log line per attempt.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Manifest } from "../../src/api/kube.js";
import { AGENT_FIELD_MANAGER, HELD_VIPS_ANNOTATION } from "../../src/api/names.js";
import { nodeLease, type VrrpReport } from "../../src/agent/report.js";
import { startControlPlane, type ControlPlane } from "../../src/lab/controlplane.js";
import { NodeLeaseWriter } from "../../src/kube/nodeLease.js";
import { jsonLogger } from "../../src/lib/log.js";
import { adminClient, apply, eventually, get, type KubeClient } from "../support/kube.js";

interface Lease {
  metadata: { annotations?: Record<string, string>; managedFields?: { manager: string }[] };
  spec: { holderIdentity?: string; renewTime?: string };
}

describe("node Lease writer on a real API server", { timeout: 120_000 }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  const logs: string[] = [];
  const log = jsonLogger({ write: (s: string) => logs.push(s) });

  before(async () => {
    cp = await startControlPlane();
    admin = adminClient(cp);
    await apply(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: "kao" } });
  });
  after(async () => {
    await cp.stop();
  });

  it("applies, renews, follows the report and writes once more on stop", async () => {
    const id = { namespace: "kao", group: "workers", node: "n1" };
    let report: VrrpReport = { states: {}, vips: [] };
    const writer = new NodeLeaseWriter(
      admin,
      { heartbeatMs: 200 },
      (now) => nodeLease(id, report, now, 10),
      log,
    );
    const ref: Manifest = nodeLease(id, report, new Date(), 10);
    writer.start();
    const first = await eventually("the Lease", () => get<Lease>(admin, ref));
    assert.equal(first.spec.holderIdentity, "n1");
    assert.ok(first.metadata.managedFields?.some((f) => f.manager === AGENT_FIELD_MANAGER));
    await eventually("a heartbeat", async () => {
      const l = await get<Lease>(admin, ref);
      return l?.spec.renewTime !== first.spec.renewTime ? true : undefined;
    });
    report = { states: { VI_1: "MASTER" }, vips: ["198.18.0.200"] };
    writer.changed();
    await eventually("the new report", async () => {
      const l = await get<Lease>(admin, ref);
      return l?.metadata.annotations?.[HELD_VIPS_ANNOTATION]?.includes("198.18.0.200") ? true : undefined;
    });
    report = { states: {}, vips: [] };
    const writes = writer.writes;
    await writer.stop(true);
    // One write more; two when a heartbeat was in flight (it started with the old report, and stop waits for it).
    // The final write is the last one, with the report as it was at stop: no VIPs.
    assert.ok([writes + 1, writes + 2].includes(writer.writes), `${writer.writes - writes} writes on stop`);
    assert.equal((await get<Lease>(admin, ref))?.metadata.annotations?.[HELD_VIPS_ANNOTATION], "[]");
  });

  it("retries a refused write, saying so once per distinct error", async () => {
    logs.length = 0;
    const id = { namespace: "missing", group: "workers", node: "n1" };
    const writer = new NodeLeaseWriter(
      admin,
      { heartbeatMs: 300 },
      (now) => nodeLease(id, { states: {}, vips: [] }, now, 10),
      log,
    );
    writer.start();
    await eventually("three failures", () => Promise.resolve(writer.failures >= 3 ? true : undefined));
    await writer.stop();
    const warnings = logs.filter((l) => l.includes("cannot write the node Lease"));
    assert.equal(warnings.length, 1, logs.join(""));
    assert.match(
      warnings[0] ?? "",
      /"lease":"\/apis\/coordination\.k8s\.io\/v1\/namespaces\/missing\/leases\/workers-n1"/,
    );
    assert.equal(writer.writes, 0);
  });
});
