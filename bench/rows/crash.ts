// Row 2, node crash: keepalived (and our agent) SIGKILLed on the VIP holder while the client pings the VIP
// and the bench samples every ~10 ms which nodes hold it. A killed keepalived cannot remove its address, so
// the dead node's kernel keeps it until the processes come back (as a DaemonSet restarts them); they are
// restarted 1 s after another node took the VIP over.
import { settledHolder } from "../../src/lab/failover.js";
import { holdersOf, type Lab } from "../../src/lab/netns.js";
import { startPing, type PingResult } from "../../src/lab/ping.js";
import { labService, labVip } from "../../src/lab/plans.js";
import { sleep, waitFor } from "../../src/lab/wait.js";
import { OriginalDeployment, originalServices } from "../original.js";
import { measure, type Measure } from "../report.js";
import type { BenchRow } from "../row.js";
import {
  configLabel,
  dualHolderMs,
  OUR_DEFAULTS,
  PlanAgents,
  sampleHolders,
  type BenchContext,
  type HolderSample,
} from "../testbed.js";

const VIP = labVip(0);
const RESTART_AFTER_MS = 1000;

interface CrashTrial {
  ping: PingResult;
  takeoverMs: number;
  /** From the restart until the VIP is on one node again. */
  cleanupMs: number;
  samples: HolderSample[];
}

/** How the crashed processes are killed and started again, per configuration. */
interface Crashable {
  kill(node: string): Promise<void>;
  restart(node: string): Promise<void>;
}

async function crashTrial(lab: Lab, target: Crashable): Promise<CrashTrial> {
  const holder = await settledHolder(lab, VIP, 60_000);
  const sampler = sampleHolders(lab, VIP, 10);
  const ping = startPing(lab, VIP, 10);
  await sleep(500);
  const killedAt = Date.now();
  await target.kill(holder);
  await waitFor(
    "another node to take the VIP",
    async () => ((await holdersOf(lab, VIP)).some((h) => h !== holder) ? true : undefined),
    30_000,
    10,
  );
  const takeoverMs = Date.now() - killedAt;
  await sleep(RESTART_AFTER_MS);
  const restartedAt = Date.now();
  await target.restart(holder);
  await waitFor(
    "the VIP on one node again",
    async () => ((await holdersOf(lab, VIP)).length === 1 ? true : undefined),
    30_000,
    10,
  );
  const cleanupMs = Date.now() - restartedAt;
  await settledHolder(lab, VIP, 60_000);
  await sleep(500);
  return { ping: await ping.stop(), takeoverMs, cleanupMs, samples: await sampler.stop() };
}

async function trials(
  ctx: BenchContext,
  config: string,
  n: number,
  target: Crashable,
): Promise<CrashTrial[]> {
  const lab = await ctx.lab();
  const out: CrashTrial[] = [];
  for (let i = 0; i < n; i++) {
    const t = await crashTrial(lab, target);
    out.push(t);
    const dual = t.samples.filter((s) => s.holders.length > 1).length;
    ctx.progress(
      `${config} trial ${i + 1}/${n}: outage ${t.ping.maxGapMs} ms, takeover ${t.takeoverMs} ms, on two nodes in ${dual}/${t.samples.length} samples, one holder ${t.cleanupMs} ms after the restart`,
    );
  }
  return out;
}

function measures(config: string, original: boolean, results: CrashTrial[]): Measure[] {
  return [
    measure(
      "client outage (longest gap between replies)",
      config,
      "ms",
      results.map((r) => r.ping.maxGapMs),
      original,
    ),
    measure(
      "kill → another node holds the VIP",
      config,
      "ms",
      results.map((r) => r.takeoverMs),
      original,
    ),
    measure(
      "samples with the VIP on two nodes",
      config,
      "samples",
      results.map((r) => r.samples.filter((s) => s.holders.length > 1).length),
      original,
    ),
    measure(
      "time with the VIP on two nodes",
      config,
      "ms",
      results.map((r) => dualHolderMs(r.samples)),
      original,
    ),
    measure(
      "restart → the VIP on one node again",
      config,
      "ms",
      results.map((r) => r.cleanupMs),
      original,
    ),
  ];
}

export const crash: BenchRow = {
  id: "crash",
  title: "Node crash (SIGKILL on the holder)",
  async run(ctx) {
    const lab = await ctx.lab();
    const n = ctx.trials(10, 1);
    const d = new OriginalDeployment(lab, "crash");
    await d.start(originalServices([{ name: "web", vips: [VIP] }]));
    let orig: CrashTrial[];
    try {
      orig = await trials(ctx, "original", n, {
        kill: (node) => d.on(node).kill(),
        restart: (node) => d.on(node).start(),
      });
    } finally {
      await d.stop();
    }
    const services = [labService("web", [VIP])];
    const config = configLabel(lab, OUR_DEFAULTS, services);
    const agents = await PlanAgents.start(lab, "crash", services, OUR_DEFAULTS.spec);
    let ours: CrashTrial[];
    try {
      ours = await trials(ctx, config, n, {
        kill: (node) => agents.kill(node),
        restart: (node) => {
          agents.restart(node);
          return Promise.resolve();
        },
      });
    } finally {
      await agents.stop();
    }
    const all = [...measures("original", true, orig), ...measures(config, false, ours)];
    const order = [...new Set(all.map((m) => m.what))];
    return {
      ran: `${n} trials per configuration; keepalived (ours: and the agent) SIGKILLed on the holder; holders sampled every ~10 ms; the killed processes restarted ${RESTART_AFTER_MS} ms after another node took the VIP`,
      measures: order.flatMap((w) => all.filter((m) => m.what === w)),
      notes: [
        "A SIGKILLed keepalived leaves its VIP on the interface and that node's kernel keeps answering for it, so the client sees little outage while two nodes hold the VIP; it ends when the restarted processes remove it (our agent removes what a dead keepalived left before starting keepalived).",
      ],
    };
  },
};
