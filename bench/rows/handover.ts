// Row 3, planned handover, as in a DaemonSet rolling update: the holder's pod is stopped with SIGTERM (ours:
// the agent, which hands its VIPs over first; the original: keepalived, which announces priority 0), then a
// new pod starts on the node. Lost pings of the client's 10 ms ping, in each phase.
import { settledHolder } from "../../src/lab/failover.js";
import { holdersOf, type Lab } from "../../src/lab/netns.js";
import { startPing, type PingResult } from "../../src/lab/ping.js";
import { labService, labVip } from "../../src/lab/plans.js";
import { stopAgent } from "../../src/lab/agents.js";
import { sleep, waitFor } from "../../src/lab/wait.js";
import { OriginalDeployment, originalServices } from "../original.js";
import { measure, type Measure } from "../report.js";
import type { BenchRow } from "../row.js";
import { configLabel, OUR_DEFAULTS, PlanAgents, type BenchContext } from "../testbed.js";

const VIP = labVip(0);

interface Pod {
  stop(node: string): Promise<void>;
  start(node: string): Promise<void>;
}

interface HandoverTrial {
  stop: PingResult;
  start: PingResult;
}

async function handoverTrial(lab: Lab, pod: Pod): Promise<HandoverTrial> {
  const holder = await settledHolder(lab, VIP, 60_000);
  await sleep(500);
  let ping = startPing(lab, VIP, 10);
  await sleep(500);
  await pod.stop(holder);
  await waitFor(
    "another node to hold the VIP",
    async () => ((await holdersOf(lab, VIP)).some((h) => h !== holder) ? true : undefined),
    30_000,
    10,
  );
  await sleep(1500);
  const stop = await ping.stop();
  ping = startPing(lab, VIP, 10);
  await sleep(500);
  await pod.start(holder);
  // Ours: the new pod's node is the preferred one and takes the VIP back; the original: it stays a backup.
  await sleep(1000);
  await settledHolder(lab, VIP, 60_000);
  await sleep(1500);
  return { stop, start: await ping.stop() };
}

async function trials(ctx: BenchContext, config: string, n: number, pod: Pod): Promise<HandoverTrial[]> {
  const lab = await ctx.lab();
  const out: HandoverTrial[] = [];
  for (let i = 0; i < n; i++) {
    const t = await handoverTrial(lab, pod);
    out.push(t);
    ctx.progress(
      `${config} trial ${i + 1}/${n}: stop ${t.stop.lost} lost (gap ${t.stop.maxGapMs} ms), new pod ${t.start.lost} lost (gap ${t.start.maxGapMs} ms)`,
    );
  }
  return out;
}

function measures(config: string, original: boolean, r: HandoverTrial[]): Measure[] {
  return [
    measure(
      "lost pings, old pod stops (SIGTERM)",
      config,
      "pings",
      r.map((t) => t.stop.lost),
      original,
    ),
    measure(
      "longest gap, old pod stops",
      config,
      "ms",
      r.map((t) => t.stop.maxGapMs),
      original,
    ),
    measure(
      "lost pings, new pod starts",
      config,
      "pings",
      r.map((t) => t.start.lost),
      original,
    ),
  ];
}

export const handover: BenchRow = {
  id: "handover",
  title: "Planned handover (rolling update)",
  async run(ctx) {
    const lab = await ctx.lab();
    const n = ctx.trials(10, 1);
    const d = new OriginalDeployment(lab, "handover");
    await d.start(originalServices([{ name: "web", vips: [VIP] }]));
    let orig: HandoverTrial[];
    try {
      orig = await trials(ctx, "original", n, {
        stop: (node) => d.on(node).stop(),
        start: (node) => d.on(node).start(),
      });
    } finally {
      await d.stop();
    }
    const services = [labService("web", [VIP])];
    const config = configLabel(lab, OUR_DEFAULTS, services);
    const agents = await PlanAgents.start(lab, "handover", services, OUR_DEFAULTS.spec);
    let ours: HandoverTrial[];
    try {
      ours = await trials(ctx, config, n, {
        stop: async (node) => {
          await stopAgent(agents.on(node));
        },
        start: (node) => {
          agents.restart(node);
          return Promise.resolve();
        },
      });
    } finally {
      await agents.stop();
    }
    const all = [...measures("original", true, orig), ...measures(config, false, ours)];
    return {
      ran: `${n} trials per configuration; the holder's pod stopped with SIGTERM, then started again; the client pings the VIP every 10 ms`,
      measures: [...new Set(all.map((m) => m.what))].flatMap((w) => all.filter((m) => m.what === w)),
      notes: [
        "Ours: the stopping agent lowers its priority and waits until a peer is MASTER before keepalived stops; the new pod's node is the preferred one and takes the VIP back. The original: keepalived's SIGTERM sends a priority-0 advert and removes the VIP; the new pod stays a backup (all nodes are equal).",
      ],
    };
  },
};
