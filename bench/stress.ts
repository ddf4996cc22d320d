// CPU-stress soak per timing profile: agents on three lab nodes, each node MASTER of its pooled instance
// with VIPs, then `stress-ng --cpu 16 --vm 2` for a while; counts every VRRP state change on every node
// (a profile worth offering makes none). Prints a table with the load average; never fails on counts.
// Run as root after a build, under the e2e lock:
//   flock /tmp/kao-e2e.lock node dist/bench/stress.js [seconds] [Default,Fast,Fastest,30ms,...]
import { join } from "node:path";
import { settledHolder } from "../src/lab/failover.js";
import { startAgent, stopAgent } from "../src/lab/agents.js";
import { createLab, type Lab } from "../src/lab/netns.js";
import { labPlan, labService, labVip, writePlan } from "../src/lab/plans.js";
import { sleep } from "../src/lab/wait.js";
import { cpuStress, describeStates, loadAverage, logMarks, statesSince } from "../src/lab/vrrpHistory.js";
import { benchPlan, benchProfiles, row, type BenchProfile } from "./profiles.js";

const seconds = Number(process.argv[2] ?? "600");
const profiles = benchProfiles(process.argv[3]);

async function soak(lab: Lab, profile: BenchProfile): Promise<string> {
  const vips = Array.from({ length: 9 }, (_, i) => labVip(i));
  const planFile = join(lab.dir, `plan-${profile.name}.json`);
  const services = vips.map((v, i) => labService(`svc-${i}`, [v], i));
  const plan = benchPlan(labPlan(lab, services, profile.spec), profile);
  await writePlan(planFile, plan);
  const agents = new Map(lab.nodes.map((n) => [n.name, startAgent(lab, n, planFile)]));
  try {
    for (const vip of vips) await settledHolder(lab, vip);
    await sleep(2000);
    const marks = logMarks(agents);
    const loadBefore = loadAverage();
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, Number(loadAverage().split(" ")[0]));
    }, 1000);
    await cpuStress(seconds);
    clearInterval(sampler);
    await sleep(1000);
    const changes = statesSince(agents, marks);
    process.stderr.write(`${profile.name}: ${describeStates(changes)}\n`);
    return row([
      profile.name,
      plan.group.vrrp.advertIntervalMs,
      plan.group.vrrp.realtimeScheduling ? "yes" : "no",
      seconds,
      plan.instances.length,
      changes.length,
      loadBefore.split(" ")[0] ?? "",
      peak.toFixed(2),
    ]);
  } finally {
    await Promise.all([...agents.values()].map((a) => stopAgent(a)));
  }
}

const lab = await createLab(3);
const rows: string[] = [];
try {
  for (const profile of profiles) rows.push(await soak(lab, profile));
} finally {
  await lab.cleanup();
}
console.log(
  row(["profile", "advert ms", "realtime", "seconds", "instances", "changes", "load pre", "load peak"]),
);
for (const r of rows) console.log(r);
