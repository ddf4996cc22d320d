// Exactly one new owner per hard failover, counted with real keepalived in network namespaces: the holder
// is cut off the bridge again and again, every state each node's keepalived enters is recorded from its
// notify FIFO (through the agent's log), and each failover must show exactly one other node entering
// MASTER. The node that takes over must also correct the client's ARP entry (a gratuitous ARP at once).
// Timings are printed; the benchmark (`npm run bench`, row failover) runs the same trials at every profile.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { failoverTrial, settledHolder } from "../../src/lab/failover.js";
import { labService, labVip } from "../../src/lab/plans.js";
import { sleep } from "../../src/lab/wait.js";
import { labSuite, percentile, withAgents } from "../support/lab.js";
import { nodeMac } from "../../src/lab/probes.js";
import {
  describeStates,
  loadAverage,
  logMarks,
  masterEntries,
  neighbourDelay,
  statesSince,
  watchNeighbour,
} from "../../src/lab/vrrpHistory.js";

const FAILOVERS = 15;

describe("hard failovers in network namespaces", { concurrency: 1 }, () => {
  const suite = labSuite(3);

  test(
    `${FAILOVERS} hard failovers at the Fastest profile: each time exactly one other node enters MASTER and the client's ARP entry follows it`,
    { timeout: 300_000 },
    async () => {
      const vip = labVip(20);
      const spec = { vrrp: { timing: "Fastest" as const } };
      await withAgents(suite.lab, [labService("web", [vip])], spec, async ({ lab, agents, plan }) => {
        const instance = plan.instances.find((i) => i.vips.includes(vip))?.name ?? "";
        // Count from here: the agents' start-up (each instance entering its first state) is over.
        await settledHolder(lab, vip, 30_000, plan.placement[vip]);
        await sleep(1000);
        const problems: string[] = [];
        const gaps: number[] = [];
        const arpMs: number[] = [];
        const macs = new Map(
          await Promise.all(lab.nodes.map(async (n) => [n.name, await nodeMac(n)] as const)),
        );
        for (let i = 0; i < FAILOVERS; i++) {
          const marks = logMarks(agents);
          const neighbour = watchNeighbour(lab, vip);
          const t = await failoverTrial(lab, vip).finally(neighbour.stop);
          gaps.push(t.maxGapMs);
          const states = statesSince(agents, marks);
          // The cut node takes its VIP back when it returns (preemption): that is not a failover.
          const masters = masterEntries(states, instance).filter((n) => n !== t.from);
          if (masters.length !== 1 || masters[0] !== t.to) {
            problems.push(`failover ${i + 1} (${t.from} cut, ${t.to} took over): ${describeStates(states)}`);
          }
          const arp = neighbourDelay(states, neighbour.changes, t.to, instance, macs.get(t.to) ?? "");
          if (arp === undefined)
            problems.push(`failover ${i + 1}: the client's ARP entry never named ${t.to}`);
          else arpMs.push(arp);
        }
        console.log(
          `# ${FAILOVERS} failovers at Fastest: gap p50 ${percentile(gaps, 50)} ms, p95 ${percentile(gaps, 95)} ms, max ${Math.max(...gaps)} ms; client's ARP entry on the new holder ${percentile(arpMs, 50)} ms (p50), ${percentile(arpMs, 95)} ms (p95) after it entered MASTER; load ${loadAverage()}`,
        );
        assert.deepEqual(
          problems,
          [],
          "a failover with more or less than one new MASTER, or an ARP entry left behind",
        );
      });
    },
  );
});
