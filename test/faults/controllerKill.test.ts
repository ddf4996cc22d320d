// Fault: the controller SIGKILLed 100 times while Services churn (created and deleted in the background),
// against a real API server. Each incarnation leads (same identity, so no lease wait), works for a random
// moment and dies mid-flight. Over the recorded history of every Service and of the group's status:
// a published IP never changes while its Service exists, and an instance's router ID never changes.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { sleep } from "../../src/lab/wait.js";
import { eventually } from "../support/kube.js";
import {
  APPS_NS,
  applyNode,
  Churn,
  createServices,
  groupManifest,
  lbService,
  replicaKubeconfig,
  startFaultCluster,
  type FaultCluster,
} from "./support/cluster.js";
import {
  ingressIps,
  ipChanges,
  lastStates,
  routerIdChanges,
  type GroupLike,
  type ServiceLike,
} from "./support/invariants.js";
import { OPERATOR_NS, startController, stopAll, waitLeader } from "./support/operator.js";
import { faultSeed, seededRandom } from "./support/random.js";
import { recordWatch, type Recorder } from "./support/recorder.js";
import { apply } from "../support/kube.js";

const KILLS = Number(process.env.KAO_FAULT_KILLS ?? "100");
const GROUP = "chaos";
const STABLE = 20;

describe("fault: the controller SIGKILLed while Services churn", { timeout: 480_000 }, () => {
  let c: FaultCluster | undefined;
  let services: Recorder<ServiceLike> | undefined;
  let groups: Recorder<GroupLike> | undefined;

  before(async () => {
    c = await startFaultCluster();
    for (let i = 0; i < 3; i++) await applyNode(c.admin, `node-${i + 1}`, `198.18.0.${11 + i}`);
    await apply(
      c.admin,
      groupManifest(GROUP, { addressPools: [{ name: "main", addresses: ["198.18.32.0/22"] }] }),
    );
  });

  after(async () => {
    services?.stop();
    groups?.stop();
    await stopAll();
    await c?.cp.stop();
  });

  test(`${KILLS} SIGKILLs: 0 IP changes, 0 router-ID changes`, async () => {
    const { admin } = c!;
    const seed = faultSeed();
    const random = seededRandom(seed);
    const kubeconfig = await replicaKubeconfig(c!, "chaos");
    services = recordWatch<ServiceLike>(admin, `/api/v1/namespaces/${APPS_NS}/services`);
    groups = recordWatch<GroupLike>(
      admin,
      `/apis/redhatcop.redhat.io/v1alpha1/namespaces/${OPERATOR_NS}/keepalivedgroups`,
    );
    await Promise.all([services.synced, groups.synced]);
    await createServices(
      admin,
      Array.from({ length: STABLE }, (_, i) => lbService(`stable-${i}`, GROUP, { dedicated: i % 4 === 0 })),
    );
    const start = () => startController({ kubeconfig, identity: "chaos" });
    const first = await start();
    await allPublished(c!, "the stable Services to get their IPs");
    await first.kill("SIGKILL");

    const churn = new Churn(admin, GROUP, { prefix: "churn", everyMs: 100, live: 25 });
    const t0 = Date.now();
    let led = 0;
    try {
      for (let i = 0; i < KILLS; i++) {
        const controller = await start();
        await waitLeader(controller);
        led++;
        // Die at a random moment of the work: before, during or after a reconcile's writes.
        await sleep(Math.floor(random() * 700));
        await controller.kill("SIGKILL");
      }
    } finally {
      await churn.stop();
    }
    const killMs = Date.now() - t0;
    await start();
    await allPublished(c!, "every Service to have an IP after the last restart");
    await sleep(2000);
    services.stop();
    groups.stop();

    const ip = ipChanges(services.events);
    const ids = routerIdChanges(groups.events);
    const published = new Set(
      services.events.filter((e) => ingressIps(e.object).length > 0).map((e) => e.object.metadata.uid),
    ).size;
    const idsSeen = new Set(groups.events.flatMap((e) => Object.keys(e.object.status?.routerIDs ?? {}))).size;
    console.log(
      `# fault: controller SIGKILL ×${led}: IP changes ${ip.length}, router-ID changes ${ids.length} ` +
        `(${published} Services published, churn ${churn.created} created/${churn.deleted} deleted, ` +
        `${idsSeen} instance keys, ${services.events.length} Service states recorded, kills in ${Math.round(killMs / 1000)} s, seed ${seed})`,
    );
    for (const ch of ip.slice(0, 10))
      console.log(`#   IP change: ${ch.service} ${ch.from.join(",")} → ${ch.to.join(",") || "(none)"}`);
    for (const ch of ids.slice(0, 10))
      console.log(`#   router-ID change: ${ch.group} ${ch.instance} ${ch.from} → ${ch.to}`);
    assert.equal(led, KILLS, "every incarnation led before it was killed");
    assert.deepEqual(ip, [], "a published IP never changes while its Service exists");
    assert.deepEqual(ids, [], "an instance's router ID never changes");
  });
});

/** Waits until every Service of the namespace has an ingress IP (read from the API server). */
async function allPublished(c: FaultCluster, what: string): Promise<void> {
  await eventually(
    what,
    async () => {
      const list = await c.admin.request<{ items: ServiceLike[] }>(
        "GET",
        `/api/v1/namespaces/${APPS_NS}/services`,
      );
      const last = lastStates(list.items.map((object) => ({ at: 0, type: "LIST" as const, object })));
      return [...last.values()].every((s) => ingressIps(s).length > 0) ? true : undefined;
    },
    60_000,
    100,
  );
}
