// Row 9, a new Service's VIP: Services added one at a time to a running group (the plan file rewritten as the
// controller would), each new VIP timed from the write to the client's first ping answer, and every VRRP
// state change on every node counted meanwhile (no births: a new VIP joins an instance that already runs, so
// zero). Per timing profile of ours; the original's configuration (a new vrrp_instance per Service in the
// file of every node, then SIGHUP) as the baseline.
import { ip, NODE_IFACE, nodeAddresses, type Lab } from "../../src/lab/netns.js";
import { labService, labVip } from "../../src/lab/plans.js";
import { settledHolder } from "../../src/lab/failover.js";
import { sleep, waitFor } from "../../src/lab/wait.js";
import { OriginalDeployment, originalServices } from "../original.js";
import { measure, type Measure } from "../report.js";
import type { BenchRow } from "../row.js";
import {
  clientArpRetry,
  configLabel,
  firstReply,
  flushClientNeighbours,
  ourProfiles,
  PlanAgents,
  type BenchContext,
} from "../testbed.js";

const ANSWERS = "write → new VIP answers";
const CHANGES = "VRRP state changes per Service added (every node, every instance)";
const ELSEWHERE = "VRRP state changes per Service added, of instances that ran before";
/** The added Services' VIPs: labVip(FIRST), labVip(FIRST + 1), … (the lab's range ends at labVip(304)). */
const FIRST = 110;
const MAX_SERVICES = 190;

/** One Service added: how soon its VIP answered, and the state changes until the next was added. */
interface Added {
  answerMs: number;
  changes: number;
  elsewhere: number;
}

interface Config {
  config: string;
  original: boolean;
  added: Added[];
}

/** A state change as both histories have it. */
interface Change {
  instance: string;
}

/** Where a history stands now: the function reads what came after. */
type Mark = () => () => Change[];

/**
 * Adds `count` Services one after another with `add(n)` (the first n are present); `before(n)` names the
 * instances that ran before the n-th was added. State changes from one write to the next count for the
 * Service written.
 */
async function addOneByOne(
  ctx: BenchContext,
  lab: Lab,
  config: string,
  count: number,
  add: (n: number) => Promise<void>,
  mark: Mark,
  before: (n: number) => Set<string>,
): Promise<Added[]> {
  const out: Added[] = [];
  let close = (): void => undefined;
  for (let n = 1; n <= count; n++) {
    const vip = labVip(FIRST + n - 1);
    const running = before(n);
    close();
    const since = mark();
    const replied = firstReply(lab, vip);
    // Handled here too: should the write fail, the ping's own timeout must not end the process later.
    replied.catch(() => undefined);
    const t0 = Date.now();
    await add(n);
    const added: Added = { answerMs: (await replied) - t0, changes: 0, elsewhere: 0 };
    out.push(added);
    close = () => {
      const seen = since();
      added.changes = seen.length;
      added.elsewhere = seen.filter((c) => running.has(c.instance)).length;
    };
    ctx.progress(`${config} Service ${n}/${count}: ${vip} answers after ${added.answerMs} ms`);
  }
  // Late state changes still count, for the last Service.
  await sleep(1000);
  close();
  return out;
}

async function original(ctx: BenchContext, lab: Lab, count: number): Promise<Config> {
  const d = new OriginalDeployment(lab, "new-vip");
  // keepalived needs an instance to start with: a Service already there, as in a running cluster.
  const seed = { name: "seed", vips: [labVip(FIRST + MAX_SERVICES)] };
  const services = [
    seed,
    ...Array.from({ length: count }, (_, i) => ({ name: `new-${i}`, vips: [labVip(FIRST + i)] })),
  ];
  await d.start(originalServices([seed]));
  try {
    await settledHolder(lab, labVip(FIRST + MAX_SERVICES), 60_000);
    await sleep(1000);
    const names = (n: number): Set<string> =>
      new Set(originalServices(services.slice(0, n)).map((s) => `${s.namespace}/${s.name}`));
    const added = await addOneByOne(
      ctx,
      lab,
      "original",
      count,
      (n) => d.update(originalServices(services.slice(0, n + 1))),
      () => {
        const from = d.changes().length;
        return () => d.changes().slice(from);
      },
      names,
    );
    return { config: "original", original: true, added };
  } finally {
    await d.stop();
  }
}

