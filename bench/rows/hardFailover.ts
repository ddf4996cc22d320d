// Row 1, hard failover: the VIP holder's link is cut while the client pings the VIP every 10 ms; the outage
// is the longest gap between replies. The original's configuration, then each timing profile of ours. Per
// trial also the new owners (nodes other than the cut one that entered MASTER for the VIP's instance:
// exactly one is a clean failover, more is a dual MASTER) and how long the client's ARP entry took to name
// the new owner's MAC after it entered MASTER. Counts are reported, never judged here.
import { failoverTrial, settledHolder, type FailoverTrial } from "../../src/lab/failover.js";
import type { Lab } from "../../src/lab/netns.js";
import { labService, labVip } from "../../src/lab/plans.js";
import { nodeMac } from "../../src/lab/probes.js";
import {
  describeStates,
  masterEntries,
  neighbourDelay,
  watchNeighbour,
  type StateEntry,
} from "../../src/lab/vrrpHistory.js";
import { OriginalDeployment, originalServices } from "../original.js";
import { measure, type Measure, type TimelineLane } from "../report.js";
import type { BenchRow } from "../row.js";
import { medianIndex } from "../stats.js";
import { configLabel, ourProfiles, PlanAgents, type BenchContext } from "../testbed.js";

const VIP = labVip(0);
const OUTAGE = "client outage (longest gap between replies)";
const LOST = "lost pings (10 ms ping)";
const OWNERS = "new owners per failover (nodes entering MASTER, the cut one left out; 1 expected)";
const ARP = "ARP correction (new MASTER → client's ARP entry names its MAC)";

interface Trial extends FailoverTrial {
  /** Nodes other than the cut one that entered MASTER for the VIP's instance during the trial. */
  owners: number;
  /** ms from the new owner entering MASTER to the client's ARP entry naming its MAC; undefined: not seen. */
  arpMs?: number;
}

interface Trials {
  config: string;
  original: boolean;
  results: Trial[];
}

/** Where the VRRP history of a configuration is read: its instance's name and the states logged since. */
interface History {
  instance: string;
  mark(): () => StateEntry[];
}

async function runTrials(
  ctx: BenchContext,
  lab: Lab,
  config: string,
  trials: number,
  holderReturns: boolean,
  history: History,
): Promise<Trial[]> {
  await settledHolder(lab, VIP, 60_000);
  const macs = new Map(await Promise.all(lab.nodes.map(async (n) => [n.name, await nodeMac(n)] as const)));
  const results: Trial[] = [];
  for (let i = 0; i < trials; i++) {
    const since = history.mark();
    const neighbour = watchNeighbour(lab, VIP);
    const t = await failoverTrial(lab, VIP, undefined, { holderReturns }).finally(neighbour.stop);
    const states = since();
    const owners = masterEntries(states, history.instance).filter((n) => n !== t.from);
    const arpMs = neighbourDelay(states, neighbour.changes, t.to, history.instance, macs.get(t.to) ?? "");
    results.push({ ...t, owners: owners.length, ...(arpMs === undefined ? {} : { arpMs }) });
    ctx.progress(
      `${config} trial ${i + 1}/${trials}: ${t.from} → ${t.to}, outage ${t.maxGapMs} ms, ${t.lost} lost, new owners ${owners.join(",") || "none"}, ARP correction ${arpMs ?? "not seen"} ms`,
    );
    if (owners.length !== 1) ctx.progress(`  states: ${describeStates(states)}`);
  }
  return results;
}

async function original(ctx: BenchContext, lab: Lab, trials: number): Promise<Trials> {
  const d = new OriginalDeployment(lab, "failover");
  await d.start(originalServices([{ name: "web", vips: [VIP] }]));
  const history: History = {
    instance: "default/web",
    mark: () => {
      const from = d.changes().length;
      return () => d.changes().slice(from);
    },
  };
  try {
    // All nodes are equal: the VIP stays with whoever took it, and the next trial cuts that node.
    return {
      config: "original",
      original: true,
      results: await runTrials(ctx, lab, "original", trials, false, history),
    };
  } finally {
    await d.stop();
  }
}

async function ours(ctx: BenchContext, lab: Lab, trials: number): Promise<Trials[]> {
  const services = [labService("web", [VIP])];
  const out: Trials[] = [];
  for (const profile of await ourProfiles()) {
    const config = configLabel(lab, profile, services);
    const agents = await PlanAgents.start(lab, `failover-${profile.name}`, services, profile.spec);
    const history: History = {
      instance: agents.plan.instances.find((x) => x.vips.includes(VIP))?.name ?? "",
      mark: () => {
        const marks = agents.marks();
        return () => agents.statesSince(marks);
      },
    };
    try {
      out.push({
        config,
        original: false,
        results: await runTrials(ctx, lab, config, trials, true, history),
      });
    } finally {
      await agents.stop();
    }
  }
  return out;
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

const QUANTITIES: [what: string, unit: string, value: (t: Trial) => number | undefined][] = [
  [OUTAGE, "ms", (t) => t.maxGapMs],
  [LOST, "pings", (t) => t.lost],
  [OWNERS, "nodes", (t) => t.owners],
  [ARP, "ms", (t) => t.arpMs],
];

function measures(all: Trials[]): Measure[] {
  return QUANTITIES.flatMap(([what, unit, value]) =>
    all.map((t) => {
      const values = t.results.map(value).filter((v): v is number => v !== undefined);
      return measure(what, t.config, unit, values, t.original);
    }),
  );
}

function arpNotes(all: Trials[]): string[] {
  return all.flatMap((t) => {
    const missing = t.results.filter((r) => r.arpMs === undefined).length;
    return missing === 0
      ? []
      : [
          `${t.config}: in ${missing} of ${t.results.length} trials the client's ARP entry was not seen naming the new owner after it entered MASTER (no ARP correction figure for those).`,
        ];
  });
}

export const hardFailover: BenchRow = {
  id: "failover",
  title: "Hard failover (holder's link cut)",
  async run(ctx) {
    const lab = await ctx.lab();
    const trials = ctx.trials(30, 1);
    const all: Trials[] = [await original(ctx, lab, trials), ...(await ours(ctx, lab, trials))];
    return {
      ran: `${trials} trials per configuration; 3 nodes; one VIP; the client pings it every 10 ms; the holder's bridge port is set down, then up again once another node holds the VIP`,
      measures: measures(all),
      notes: [
        "The original's configuration: plain keepalived on the file its template gives (VRRPv2, 1 s adverts, every node priority 100); our profiles: our agents on our plan.",
        "New owners: the nodes other than the cut one that entered MASTER for the VIP's instance during a trial (keepalived's log for the original, each agent's log of keepalived's notify FIFO for ours); exactly 1 is a clean failover, 2 means a second backup also took over (a dual MASTER). ARP correction: from that MASTER entry to the client's kernel recording the new MAC (ip monitor neigh).",
        ...arpNotes(all),
      ],
      plots: {
        timeline: all.map(lane),
        gaps: all.map((t) => ({ config: t.config, values: t.results.map((r) => r.maxGapMs) })),
      },
    };
  },
};
