// Fault: two controller replicas with leader election (short lease timings), the leader SIGSTOPped while
// thousands of Services arrive; the standby takes the lease; the old leader is SIGCONTed. Every write is
// attributed through the API server's audit log (each replica has a ServiceAccount of its own) and compared
// with the leader Lease's history from a watch: no replica writes outside its tenure of the lease.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { sleep, waitFor } from "../../src/lab/wait.js";
import { apply, eventually } from "../support/kube.js";
import { auditWrites, WRITES_AUDIT_POLICY } from "./support/audit.js";
import {
  APPS_NS,
  applyNode,
  createServices,
  groupManifest,
  lbService,
  replicaKubeconfig,
  replicaUser,
  startFaultCluster,
  type FaultCluster,
} from "./support/cluster.js";
import {
  ingressIps,
  ipChanges,
  lastStates,
  tenures,
  writesOutsideTenure,
  type LeaseLike,
  type ServiceLike,
} from "./support/invariants.js";
import { logged, OPERATOR_NS, startController, stopAll, waitLeader } from "./support/operator.js";
import { recordWatch, type Recorder } from "./support/recorder.js";

const SERVICES = Number(process.env.KAO_FAULT_SERVICES ?? "2000");
/** Every 50th Service has a VRRP instance of its own. */
const DEDICATED = Math.ceil(SERVICES / 50);
const GROUP = "load";
const LEASE: [number, number, number] = [3, 2, 0.5];

