// New-VIP benchmark per timing profile: agents on three lab nodes following a plan file; Services are added
// one at a time (the plan rewritten as the controller would) and each new VIP is timed from the write to
// the client's first ping answer. Also counts the VRRP state changes meanwhile (no births: zero).
// Run as root after a build, under the e2e lock:
//   flock /tmp/kao-e2e.lock node dist/bench/newVip.js [services] [Default,Fast,Fastest,...]
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { startAgent, stopAgent } from "../src/lab/agents.js";
import { createLab, nodeAddresses, type Lab } from "../src/lab/netns.js";
import { labPlan, labService, labVip, writePlan } from "../src/lab/plans.js";
import { sleep, waitFor } from "../src/lab/wait.js";
import { loadAverage, logMarks, statesSince } from "../src/lab/vrrpHistory.js";
import { benchPlan, benchProfiles, percentile, row, type BenchProfile } from "./profiles.js";

const execFileP = promisify(execFile);
const count = Number(process.argv[2] ?? "20");
const profiles = benchProfiles(process.argv[3]);

async function answered(lab: Lab, vip: string): Promise<void> {
  await waitFor(
    `${vip} to answer`,
    async () => {
      try {
        // One echo request that waits at most 100 ms for its answer.
        await execFileP("ip", [
          "netns",
          "exec",
          lab.clientNs,
          "ping",
          "-4",
          "-n",
          "-c",
          "1",
          "-W",
          "0.1",
          vip,
        ]);
        return true;
      } catch {
        return undefined;
      }
    },
    20_000,
    0,
  );
}

async function run(lab: Lab, profile: BenchProfile): Promise<string> {
  const planFile = join(lab.dir, `plan-${profile.name}.json`);
  let plan = benchPlan(labPlan(lab, [], profile.spec), profile);
  await writePlan(planFile, plan);
  const agents = new Map(lab.nodes.map((n) => [n.name, startAgent(lab, n, planFile)]));
  const ms: number[] = [];
  const load = [loadAverage()];
  try {
    // Settled: every anchor on its preferred node.
    await waitFor("anchors settled", async () => {
      const held = await Promise.all(lab.nodes.map(async (n) => [n.name, await nodeAddresses(n)] as const));
      return plan.instances.every((i) =>
        held.every(([n, a]) => a.includes(i.anchor) === (n === i.priorities[0]?.node)),
      )
        ? true
        : undefined;
    });
    await sleep(1000);
    const marks = logMarks(agents);
    const services = Array.from({ length: count }, (_, i) => labService(`new-${i}`, [labVip(100 + i)], i));
    for (let n = 1; n <= count; n++) {
      plan = benchPlan(labPlan(lab, services.slice(0, n), profile.spec, plan), profile);
      const started = Date.now();
      await writePlan(planFile, plan);
      await answered(lab, labVip(100 + n - 1));
      ms.push(Date.now() - started);
    }
    await sleep(1000);
    load.push(loadAverage());
    const changes = statesSince(agents, marks).length;
    return row([
      profile.name,
      plan.group.vrrp.advertIntervalMs,
      count,
      percentile(ms, 50),
      percentile(ms, 95),
      Math.max(...ms),
      changes,
      load.map((l) => l.split(" ")[0]).join("→"),
    ]);
  } finally {
    await Promise.all([...agents.values()].map((a) => stopAgent(a)));
  }
}

const lab = await createLab(3);
const rows: string[] = [];
try {
  for (const profile of profiles) rows.push(await run(lab, profile));
} finally {
  await lab.cleanup();
}
console.log(row(["profile", "advert ms", "services", "p50 ms", "p95 ms", "max ms", "changes", "load 1m"]));
for (const r of rows) console.log(r);
