// Row 5, reload disruption: while the client pings one VIP every 10 ms, other Services are added (their VIPs
// come up) and then removed again. Lost pings, and the VRRP state changes of the pinged VIP's instance.
import { settledHolder } from "../../src/lab/failover.js";
import { vipHolders, type Lab } from "../../src/lab/netns.js";
import { startPing, type PingResult } from "../../src/lab/ping.js";
import { labService, labVip } from "../../src/lab/plans.js";
import { sleep, waitFor } from "../../src/lab/wait.js";
import { OriginalDeployment, originalServices } from "../original.js";
import { measure, type Measure } from "../report.js";
import type { BenchRow } from "../row.js";
import { configLabel, OUR_DEFAULTS, PlanAgents, type BenchContext } from "../testbed.js";

const VIP = labVip(0);

interface ReloadTrial {
  ping: PingResult;
  changes: number;
  /** Where the added VIPs were once up: VIPs per node. */
  perNode: Record<string, number>;
}

/** Waits until each VIP is on `count` nodes; returns the VIPs per node. */
async function eachOn(
  lab: Lab,
  vips: string[],
  count: number,
  what: string,
): Promise<Record<string, number>> {
  const held = await waitFor(
    what,
    async () => {
      const h = await vipHolders(lab, vips);
      return [...h.values()].every((x) => x.length === count) ? h : undefined;
    },
    120_000,
    100,
  );
  const perNode: Record<string, number> = {};
  for (const [, nodes] of held) for (const n of nodes) perNode[n] = (perNode[n] ?? 0) + 1;
  return perNode;
}

/** Adds the others, waits until each is up, removes them, waits until each is gone; the ping around it. */
async function churn(
  lab: Lab,
  others: number,
  add: () => Promise<void>,
  remove: () => Promise<void>,
): Promise<{ ping: PingResult; perNode: Record<string, number> }> {
  const vips = Array.from({ length: others }, (_, i) => labVip(10 + i));
  const ping = startPing(lab, VIP, 10);
  await sleep(300);
  await add();
  const perNode = await eachOn(lab, vips, 1, `the ${others} added VIPs to come up`);
  await sleep(1000);
  await remove();
  await eachOn(lab, vips, 0, `the ${others} VIPs to go`);
  await sleep(1000);
  return { ping: await ping.stop(), perNode };
}

const others = (n: number): { name: string; vips: string[] }[] =>
  Array.from({ length: n }, (_, i) => ({ name: `other-${i}`, vips: [labVip(10 + i)] }));

async function original(ctx: BenchContext, lab: Lab, n: number, count: number): Promise<ReloadTrial[]> {
  const web = { name: "web", vips: [VIP] };
  const d = new OriginalDeployment(lab, "reload");
  await d.start(originalServices([web]));
  const out: ReloadTrial[] = [];
  try {
    for (let i = 0; i < n; i++) {
      await settledHolder(lab, VIP, 60_000);
      await sleep(1500);
      const mark = d.changes().length;
      const r = await churn(
        lab,
        count,
        () => d.update(originalServices([web, ...others(count)])),
        () => d.update(originalServices([web])),
      );
      const changes = d
        .changes()
        .slice(mark)
        .filter((c) => c.instance === "default/web").length;
      out.push({ ...r, changes });
      ctx.progress(
        `original trial ${i + 1}/${n}: ${r.ping.lost} lost, ${changes} state changes, added VIPs per node ${JSON.stringify(r.perNode)}`,
      );
    }
  } finally {
    await d.stop();
  }
  return out;
}

async function ours(
  ctx: BenchContext,
  lab: Lab,
  n: number,
  count: number,
): Promise<{ config: string; trials: ReloadTrial[] }> {
  const web = labService("web", [VIP], 0);
  const config = configLabel(lab, OUR_DEFAULTS, [web]);
  const agents = await PlanAgents.start(lab, "reload", [web], OUR_DEFAULTS.spec);
  const out: ReloadTrial[] = [];
  try {
    for (let i = 0; i < n; i++) {
      await settledHolder(lab, VIP, 60_000);
      await sleep(1500);
      const instance = agents.plan.instances.find((x) => x.vips.includes(VIP))?.name;
      const marks = agents.marks();
      const added = others(count).map((o, k) => labService(o.name, o.vips, k + 1));
      const r = await churn(
        lab,
        count,
        () => agents.update([web, ...added]),
        () => agents.update([web]),
      );
      const changes = agents
        .logsSince(marks)
        .filter(({ line }) => line.msg === "vrrp state" && line.instance === instance).length;
      out.push({ ...r, changes });
      ctx.progress(
        `${config} trial ${i + 1}/${n}: ${r.ping.lost} lost, ${changes} state changes of ${instance ?? "?"}, added VIPs per node ${JSON.stringify(r.perNode)}`,
      );
    }
  } finally {
    await agents.stop();
  }
  return { config, trials: out };
}

function measures(config: string, original: boolean, r: ReloadTrial[]): Measure[] {
  return [
    measure(
      "lost pings",
      config,
      "pings",
      r.map((t) => t.ping.lost),
      original,
    ),
    measure(
      "longest gap between replies",
      config,
      "ms",
      r.map((t) => t.ping.maxGapMs),
      original,
    ),
    measure(
      "state changes of the pinged VIP's instance",
      config,
      "changes",
      r.map((t) => t.changes),
      original,
    ),
  ];
}

export const reload: BenchRow = {
  id: "reload",
  title: "Reload disruption",
  async run(ctx) {
    const lab = await ctx.lab();
    const n = ctx.trials(3, 1);
    const count = ctx.quick ? 20 : 100;
    const orig = await original(ctx, lab, n, count);
    const last = orig.at(-1);
    if (last !== undefined) ctx.facts.originalSpread = { vips: count, perNode: last.perNode };
    const o = await ours(ctx, lab, n, count);
    const all = [...measures("original", true, orig), ...measures(o.config, false, o.trials)];
    return {
      ran: `${n} trial(s) per configuration; ${count} Services added (each VIP up on a node), then removed (each gone), while the client pings one other VIP every 10 ms${ctx.quick ? " (quick run: 20 Services instead of 100)" : ""}`,
      measures: [...new Set(all.map((m) => m.what))].flatMap((w) => all.filter((m) => m.what === w)),
      notes: [
        "The original reloads keepalived (SIGHUP) on its one file with an instance per Service; ours writes a new plan file, which each agent renders, checks and loads.",
      ],
    };
  },
};