async function ours(ctx: BenchContext, lab: Lab, count: number): Promise<Config[]> {
  const services = Array.from({ length: count }, (_, i) => labService(`new-${i}`, [labVip(FIRST + i)], i));
  const out: Config[] = [];
  for (const profile of await ourProfiles()) {
    const config = configLabel(lab, profile, []);
    await flushClientNeighbours(lab);
    const agents = await PlanAgents.start(lab, `new-vip-${profile.name}`, [], profile.spec);
    try {
      // Settled: every instance's anchor on its preferred node, and nothing else.
      await waitFor("every anchor on its preferred node", async () => {
        const held = await Promise.all(lab.nodes.map(async (n) => [n.name, await nodeAddresses(n)] as const));
        return agents.plan.instances.every((i) =>
          held.every(([n, a]) => a.includes(i.anchor) === (n === i.priorities[0]?.node)),
        )
          ? true
          : undefined;
      });
      await sleep(1000);
      const added = await addOneByOne(
        ctx,
        lab,
        config,
        count,
        (n) => agents.update(services.slice(0, n)),
        () => {
          const marks = agents.marks();
          return () => agents.statesSince(marks);
        },
        () => new Set(agents.plan.instances.map((i) => i.name)),
      );
      out.push({ config, original: false, added });
    } finally {
      await agents.stop();
    }
  }
  return out;
}

function measures(all: Config[]): Measure[] {
  const quantities: [string, string, (a: Added) => number][] = [
    [ANSWERS, "ms", (a) => a.answerMs],
    [CHANGES, "changes", (a) => a.changes],
    [ELSEWHERE, "changes", (a) => a.elsewhere],
  ];
  return quantities.flatMap(([what, unit, value]) =>
    all.map((c) => measure(what, c.config, unit, c.added.map(value), c.original)),
  );
}

export const newVip: BenchRow = {
  id: "new-vip",
  title: "New Service's VIP",
  async run(ctx) {
    const lab = await ctx.lab();
    const count = ctx.trials(20, 3);
    const originalCount = ctx.trials(10, 2);
    if (count > MAX_SERVICES)
      throw new Error(
        `--trials ${count}: the new-vip row adds at most ${MAX_SERVICES} Services (the lab's VIP range)`,
      );
    await clientArpRetry(lab, 10);
    // The added VIPs are labVip(110) and up, in 198.18.1.0/24: the client reaches them on the link, as the
    // nodes' VIPs (/32 on eth0) answer ARP for them; its own address is in 198.18.0.0/24 only.
    await ip("-n", lab.clientNs, "route", "replace", "198.18.1.0/24", "dev", NODE_IFACE);
    try {
      await flushClientNeighbours(lab);
      const all = [await original(ctx, lab, originalCount), ...(await ours(ctx, lab, count))];
      return {
        ran: `Services of one VIP each added one after another to a running group on 3 nodes (ours: ${count} per timing profile, agents following a plan file; the original: ${originalCount}, its file rewritten and every keepalived reloaded); each timed from the write to the first reply of the client's 10 ms ping, started just before the write`,
        measures: measures(all),
        notes: [
          "The client retries ARP every 10 ms meanwhile (the kernel's default is 1 s), and its neighbour table is flushed before each configuration, so a figure is not an ARP retry or a stale entry.",
          "State changes: every VRRP state entered on any node from one Service's write to the next (1 s after the last answer for the last). The original's include its new instance's birth (every node enters BACKUP, then one MASTER); ours add no instance: every node's instances run, MASTER on their preferred node, before a VIP joins them.",
        ],
      };
    } finally {
      await clientArpRetry(lab, 1000);
    }
  },
};
