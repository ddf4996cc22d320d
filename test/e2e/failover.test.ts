// Exactly one new owner per hard failover, counted with real keepalived in network namespaces: the holder
// is cut off the bridge again and again, every state each node's keepalived enters is recorded from its
// notify FIFO (through the agent's log), and each failover must show exactly one other node entering
// MASTER. The node that takes over must also correct the client's ARP entry (a gratuitous ARP at once).
// Timings are printed; the benchmark (bench/failover.ts) runs the same trials at every profile.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { failoverTrial, settledHolder } from "../../src/lab/failover.js";
import { labService, labVip } from "../../src/lab/plans.js";
import { sleep, waitFor } from "../../src/lab/wait.js";
import { labSuite, percentile, withAgents } from "../support/lab.js";
import { clientNeighbour, nodeMac } from "../support/netns.js";
import { describeStates, loadAverage, logMarks, masterEntries, statesSince } from "../support/vrrpHistory.js";

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
        await settledHolder(lab, vip);
        await sleep(1000);
        const problems: string[] = [];
        const gaps: number[] = [];
        const arpMs: number[] = [];
        for (let i = 0; i < FAILOVERS; i++) {
          const marks = logMarks(agents);
          const t = await failoverTrial(lab, vip, async (_from, [to]) => {
            const node = lab.nodes.find((n) => n.name === to)!;
            const mac = await nodeMac(node);
            const started = Date.now();
            await waitFor(
              `the client's ARP entry for ${vip} to name ${to} (${mac})`,
              async () => ((await clientNeighbour(lab, vip))?.lladdr === mac ? true : undefined),
              5000,
              2,
            );
            arpMs.push(Date.now() - started);
          });
          gaps.push(t.maxGapMs);
          const states = statesSince(agents, marks);
          // The cut node takes its VIP back when it returns (preemption): that is not a failover.
          const masters = masterEntries(states, instance).filter((n) => n !== t.from);
          if (masters.length !== 1 || masters[0] !== t.to) {
            problems.push(`failover ${i + 1} (${t.from} cut, ${t.to} took over): ${describeStates(states)}`);
          }
        }
        console.log(
          `# ${FAILOVERS} failovers at Fastest: gap p50 ${percentile(gaps, 50)} ms, p95 ${percentile(gaps, 95)} ms, max ${Math.max(...gaps)} ms; client ARP on the new holder ${percentile(arpMs, 95)} ms (p95) after the VIP was seen there; load ${loadAverage()}`,
        );
        assert.deepEqual(problems, [], "a failover with more or less than one new MASTER");
      });
    },
  );
});
