// Failover benchmark: hard failovers (holder cut off the bridge) of one VIP per timing profile, measured as
// the longest gap between replies of a 10 ms ping from the client. Per trial it also counts the MASTER
// entries of the VIP's instance (exactly one new owner: anything more is a dual MASTER) and how long the
// client's ARP entry took to point at the new holder. Prints a table with the load average; never fails
// on time. Run as root after a build, under the e2e lock:
//   flock /tmp/kao-e2e.lock node dist/bench/failover.js [trials] [Default,Fast,Fastest,30ms,...]
import { join } from "node:path";
import { failoverTrial, settledHolder } from "../src/lab/failover.js";
import { startAgent, stopAgent } from "../src/lab/agents.js";
import { createLab, type Lab } from "../src/lab/netns.js";
import { labPlan, labService, labVip, writePlan } from "../src/lab/plans.js";
import { sleep } from "../src/lab/wait.js";
import { nodeMac } from "../src/lab/probes.js";
import {
  describeStates,
  loadAverage,
  logMarks,
  masterEntries,
  neighbourDelay,
  statesSince,
  watchNeighbour,
} from "../src/lab/vrrpHistory.js";
import { benchPlan, benchProfiles, percentile, row, type BenchProfile } from "./profiles.js";

const trials = Number(process.argv[2] ?? "30");
const profiles = benchProfiles(process.argv[3]);

interface ProfileResult {
  gaps: number[];
  lost: number[];
  /** MASTER entries beyond the one new owner, over all trials. */
  extraMasters: number;
  /** ms from the new holder entering MASTER to the client's ARP entry naming its MAC. */
  arpMs: number[];
  advertMs: number;
  realtime: boolean;
  load: string[];
}

async function runProfile(lab: Lab, profile: BenchProfile): Promise<ProfileResult> {
  const vip = labVip(0);
  const planFile = join(lab.dir, `plan-${profile.name}.json`);
  const plan = benchPlan(labPlan(lab, [labService("web", [vip])], profile.spec), profile);
  await writePlan(planFile, plan);
  const instance = plan.instances.find((i) => i.vips.includes(vip))?.name ?? "";
  const agents = new Map(lab.nodes.map((n) => [n.name, startAgent(lab, n, planFile)]));
  const result: ProfileResult = {
    gaps: [],
    lost: [],
    extraMasters: 0,
    arpMs: [],
    advertMs: plan.group.vrrp.advertIntervalMs,
    realtime: plan.group.vrrp.realtimeScheduling,
    load: [loadAverage()],
  };
  try {
    // Start counting once the agents' start-up (each instance entering its first state) is over.
    await settledHolder(lab, vip);
    await sleep(1000);
    const macs = new Map(await Promise.all(lab.nodes.map(async (n) => [n.name, await nodeMac(n)] as const)));
    for (let i = 0; i < trials; i++) {
      const marks = logMarks(agents);
      const neighbour = watchNeighbour(lab, vip);
      const t = await failoverTrial(lab, vip).finally(neighbour.stop);
      // The cut node takes its VIP back on return (preemption): only the other nodes' entries count.
      const states = statesSince(agents, marks);
      const masters = masterEntries(states, instance).filter((n) => n !== t.from);
      if (masters.length !== 1) process.stderr.write(`  states: ${describeStates(states)}\n`);
      result.extraMasters += Math.max(0, masters.length - 1);
      const arp = neighbourDelay(states, neighbour.changes, t.to, instance, macs.get(t.to) ?? "");
      if (arp !== undefined) result.arpMs.push(arp);
      result.gaps.push(t.maxGapMs);
      result.lost.push(t.lost);
      process.stderr.write(
        `${profile.name} trial ${i + 1}: ${t.from} → ${t.to}, gap ${t.maxGapMs} ms, ${t.lost} lost, MASTER entries ${masters.join(",")}, load ${loadAverage()}\n`,
      );
    }
  } finally {
    await Promise.all([...agents.values()].map((a) => stopAgent(a)));
  }
  result.load.push(loadAverage());
  return result;
}

const lab = await createLab(3);
const rows: string[] = [];
try {
  for (const profile of profiles) {
    const r = await runProfile(lab, profile);
    rows.push(
      row([
        profile.name,
        r.advertMs,
        r.realtime ? "yes" : "no",
        trials,
        percentile(r.gaps, 50),
        percentile(r.gaps, 95),
        Math.max(...r.gaps),
        percentile(r.lost, 50),
        r.extraMasters,
        percentile(r.arpMs, 95),
        r.load.map((l) => l.split(" ")[0]).join("→"),
      ]),
    );
  }
} finally {
  await lab.cleanup();
}
console.log(
  row([
    "profile",
    "advert ms",
    "realtime",
    "trials",
    "p50 ms",
    "p95 ms",
    "max ms",
    "lost p50",
    "dual MST",
    "arp p95",
    "load 1m",
  ]),
);
for (const r of rows) console.log(r);
