// Row 4, propagation on the real control plane: a Service applied to kube-apiserver → its EXTERNAL-IP
// written by the controller → its VIP answering the client's ping, with the controller and one API-following
// agent per node namespace. Services one after another; a node's first VIP (its instance is created) apart
// from later ones (they join an instance that is already MASTER). The original's keepalived part (file
// rewritten + SIGHUP → the new instance's VIP answers) on the same testbed, for comparison.
import { holdersOf, type Lab } from "../../src/lab/netns.js";
import { labVip } from "../../src/lab/plans.js";
import { settledHolder } from "../../src/lab/failover.js";
import { waitFor } from "../../src/lab/wait.js";
import {
  apply,
  benchGroup,
  benchService,
  ensureNamespace,
  externalIP,
  startApiAgents,
  startController,
  stopAgents,
  type Cluster,
} from "../cluster.js";
import { OriginalDeployment, originalServices } from "../original.js";
import { measure } from "../report.js";
import type { BenchRow } from "../row.js";
import { clientArpRetry, firstReply, type BenchContext } from "../testbed.js";

const GROUP = "bench-propagation";
const NAMESPACE = "bench-propagation";
const POOL = "198.18.0.120-198.18.0.199";
const LATER = "apply → VIP answers, later VIPs";
const ORIGINAL = "original, keepalived part only (file + SIGHUP → answers)";

/** The original: each new Service is a new instance, every node starting as a backup. */
async function original(ctx: BenchContext, lab: Lab, n: number): Promise<number[]> {
  const d = new OriginalDeployment(lab, "propagation");
  const services = [{ name: "svc-0", vips: [labVip(1)] }];
  await d.start(originalServices(services));
  const out: number[] = [];
  try {
    await settledHolder(lab, labVip(1), 60_000);
    for (let i = 1; i <= n; i++) {
      const vip = labVip(1 + i);
      services.push({ name: `svc-${i}`, vips: [vip] });
      const t0 = Date.now();
      const replied = firstReply(lab, vip);
      await d.update(originalServices(services));
      out.push((await replied) - t0);
      ctx.progress(`original Service ${i}/${n}: answers after ${out.at(-1)} ms`);
    }
  } finally {
    await d.stop();
  }
  return out;
}

interface Propagation {
  ipMs: number;
  answerMs: number;
  first: boolean;
}

async function ours(ctx: BenchContext, cluster: Cluster, n: number): Promise<Propagation[]> {
  await ensureNamespace(cluster.admin, NAMESPACE);
  await apply(cluster.admin, benchGroup(GROUP, POOL));
  const controller = await startController(cluster, GROUP);
  const agents = await startApiAgents(cluster, GROUP);
  const out: Propagation[] = [];
  try {
    await waitFor(
      "the controller to lead",
      async () => ((await controller.leading()) ? true : undefined),
      60_000,
      100,
    );
    const nodesWithVips = new Set<string>();
    for (let i = 0; i < n; i++) {
      const name = `svc-${i}`;
      const t0 = Date.now();
      await apply(cluster.admin, benchService(NAMESPACE, name, GROUP));
      const ip = await waitFor(
        `${NAMESPACE}/${name}'s EXTERNAL-IP`,
        () => externalIP(cluster.admin, NAMESPACE, name),
        60_000,
        10,
      );
      const ipMs = Date.now() - t0;
      const answerMs = (await firstReply(cluster.lab, ip)) - t0;
      const [holder] = await holdersOf(cluster.lab, ip);
      const first = holder !== undefined && !nodesWithVips.has(holder);
      if (holder !== undefined) nodesWithVips.add(holder);
      out.push({ ipMs, answerMs, first });
      ctx.progress(
        `Service ${i + 1}/${n}: EXTERNAL-IP ${ip} after ${ipMs} ms, answers after ${answerMs} ms on ${holder ?? "?"}${first ? " (the node's first VIP)" : ""}`,
      );
    }
  } finally {
    await stopAgents(agents);
    await controller.kill();
  }
  return out;
}

export const propagation: BenchRow = {
  id: "propagation",
  title: "Propagation (real control plane)",
  async run(ctx) {
    const lab = await ctx.lab();
    const n = ctx.trials(24, 5);
    const originalN = ctx.trials(10, 2);
    await clientArpRetry(lab, 10);
    try {
      const orig = await original(ctx, lab, originalN);
      const cluster = await ctx.cluster();
      const r = await ours(ctx, cluster, n);
      const config = "ours, defaults";
      return {
        ran: `${n} Services applied one after another to kube-apiserver (address from the group's pool), the controller and 3 API-following agents running; the original's part: ${originalN} Services added to its file one after another`,
        measures: [
          measure(
            "apply → EXTERNAL-IP written",
            config,
            "ms",
            r.map((x) => x.ipMs),
          ),
          measure(
            "apply → VIP answers, first VIP of a node",
            config,
            "ms",
            r.filter((x) => x.first).map((x) => x.answerMs),
          ),
          measure(LATER, ORIGINAL, "ms", orig, true),
          measure(
            LATER,
            config,
            "ms",
            r.filter((x) => !x.first).map((x) => x.answerMs),
          ),
        ],
        notes: [
          "Answering: the first reply of a 10 ms ping from the client, started when the EXTERNAL-IP was seen; the client retries ARP every 10 ms meanwhile (the kernel's default is 1 s).",
          "The original's figure leaves out its controller and the kubelet's sync of the ConfigMap volume (up to about a minute); every VIP of the original is a new instance whose nodes all start as backups.",
        ],
      };
    } finally {
      await clientArpRetry(lab, 1000);
    }
  },
};
