// Row 1, hard failover: the VIP holder's link is cut while the client pings the VIP every 10 ms; the outage
// is the longest gap between replies. The original's configuration, then each timing profile of ours.
import { failoverTrial, settledHolder, type FailoverTrial } from "../../src/lab/failover.js";
import type { Lab } from "../../src/lab/netns.js";
import { labService, labVip } from "../../src/lab/plans.js";
import { OriginalDeployment, originalServices } from "../original.js";
import { measure, type Measure, type TimelineLane } from "../report.js";
import type { BenchRow } from "../row.js";
import { medianIndex } from "../stats.js";
import { configLabel, ourProfiles, PlanAgents, type BenchContext } from "../testbed.js";

const VIP = labVip(0);
const OUTAGE = "client outage (longest gap between replies)";
const LOST = "lost pings (10 ms ping)";

interface Trials {
  config: string;
  original: boolean;
  results: FailoverTrial[];
}

async function runTrials(
  ctx: BenchContext,
  lab: Lab,
  config: string,
  trials: number,
  holderReturns: boolean,
): Promise<FailoverTrial[]> {
  await settledHolder(lab, VIP, 60_000);
  const results: FailoverTrial[] = [];
  for (let i = 0; i < trials; i++) {
    const t = await failoverTrial(lab, VIP, undefined, { holderReturns });
    results.push(t);
    ctx.progress(
      `${config} trial ${i + 1}/${trials}: ${t.from} → ${t.to}, outage ${t.maxGapMs} ms, ${t.lost} lost`,
    );
  }
  return results;
}

async function original(ctx: BenchContext, lab: Lab, trials: number): Promise<Trials> {
  const d = new OriginalDeployment(lab, "failover");
  await d.start(originalServices([{ name: "web", vips: [VIP] }]));
  try {
    // All nodes are equal: the VIP stays with whoever took it, and the next trial cuts that node.
    return {
      config: "original",
      original: true,
      results: await runTrials(ctx, lab, "original", trials, false),
    };
  } finally {
    await d.stop();
  }
}

function lane(t: Trials): TimelineLane {
  const pick = t.results[medianIndex(t.results.map((r) => r.maxGapMs))];
  if (pick === undefined) return { config: t.config, gapMs: NaN, replies: [] };
  return {
    config: t.config,
    gapMs: pick.maxGapMs,
    replies: pick.replies.map((r) => Math.round(r - pick.cutAt)),
  };
}

export const hardFailover: BenchRow = {
  id: "failover",
  title: "Hard failover (holder's link cut)",
  async run(ctx) {
    const lab = await ctx.lab();
    const trials = ctx.trials(30, 1);
    const services = [labService("web", [VIP])];
    const all: Trials[] = [await original(ctx, lab, trials)];
    for (const profile of await ourProfiles()) {
      const config = configLabel(lab, profile, services);
      const agents = await PlanAgents.start(lab, `failover-${profile.name}`, services, profile.spec);
      try {
        all.push({ config, original: false, results: await runTrials(ctx, lab, config, trials, true) });
      } finally {
        await agents.stop();
      }
    }
    const measures: Measure[] = [];
    for (const what of [OUTAGE, LOST]) {
      for (const t of all) {
        const values = t.results.map((r) => (what === OUTAGE ? r.maxGapMs : r.lost));
        measures.push(measure(what, t.config, what === OUTAGE ? "ms" : "pings", values, t.original));
      }
    }
    return {
      ran: `${trials} trials per configuration; 3 nodes; one VIP; the client pings it every 10 ms; the holder's bridge port is set down, then up again once another node holds the VIP`,
      measures,
      notes: [
        "The original's configuration: plain keepalived on the file its template gives (VRRPv2, 1 s adverts, every node priority 100); our profiles: our agents on our plan.",
      ],
      plots: {
        timeline: all.map(lane),
        gaps: all.map((t) => ({ config: t.config, values: t.results.map((r) => r.maxGapMs) })),
      },
    };
  },
};
