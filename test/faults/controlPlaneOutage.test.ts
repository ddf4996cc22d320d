// Faults of the control plane under a running product (controller, API-following agents, keepalived in
// namespaces): the API server stopped (20 s here, KAO_FAULT_APISERVER_DOWN_S=60 for the full length, as
// `npm run soak` does) while the client pings a VIP every 10 ms and, during the outage, the holder's link is
// cut; then etcd restarted under the API server. Every Service state is recorded across both faults.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { failoverTrial, settledHolder, waitForAnswer } from "../../src/lab/failover.js";
import { startPing } from "../../src/lab/ping.js";
import { sleep } from "../../src/lab/wait.js";
import { APPS_NS } from "./support/cluster.js";
import {
  holderStats,
  ingressIps,
  ipChanges,
  lastStates,
  transitionsBetween,
  type ServiceLike,
} from "./support/invariants.js";
import { sampleHolders } from "./support/net.js";
import { publish, startNetCluster, vrrpHistory, type NetCluster } from "./support/netCluster.js";
import { recordWatch, type Recorder } from "./support/recorder.js";

const DOWN_S = Number(process.env.KAO_FAULT_APISERVER_DOWN_S ?? "20");
/** The end of the outage kept for the failover trial (cut, takeover, reconnect, take back). */
const FAILOVER_RESERVE_MS = 8000;
const ETCD_DOWN_MS = 5000;

describe("faults of the control plane, with agents in namespaces", { timeout: 300_000 }, () => {
  let c: NetCluster | undefined;
  let services: Recorder<ServiceLike> | undefined;

  before(async () => {
    c = await startNetCluster();
    services = recordWatch<ServiceLike>(c.admin, `/api/v1/namespaces/${APPS_NS}/services`);
    await services.synced;
  });

  after(async () => {
    services?.stop();
    await c?.stop();
  });

  test(`API server down ${DOWN_S} s: 0 lost pings, and a failover during the outage works`, async () => {
    const { ip, holder } = await publish(c!, "outage");
    const agentRestarts = (): number => [...c!.agents.values()].reduce((n, a) => n + a.restarts, 0);
    const restartsBefore = agentRestarts();
    const ping = startPing(c!.lab, ip, 10);
    const sampler = sampleHolders(c!.lab, ip);
    await sleep(500);
    const downAt = Date.now();
    await c!.cp.stopComponent("kube-apiserver", "SIGKILL");
    let backupAnswered = false;
    try {
      await sleep(Math.max(0, DOWN_S * 1000 - FAILOVER_RESERVE_MS));
      const quiet = await ping.stop();
      const stats = holderStats(await sampler.stop());
      const flaps = transitionsBetween(vrrpHistory(c!), downAt, Date.now());
      // Inside the outage (the API server comes back only after the trial, so a slow trial lengthens the
      // outage): cut the holder off; with it unreachable, an answer is the backup's.
      const trial = await failoverTrial(c!.lab, ip, async () => {
        await waitForAnswer(c!.lab, ip, 5000);
        backupAnswered = true;
      });
      await sleep(Math.max(0, downAt + DOWN_S * 1000 - Date.now()));
      const downMs = Date.now() - downAt;
      await c!.cp.startComponent("kube-apiserver");
      const next = await publish(c!, "after-outage");
      console.log(
        `# fault: API server down ${Math.round(downMs / 1000)} s with agents: ${quiet.lost} of ${quiet.sent} pings lost ` +
          `in the first ${Math.round((DOWN_S * 1000 - FAILOVER_RESERVE_MS) / 1000)} s (gap ${quiet.maxGapMs} ms, holders max ${stats.max}, VRRP transitions ${flaps.length}); ` +
          `failover during the outage ${trial.from} → ${trial.to}: ` +
          `gap ${trial.maxGapMs} ms, ${trial.lost} of ${trial.sent} lost, answered by the backup ${backupAnswered}; ` +
          `agent restarts ${agentRestarts() - restartsBefore}, controller restarts ${c!.controller.restarts}; ` +
          `a new Service afterwards: ${next.ip} on ${next.holder}`,
      );
      assert.equal(quiet.lost, 0, "no ping lost while the API server is away");
      assert.equal(stats.max, 1, "one holder while the API server is away");
      assert.deepEqual(flaps, [], "no VRRP transition while the API server is away");
      assert.notEqual(trial.to, holder, "the backup took the VIP");
      assert.ok(backupAnswered, "the backup answered the client");
      assert.equal(agentRestarts() - restartsBefore, 0, "the agents ride out the outage");
    } finally {
      await ping.stop();
      await sampler.stop();
      if (c!.cp.pids.kubeApiserver === 0 || !(await serving(c!)))
        await c!.cp.startComponent("kube-apiserver");
    }
    assert.deepEqual(ipChanges(services!.events), [], "no published IP changed");
  });

  test("etcd restarted: everything converges and no IP changes", async () => {
    const first = await publish(c!, "etcd-a");
    const ping = startPing(c!.lab, first.ip, 10);
    try {
      await sleep(300);
      const stoppedAt = Date.now();
      await c!.cp.stopComponent("etcd");
      await sleep(ETCD_DOWN_MS);
      await c!.cp.startComponent("etcd");
      const backMs = Date.now() - stoppedAt;
      const flaps = transitionsBetween(vrrpHistory(c!), stoppedAt, Date.now());
      const t0 = Date.now();
      const next = await publish(c!, "after-etcd");
      const convergedMs = Date.now() - t0;
      const r = await ping.stop();
      const existing = [...lastStates(services!.events).values()];
      const unpublished = existing.filter((s) => ingressIps(s).length === 0).map((s) => s.metadata.name);
      const holders = await Promise.all(
        existing.flatMap((s) => ingressIps(s)).map((vip) => settledHolder(c!.lab, vip, 20_000)),
      );
      const changes = ipChanges(services!.events);
      console.log(
        `# fault: etcd restarted (down ${Math.round(backMs / 1000)} s): IP changes ${changes.length}; ` +
          `${r.lost} of ${r.sent} pings lost, VRRP transitions while etcd was away ${flaps.length}; a new Service afterwards got ${next.ip} and was held by ${next.holder} in ${convergedMs} ms; ` +
          `${existing.length} Services, ${holders.length} VIPs held, unpublished: ${unpublished.join(", ") || "none"}; ` +
          `controller restarts ${c!.controller.restarts}`,
      );
      assert.deepEqual(changes, [], "no published IP changed");
      assert.deepEqual(unpublished, [], "every Service is published");
      assert.equal(r.lost, 0, "the VIP kept answering");
      assert.deepEqual(flaps, [], "no VRRP transition while etcd was away");
    } finally {
      await ping.stop();
    }
  });
});

async function serving(c: NetCluster): Promise<boolean> {
  try {
    await c.admin.request("GET", "/readyz", { timeoutMs: 2000 });
    return true;
  } catch {
    return false;
  }
}
