// Never two keepalived (issue #11, item 12): the agent is SIGKILLed (not keepalived), its keepalived lives on;
// the restarted agent adopts it instead of starting a second one beside it, follows it through a new plan,
// and on stop hands the VIPs over and leaves no keepalived behind. The number of keepalived main processes on
// that node's config is counted over and over (a /proc scan each time) from before the kill to the end.
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { startAgent, stopAgent } from "../../src/lab/agents.js";
import { settledHolder } from "../../src/lab/failover.js";
import { holdersOf } from "../../src/lab/netns.js";
import { startPing } from "../../src/lab/ping.js";
import { labPlan, labService, labVip, writePlan } from "../../src/lab/plans.js";
import { sleep, waitFor } from "../../src/lab/wait.js";
import { labSuite, withAgents } from "../support/lab.js";

const SLOW = { timeout: 240_000 };

/** pid → [parent pid, argv] of every process whose argv[0] is keepalived, read from /proc. */
async function keepalivedProcesses(): Promise<Map<number, [number, string[]]>> {
  const out = new Map<number, [number, string[]]>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = (await readFile(`/proc/${entry}/cmdline`, "utf8")).split("\0").filter((a) => a !== "");
      if (!/(^|\/)keepalived$/.test(argv[0] ?? "")) continue;
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] === "Z") continue;
      out.set(Number(entry), [Number(fields[1]), argv]);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** keepalived main processes (not their VRRP children) running on `config`. */
async function keepalivedsOf(config: string): Promise<number[]> {
  const all = await keepalivedProcesses();
  const on = (argv: string[]): boolean => argv.includes(`--use-file=${config}`);
  return [...all]
    .filter(([, [ppid, argv]]) => on(argv) && !(all.has(ppid) && on(all.get(ppid)![1])))
    .map(([pid]) => pid);
}

/** Counts keepalived main processes on `config` over and over (one /proc scan each) until stop(). */
function countContinuously(config: string): {
  stop: () => Promise<{ min: number; max: number; samples: number }>;
} {
  let running = true;
  let min = Infinity;
  let max = 0;
  let samples = 0;
  const loop = (async () => {
    while (running) {
      const n = (await keepalivedsOf(config)).length;
      min = Math.min(min, n);
      max = Math.max(max, n);
      samples++;
      await sleep(10);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { min, max, samples };
    },
  };
}

describe(
  "the agent SIGKILLed: its keepalived is adopted, never doubled, and stopped with it",
  { concurrency: 1 },
  () => {
    const suite = labSuite(3);

    test(
      "SIGKILL, restart, new plan, stop: exactly one keepalived throughout, VIPs handed over",
      SLOW,
      async () => {
        const vip = labVip(0);
        const extra = labVip(1);
        const web = labService("web", [vip], 0);
        await withAgents(suite.lab, [web], {}, async ({ lab, planFile, agents, plan }) => {
          const holder = await settledHolder(lab, vip, 30_000, plan.placement[vip]);
          const agent = agents.get(holder)!;
          const config = join(agent.stateDir, "keepalived.conf");
          const before = await keepalivedsOf(config);
          assert.equal(before.length, 1, "one keepalived before");
          await sleep(1000);
          const count = countContinuously(config);
          const ping = startPing(lab, vip, 10);
          await sleep(300);

          agent.child.kill("SIGKILL");
          await agent.exited;
          await sleep(500);
          assert.deepEqual(await keepalivedsOf(config), before, "keepalived outlives its agent");
          const node = agent.node;
          const restarted = startAgent(lab, node, planFile);
          agents.set(holder, restarted);
          await waitFor("the restarted agent to adopt keepalived and load the plan", () =>
            Promise.resolve(
              restarted.logs.some(
                (l) =>
                  l.msg ===
                  "adopted the keepalived an earlier agent left running; its own output is not seen",
              ) &&
                restarted.logs.some(
                  (l) => String(l.msg).startsWith("plan applied") || l.msg === "config applied",
                )
                ? true
                : undefined,
            ),
          );
          await sleep(2000);
          assert.deepEqual(await keepalivedsOf(config), before, "the same keepalived, adopted");
          assert.equal(
            restarted.logs.filter((l) => l.msg === "keepalived started").length,
            0,
            "none started",
          );
          const restartPings = await ping.stop();
          assert.deepEqual(await holdersOf(lab, vip), [holder], "the VIP never moved");

          // The adopted keepalived follows a new plan (SIGHUP to a process the agent did not start).
          await writePlan(planFile, labPlan(lab, [web, labService("extra", [extra], 1)]));
          await settledHolder(lab, extra);
          assert.deepEqual(await keepalivedsOf(config), before);

          // Stop: the VIPs the adopted keepalived holds are handed over, and it is gone.
          const masters = (await holdersOf(lab, extra))[0] === holder ? [vip, extra] : [vip];
          const handover = startPing(lab, vip, 10);
          await sleep(300);
          const counted = await count.stop();
          const duringStop = countContinuously(config);
          assert.equal(await stopAgent(restarted), 0);
          await sleep(1000);
          const handoverPings = await handover.stop();
          const stopping = await duringStop.stop();
          const after = await keepalivedsOf(config);
          const now = await Promise.all(masters.map((v) => holdersOf(lab, v)));
          console.log(
            `# keepalived main processes on ${holder}'s config: counted ${counted.samples} times from before the SIGKILL through restart, adoption and a new plan: min ${counted.min} max ${counted.max}; ${stopping.samples} times during the stop: max ${stopping.max}; ${after.length} after it`,
          );
          console.log(
            `# pings of ${vip} across SIGKILL + restart + adoption: ${restartPings.sent} sent, ${restartPings.lost} lost; across the stop: ${handoverPings.sent} sent, ${handoverPings.lost} lost; VIPs now on ${now.map((h) => h.join(",")).join(" ")}`,
          );
          assert.deepEqual([counted.min, counted.max], [1, 1], "exactly one keepalived at every count");
          assert.ok(stopping.max <= 1, "never two while stopping");
          assert.equal(after.length, 0, "no keepalived of this agent remains");
          assert.equal(restartPings.lost, 0, "the agent's restart costs no ping");
          for (const h of now) {
            assert.equal(h.length, 1);
            assert.notEqual(h[0], holder, "handed over to a peer");
          }
          assert.ok(
            restarted.logs.some((l) => l.msg === "VIPs handed over"),
            "the adopted keepalived's VIPs were handed over",
          );
          assert.equal(handoverPings.lost, 0);
        });
      },
    );
  },
);
