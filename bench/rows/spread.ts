// Row 6, spread: the most VIPs on one node for 100 single-VIP Services on 3 and on 5 nodes. Ours from the
// planner; the original measured on the testbed: its file with 100 instances, keepalived started on every
// node at once, and one node after another 1 s apart (as a DaemonSet's pods start, seconds apart), each VIP
// counted where it settled. With priority 100 everywhere, an instance goes to the node whose timer runs out
// first and stays there.
import type { NodeObject } from "../../src/core/objects.js";
import { planCluster } from "../../src/core/plan.js";
import { createLab, NODE_IP, vipHolders, type Lab } from "../../src/lab/netns.js";
import { labGroup, labService, labVip } from "../../src/lab/plans.js";
import { waitFor } from "../../src/lab/wait.js";
import { OriginalDeployment, originalServices } from "../original.js";
import { measure, type Measure } from "../report.js";
import type { BenchRow } from "../row.js";
import type { BenchContext } from "../testbed.js";

const VIPS = 100;
const STAGGER_MS = 1000;
const vips = Array.from({ length: VIPS }, (_, i) => labVip(i));

function nodes(count: number): NodeObject[] {
  return Array.from({ length: count }, (_, i) => ({
    metadata: { name: `node-${i + 1}`, labels: {} },
    status: { addresses: [{ type: "InternalIP", address: NODE_IP(i) }] },
  }));
}

type PerNode = Record<string, number>;

/** VIPs per node, as the planner places 100 Services of one VIP each. */
function plannedSpread(nodeCount: number): PerNode {
  const services = vips.map((v, i) => labService(`svc-${i}`, [v], i));
  const plan = planCluster({ groups: [labGroup()], services, nodes: nodes(nodeCount) });
  const perNode: PerNode = {};
  for (const node of Object.values(plan.groups[0]?.placement ?? {})) perNode[node] = (perNode[node] ?? 0) + 1;
  return perNode;
}

/** The original's 100 instances started on every node of `lab`; VIPs per node once each is on one. */
async function originalSpread(lab: Lab, staggerMs: number): Promise<PerNode> {
  const d = new OriginalDeployment(lab, "spread");
  try {
    await d.start(originalServices(vips.map((v, i) => ({ name: `svc-${i}`, vips: [v] }))), staggerMs);
    const held = await waitFor(
      `the original's ${VIPS} VIPs each on one node`,
      async () => {
        const h = await vipHolders(lab, vips);
        return [...h.values()].every((x) => x.length === 1) ? h : undefined;
      },
      120_000,
      200,
    );
    const perNode: PerNode = {};
    for (const [, [node]] of held) if (node !== undefined) perNode[node] = (perNode[node] ?? 0) + 1;
    return perNode;
  } finally {
    await d.stop();
  }
}

function perNodeText(perNode: PerNode): string {
  return Object.entries(perNode)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([n, c]) => `${n} ${c}`)
    .join(", ");
}

interface OriginalStarts {
  atOnce: PerNode[];
  staggered: PerNode[];
}

async function measureOriginal(ctx: BenchContext, count: number, trials: number): Promise<OriginalStarts> {
  const lab = count === 3 ? await ctx.lab() : await createLab(count);
  const out: OriginalStarts = { atOnce: [], staggered: [] };
  try {
    for (let i = 0; i < trials; i++) {
      out.atOnce.push(await originalSpread(lab, 0));
      out.staggered.push(await originalSpread(lab, STAGGER_MS));
      ctx.progress(
        `original on ${count} nodes, start ${i + 1}/${trials}: at once ${perNodeText(out.atOnce.at(-1) ?? {})}; ${STAGGER_MS} ms apart ${perNodeText(out.staggered.at(-1) ?? {})}`,
      );
    }
  } finally {
    if (count !== 3) await lab.cleanup();
  }
  return out;
}

const most = (p: PerNode): number => Math.max(...Object.values(p));

export const spread: BenchRow = {
  id: "spread",
  title: "Spread of 100 VIPs",
  async run(ctx) {
    const trials = ctx.trials(3, 1);
    const measures: Measure[] = [];
    const notes: string[] = [];
    for (const count of [3, 5]) {
      const what = `most VIPs on one node, ${count} nodes`;
      const orig = await measureOriginal(ctx, count, trials);
      const planned = plannedSpread(count);
      measures.push(measure(what, "original, pods started at once", "VIPs", orig.atOnce.map(most), true));
      measures.push(
        measure(
          what,
          `original, pods started ${STAGGER_MS / 1000} s apart`,
          "VIPs",
          orig.staggered.map(most),
          true,
        ),
      );
      measures.push(measure(what, "ours (planner)", "VIPs", [most(planned)]));
      notes.push(
        `${count} nodes: ours ${perNodeText(planned)} (an even share is ${Math.ceil(VIPS / count)}); the original started at once ${orig.atOnce.map(perNodeText).join("; ")}; ${STAGGER_MS / 1000} s apart ${orig.staggered.map(perNodeText).join("; ")}.`,
      );
    }
    const seen = ctx.facts.originalSpread;
    if (seen !== undefined)
      notes.push(
        `When instances are added to a running original by a reload instead (row 5, ${seen.vips} VIPs), all nodes race for each: ${perNodeText(seen.perNode)}. Either way nothing keeps the spread: after a failover all of a node's VIPs move together.`,
      );
    return {
      ran: `${VIPS} Services with one VIP each. Ours: placed by planCluster (one plan per node count). The original: its file with ${VIPS} instances, plain keepalived started on every node at once and ${STAGGER_MS / 1000} s apart, ${trials} start(s) each per node count`,
      measures,
      notes,
    };
  },
};
