// Failover benchmark: hard failovers (holder cut off the bridge) of one VIP, default and Fast timing,
// measured as the longest gap between replies of a 10 ms ping from the client. Prints a table; never fails
// on time. Run as root after a build: node dist/bench/failover.js [trials]
import { join } from "node:path";
import { failoverTrial } from "../src/lab/failover.js";
import { startAgent, stopAgent } from "../src/lab/agents.js";
import { createLab } from "../src/lab/netns.js";
import { labPlan, labService, labVip, writePlan } from "../src/lab/plans.js";

const trials = Number(process.argv[2] ?? "10");

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

const profiles = [
  { name: "Default", spec: {} },
  { name: "Fast", spec: { vrrp: { timing: "Fast" as const } } },
];

const lab = await createLab(3);
const rows: string[] = [];
try {
  for (const profile of profiles) {
    const vip = labVip(0);
    const planFile = join(lab.dir, `plan-${profile.name}.json`);
    await writePlan(planFile, labPlan(lab, [labService("web", [vip])], profile.spec));
    const agents = lab.nodes.map((n) => startAgent(lab, n, planFile));
    try {
      const gaps: number[] = [];
      const lost: number[] = [];
      for (let i = 0; i < trials; i++) {
        const t = await failoverTrial(lab, vip);
        gaps.push(t.maxGapMs);
        lost.push(t.lost);
        process.stderr.write(
          `${profile.name} trial ${i + 1}: ${t.from} → ${t.to}, gap ${t.maxGapMs} ms, ${t.lost} lost\n`,
        );
      }
      rows.push(
        [
          profile.name,
          String(trials),
          ...[50, 95].map((p) => String(percentile(gaps, p))),
          String(Math.min(...gaps)),
          String(Math.max(...gaps)),
          String(percentile(lost, 50)),
        ]
          .map((c) => c.padStart(8))
          .join(" "),
      );
    } finally {
      await Promise.all(agents.map((a) => stopAgent(a)));
    }
  }
} finally {
  await lab.cleanup();
}
console.log(
  ["profile", "trials", "p50 ms", "p95 ms", "min ms", "max ms", "lost p50"]
    .map((c) => c.padStart(8))
    .join(" "),
);
for (const r of rows) console.log(r);
