// Log volume of a steady node (issue #15): the agents poll keepalived's statistics four times a second (Fast
// timing) and are scraped like Prometheus would, yet log next to nothing; a VRRP transition is still logged.
// The bound: a few hundred lines a day is under one line per agent in 20 s.
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { settledHolder } from "../../src/lab/failover.js";
import { setSwitchPort } from "../../src/lab/netns.js";
import { labService, labVip } from "../../src/lab/plans.js";
import { sleep, waitFor } from "../../src/lab/wait.js";
import { labSuite, withAgents } from "../support/lab.js";
import { scrapeMetrics } from "../../src/lab/probes.js";

const SLOW = { timeout: 240_000 };
const WINDOW_MS = 20_000;
const DAY_MS = 86_400_000;
/** "A few hundred lines a day": 300 a day is 0.07 lines in 20 s, so at most one line per agent. */
const MAX_LINES_PER_WINDOW = Math.max(1, Math.ceil((300 * WINDOW_MS) / DAY_MS));

describe("log volume of a steady node", { concurrency: 1 }, () => {
  const suite = labSuite(3);

  test("20 s of steady state: at most one line per agent; a failover is still logged", SLOW, async () => {
    const vips = [labVip(0), labVip(1)];
    const services = vips.map((v, i) => labService(`svc-${i}`, [v], i));
    await withAgents(suite.lab, services, { vrrp: { timing: "Fast" } }, async ({ lab, agents, plan }) => {
      const holders = await Promise.all(vips.map((v) => settledHolder(lab, v, 30_000, plan.placement[v])));
      await sleep(3000);
      const mark = new Map([...agents].map(([n, a]) => [n, a.logs.length]));
      const polled = new Map<string, number>();
      for (const [n, a] of agents)
        polled.set(n, await stat(join(a.stateDir, "keepalived.json")).then((s) => s.mtimeMs));
      const started = Date.now();
      // Scraped every 5 s meanwhile, as Prometheus would (each scrape is one more statistics request).
      while (Date.now() - started < WINDOW_MS) {
        await Promise.all([...agents.values()].map((a) => scrapeMetrics(a.node)));
        await sleep(5000);
      }
      const elapsed = Date.now() - started;
      const lines = [...agents].map(([n, a]) => ({ node: n, new: a.logs.slice(mark.get(n)) }));
      for (const { node, new: l } of lines) {
        const perDay = Math.round((l.length * DAY_MS) / elapsed);
        console.log(
          `# ${node}: ${l.length} log lines in ${(elapsed / 1000).toFixed(1)} s of steady state → ${perDay} lines/day${l.length > 0 ? `: ${l.map((x) => JSON.stringify(x)).join(" ")}` : ""}`,
        );
      }
      // The agents did poll all along: keepalived's dump was rewritten during the window.
      for (const [n, a] of agents) {
        const mtime = (await stat(join(a.stateDir, "keepalived.json"))).mtimeMs;
        assert.ok(mtime > (polled.get(n) ?? 0) + WINDOW_MS / 2, `${n} polled keepalived during the window`);
      }
      for (const { node, new: l } of lines)
        assert.ok(
          l.length <= MAX_LINES_PER_WINDOW,
          `${node} logged ${l.length} lines in ${elapsed} ms: ${l.map((x) => JSON.stringify(x)).join(" ")}`,
        );

      // A transition is news: cut the first VIP's holder off; a peer logs its MASTER state.
      const cut = lab.nodes.find((n) => n.name === holders[0])!;
      const marks = new Map([...agents].map(([n, a]) => [n, a.logs.length]));
      await setSwitchPort(lab, cut, false);
      try {
        const peerLines = await waitFor("a peer to log its new MASTER state", () => {
          const found = [...agents]
            .filter(([n]) => n !== cut.name)
            .map(([n, a]) => a.logs.slice(marks.get(n)))
            .find(
              (l) =>
                l.some((x) => x.msg === "vrrp state" && x.state === "MASTER") &&
                l.some((x) => x.msg === "keepalived" && /Entering MASTER STATE/.test(String(x.line))),
            );
          return Promise.resolve(found);
        });
        console.log(`# failover logged by the new holder in ${peerLines.length} lines`);
      } finally {
        await setSwitchPort(lab, cut, true);
      }
    });
  });
});
