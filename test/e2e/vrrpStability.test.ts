// No VRRP state change where none is due, counted with real keepalived in network namespaces over every
// instance of every node: Services coming and going (each node's instance exists, with its anchor, before
// it carries a VIP, so a new VIP joins an instance that is already MASTER: no births), and a short window
// of `stress-ng --cpu 16 --vm 2` at each timing profile. The 10-minute soak is the bench's stress row.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { GroupPlan } from "../../src/core/plan.js";
import { settledHolder } from "../../src/lab/failover.js";
import { nodeAddresses, vipHolders, type Lab } from "../../src/lab/netns.js";
import { labPlan, labService, labVip, writePlan } from "../../src/lab/plans.js";
import { sleep, waitFor } from "../../src/lab/wait.js";
import { labSuite, percentile, withAgents } from "../support/lab.js";
import { cpuStress, describeStates, loadAverage, logMarks, statesSince } from "../../src/lab/vrrpHistory.js";

const SLOW = { timeout: 300_000 };
const STRESS_SECONDS = 20;
const CHURN = 20;

/** Waits until every instance's anchor is on its preferred node only: every instance has settled. */
async function anchorsSettled(lab: Lab, plan: GroupPlan): Promise<void> {
  await waitFor(
    "every instance's anchor on its preferred node",
    async () => {
      const held = new Map(
        await Promise.all(lab.nodes.map(async (n) => [n.name, await nodeAddresses(n)] as const)),
      );
      return plan.instances.every((i) =>
        [...held].every(([node, addrs]) => addrs.includes(i.anchor) === (node === i.priorities[0]?.node)),
      )
        ? true
        : undefined;
    },
    30_000,
    100,
  );
}

/** Waits until `vip` is on exactly `node` (or, with undefined, on none); returns how long that took. */
async function heldBy(lab: Lab, vip: string, node: string | undefined): Promise<number> {
  const started = Date.now();
  await waitFor(
    `${vip} on ${node ?? "no node"}`,
    async () => {
      const h = (await vipHolders(lab, [vip])).get(vip) ?? [];
      return (node === undefined ? h.length === 0 : h.length === 1 && h[0] === node) ? true : undefined;
    },
    20_000,
    10,
  );
  return Date.now() - started;
}

describe("VRRP state changes in network namespaces", { concurrency: 1 }, () => {
  const suite = labSuite(3);

  test(
    `${CHURN} Services added then removed one at a time: zero state changes on every node (no births)`,
    SLOW,
    async () => {
      await withAgents(suite.lab, [], {}, async ({ lab, agents, plan, planFile }) => {
        await anchorsSettled(lab, plan);
        await sleep(1000);
        const marks = logMarks(agents);
        const services = Array.from({ length: CHURN }, (_, i) =>
          labService(`churn-${i}`, [labVip(30 + i)], i),
        );
        let current = plan;
        const answerMs: number[] = [];
        for (let n = 1; n <= CHURN; n++) {
          current = labPlan(lab, services.slice(0, n), {}, current);
          await writePlan(planFile, current);
          const vip = labVip(30 + n - 1);
          answerMs.push(await heldBy(lab, vip, current.placement[vip]));
        }
        for (let n = CHURN - 1; n >= 0; n--) {
          current = labPlan(lab, services.slice(0, n), {}, current);
          await writePlan(planFile, current);
          await heldBy(lab, labVip(30 + n), undefined);
        }
        await sleep(1000);
        const changes = statesSince(agents, marks);
        console.log(
          `# churn of ${CHURN} Services at Default timing: a new VIP on its node ${percentile(answerMs, 50)} ms (p50), ${percentile(answerMs, 95)} ms (p95) after its plan was written; state changes: ${describeStates(changes)}`,
        );
        assert.deepEqual(changes, [], "state changes while Services came and went");
      });
    },
  );

  for (const timing of ["Default", "Fast", "Fastest"] as const) {
    test(
      `${STRESS_SECONDS} s of stress-ng --cpu 16 --vm 2 at ${timing} timing: zero state changes on every node`,
      SLOW,
      async () => {
        const vips = [0, 1, 2].map((i) => labVip(i));
        const services = vips.map((v, i) => labService(`busy-${i}`, [v], i));
        await withAgents(suite.lab, services, { vrrp: { timing } }, async ({ lab, agents, plan }) => {
          await anchorsSettled(lab, plan);
          for (const vip of vips) await settledHolder(lab, vip);
          await sleep(1000);
          const marks = logMarks(agents);
          const before = loadAverage();
          await cpuStress(STRESS_SECONDS);
          await sleep(1000);
          const changes = statesSince(agents, marks);
          console.log(
            `# ${STRESS_SECONDS} s of CPU stress at ${timing} (${plan.group.vrrp.advertIntervalMs} ms adverts, real-time ${plan.group.vrrp.realtimeScheduling}): load ${before} → ${loadAverage()}; state changes: ${describeStates(changes)}`,
          );
          assert.deepEqual(changes, [], `state changes under CPU stress at ${timing}`);
          for (const [node, a] of agents) {
            assert.ok(
              a.logs.some(
                (l) => l.msg === "keepalived's VRRP process scheduling set" && l.policy === "SCHED_RR 10",
              ),
              `${node}: keepalived's VRRP process runs with real-time scheduling`,
            );
          }
        });
      },
    );
  }
});