describe("fault: the leader SIGSTOPped under load, two replicas", { timeout: 420_000 }, () => {
  let c: FaultCluster | undefined;
  const recorders: Recorder<object>[] = [];

  before(async () => {
    c = await startFaultCluster({ auditPolicy: WRITES_AUDIT_POLICY });
    for (let i = 0; i < 3; i++) await applyNode(c.admin, `node-${i + 1}`, `198.18.0.${11 + i}`);
    await apply(
      c.admin,
      groupManifest(GROUP, {
        addressPools: [{ name: "main", addresses: ["198.18.48.0/20"] }],
        // All in one namespace: above the default quota of 16, the rest would rightly never be announced.
        dedicatedInstancesPerNamespace: DEDICATED,
      }),
    );
  });

  after(async () => {
    for (const r of recorders) r.stop();
    await stopAll();
    await c?.cp.stop();
  });

  test(`${SERVICES} Services: 0 writes by the old leader after the lease moved`, async () => {
    const { admin, cp } = c!;
    const leases = recordWatch<LeaseLike & { metadata: object }>(
      admin,
      `/apis/coordination.k8s.io/v1/namespaces/${OPERATOR_NS}/leases`,
      { fieldSelector: "metadata.name=keepalived-operator" },
    );
    const services = recordWatch<ServiceLike>(admin, `/api/v1/namespaces/${APPS_NS}/services`);
    recorders.push(leases, services);
    await Promise.all([leases.synced, services.synced]);
    const kubeconfigs = {
      a: await replicaKubeconfig(c!, "replica-a"),
      b: await replicaKubeconfig(c!, "replica-b"),
    };
    const a = await startController({ kubeconfig: kubeconfigs.a, identity: "replica-a", lease: LEASE });
    await waitLeader(a);
    const b = await startController({ kubeconfig: kubeconfigs.b, identity: "replica-b", lease: LEASE });
    await waitFor("replica-b to start", () =>
      Promise.resolve(logged(b, "controller started").length > 0 ? true : undefined),
    );

    let oldExitSeen: Awaited<typeof a.exited> | undefined;
    const created = (): number => lastStates(services.events).size;
    const creating = createServices(
      admin,
      Array.from({ length: SERVICES }, (_, i) => lbService(`svc-${i}`, GROUP, { dedicated: i % 50 === 0 })),
    );
    const published = (): number =>
      [...lastStates(services.events).values()].filter((s) => ingressIps(s).length > 0).length;
    // Under load: the leader is busy with a stream of new Services when it stops.
    await eventually(
      "the leader to publish a tenth of the Services",
      () => Promise.resolve(published() >= SERVICES / 10 ? true : undefined),
      90_000,
      50,
    );
    const stoppedAt = Date.now();
    await a.kill("SIGSTOP");
    const holder = (): string | undefined => leases.events.at(-1)?.object.spec?.holderIdentity ?? undefined;
    await eventually(
      "replica-b to take the lease",
      () => Promise.resolve(holder() === "replica-b" ? true : undefined),
      30_000,
      20,
    );
    const movedAfterMs = Date.now() - stoppedAt;
    // The new leader works a while; then the old one wakes up with whatever it had in flight.
    await sleep(3000);
    await a.kill("SIGCONT");
    // Where the new leader's time goes: Services published, and its reconciles (their count, the longest, the
    // Services planned and writes made), every 5 s from the moment the lease moved.
    const timeline: string[] = [];
    const tick = (): void => {
      const done = logged(b, "reconciled");
      const secs = done.map((r) => Number(r.seconds ?? 0));
      const actions = done.reduce((n, r) => n + Number(r.actions ?? 0), 0);
      timeline.push(
        `${((Date.now() - stoppedAt) / 1000).toFixed(0)} s: ${published()} published, created ${created()}; replica-b ${done.length} reconciles (${secs.reduce((x, y) => x + y, 0).toFixed(1)} s in all, longest ${Math.max(0, ...secs).toFixed(2)} s, last planned ${Number(done.at(-1)?.services ?? 0)} Services), ${actions} writes`,
      );
    };
    const timer = setInterval(tick, 5000);
    try {
      const oldExit = await Promise.race([a.exited, sleep(30_000).then(() => undefined)]);
      await creating;
      tick();
      await eventually(
        "replica-b to publish every Service",
        () => Promise.resolve(published() === SERVICES ? true : undefined),
        120_000,
        100,
      ).catch((err: unknown) => {
        tick();
        for (const line of timeline) console.log(`#   ${line}`);
        throw err;
      });
      oldExitSeen = oldExit;
    } finally {
      clearInterval(timer);
    }
    tick();
    for (const line of timeline) console.log(`#   ${line}`);
    const oldExit = oldExitSeen;
    await sleep(1000);
    await stopAll();
    for (const r of recorders) r.stop();

    const writes = await auditWrites(
      cp.auditLogPath!,
      new Map([
        [replicaUser("replica-a"), "replica-a"],
        [replicaUser("replica-b"), "replica-b"],
      ]),
    );
    const held = tenures(leases.events);
    const outside = writesOutsideTenure(writes, held);
    const moved = held.find((t) => t.holder === "replica-b")?.from ?? Infinity;
    const oldAfter = outside.filter((w) => w.writer === "replica-a" && w.at >= moved);
    const ip = ipChanges(services.events);
    console.log(
      `# fault: leader SIGSTOP under load (${SERVICES} Services): writes by the old leader after the lease moved ${oldAfter.length}, ` +
        `writes outside a tenure ${outside.length} (of ${writes.length} by the replicas; ` +
        `lease moved ${movedAfterMs} ms after SIGSTOP; old leader ${oldExit === undefined ? "still running 30 s after SIGCONT" : `exited with code ${oldExit.code}`}); IP changes ${ip.length}`,
    );
    for (const w of outside.slice(0, 10))
      console.log(
        `#   ${w.writer} ${w.verb} ${w.object} → ${w.code}, ${Math.round(w.at - moved)} ms after the lease moved`,
      );
    for (const ch of ip.slice(0, 5))
      console.log(`#   IP change: ${ch.service} ${ch.from.join(",")} → ${ch.to.join(",") || "(none)"}`);
    assert.ok(
      held.some((t) => t.holder === "replica-a"),
      "replica-a led first",
    );
    assert.ok(
      writes.some((w) => w.writer === "replica-a" && w.at < moved),
      "replica-a wrote while leading",
    );
    assert.deepEqual(oldAfter, [], "no write by the old leader after the lease moved");
    assert.deepEqual(outside, [], "no replica writes outside its tenure of the lease");
    assert.deepEqual(ip, [], "a published IP never changes while its Service exists");
  });
});
