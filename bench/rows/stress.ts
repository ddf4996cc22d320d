// Row 10, CPU stress: with every node MASTER of its share of 9 VIPs, `stress-ng --cpu 16 --vm 2` saturates
// both CPUs and churns memory for a while, and every VRRP state change on every node is counted (a spurious
// takeover or a dual MASTER shows up as one; a profile worth offering makes none). Per timing profile of
// ours; the original's configuration (1 s adverts, every node priority 100) as the baseline. The load
// average is reported next to the counts; counts are reported, never judged here.
import { settledHolder } from "../../src/lab/failover.js";
import type { Lab } from "../../src/lab/netns.js";
import { labService, labVip } from "../../src/lab/plans.js";
import { cpuStress, describeStates, type StateEntry } from "../../src/lab/vrrpHistory.js";
import { sleep } from "../../src/lab/wait.js";
import { OriginalDeployment, originalServices } from "../original.js";
import { measure, type Measure } from "../report.js";
import type { BenchRow } from "../row.js";
import { loadAverage } from "../machine.js";
import {
  configLabel,
  flushClientNeighbours,
  ourProfiles,
  PlanAgents,
  type BenchContext,
} from "../testbed.js";

const VIPS = Array.from({ length: 9 }, (_, i) => labVip(i));
const CHANGES = "VRRP state changes under stress (every node, every instance)";
const LOAD = "load average (1 min), highest during stress";

interface Soak {
  config: string;
  original: boolean;
  changes: number;
  loadBefore: number;
  loadPeak: number;
}

/** Waits until every VIP has settled; then stress-ng for `seconds`, reading the changes after `mark`. */
async function soak(
  ctx: BenchContext,
  lab: Lab,
  config: string,
  seconds: number,
  mark: () => () => StateEntry[],
): Promise<Omit<Soak, "original">> {
  for (const vip of VIPS) await settledHolder(lab, vip, 60_000);
  await sleep(2000);
  const since = mark();
  const loadBefore = loadAverage()[0] ?? NaN;
  let loadPeak = loadBefore;
  const sampler = setInterval(() => {
    loadPeak = Math.max(loadPeak, loadAverage()[0] ?? 0);
  }, 1000);
  ctx.progress(`${config}: stress-ng --cpu 16 --vm 2 for ${seconds} s`);
  try {
    await cpuStress(seconds);
  } finally {
    clearInterval(sampler);
  }
  await sleep(1000);
  const changes = since();
  ctx.progress(
    `${config}: ${changes.length} state changes (${describeStates(changes)}), load ${loadBefore} → peak ${loadPeak}`,
  );
  return { config, changes: changes.length, loadBefore, loadPeak };
}

async function original(ctx: BenchContext, lab: Lab, seconds: number): Promise<Soak> {
  const d = new OriginalDeployment(lab, "stress");
  await d.start(originalServices(VIPS.map((v, i) => ({ name: `svc-${i}`, vips: [v] }))));
  try {
    const r = await soak(ctx, lab, "original", seconds, () => {
      const from = d.changes().length;
      return () => d.changes().slice(from);
    });
    return { ...r, original: true };
  } finally {
    await d.stop();
  }
}

async function ours(ctx: BenchContext, lab: Lab, seconds: number): Promise<Soak[]> {
  const services = VIPS.map((v, i) => labService(`svc-${i}`, [v], i));
  const out: Soak[] = [];
  for (const profile of await ourProfiles()) {
    const config = configLabel(lab, profile, services);
    const agents = await PlanAgents.start(lab, `stress-${profile.name}`, services, profile.spec);
    try {
      const r = await soak(ctx, lab, config, seconds, () => {
        const marks = agents.marks();
        return () => agents.statesSince(marks);
      });
      out.push({ ...r, original: false });
    } finally {
      await agents.stop();
    }
  }
  return out;
}

function measures(all: Soak[]): Measure[] {
  return [
    ...all.map((s) => measure(CHANGES, s.config, "changes", [s.changes], s.original)),
    ...all.map((s) => measure(LOAD, s.config, "load", [s.loadPeak], s.original)),
  ];
}

export const stress: BenchRow = {
  id: "stress",
  title: "CPU stress (no spurious transitions)",
  async run(ctx) {
    const lab = await ctx.lab();
    const seconds = ctx.seconds(600, 5);
    await flushClientNeighbours(lab);
    const all = [await original(ctx, lab, seconds), ...(await ours(ctx, lab, seconds))];
    return {
      ran: `3 nodes, ${VIPS.length} Services of one VIP each, every VIP settled; then \`stress-ng --cpu 16 --vm 2 --vm-bytes 256M\` for ${seconds} s per configuration (--seconds sets it), counting every VRRP state entered on any node from its start to 1 s after its end`,
      measures: measures(all),
      notes: [
        `Load average (1 min) before each configuration's stress: ${all.map((s) => `${s.config} ${s.loadBefore.toFixed(2)}`).join("; ")}. The 1-minute average lags: a short run's peak understates the load.`,
        "The original's configuration: plain keepalived on its template's file (9 instances, 1 s adverts, priority 100 everywhere); ours: our agents on our plan, with real-time scheduling where the profile's adverts are sub-second.",
      ],
    };
  },
};
