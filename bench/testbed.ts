// What the rows share: the run's settings and progress lines, one network lab (3 nodes, a client, a bridge)
// and one control plane, each made when a row first needs it and removed at the end; agents following a
// plan file; the timing profiles of the API; a sampler of who holds a VIP.
import { execFile, spawn } from "node:child_process";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import type { KeepalivedGroupSpec } from "../src/api/types.js";
import type { ServiceObject } from "../src/core/objects.js";
import type { GroupPlan } from "../src/core/plan.js";
import { startAgent, stopAgent, type AgentProcess } from "../src/lab/agents.js";
import { createLab, holdersOf, NODE_IFACE, type Lab } from "../src/lab/netns.js";
import { labPlan, writePlan } from "../src/lab/plans.js";
import { repoRoot } from "../src/lab/processes.js";
import { statesSince, type StateEntry } from "../src/lab/vrrpHistory.js";
import { sleep } from "../src/lab/wait.js";
import { startCluster, type Cluster } from "./cluster.js";

const execFileP = promisify(execFile);

export interface BenchContext {
  quick: boolean;
  /** The row's number of trials: --trials, else the quick or the full count. */
  trials(full: number, quick: number): number;
  /** How long a duration-based row runs, in seconds: --seconds, else the quick or the full duration. */
  seconds(full: number, quick: number): number;
  /** A progress line on stderr, prefixed with the row. */
  progress(line: string): void;
  lab(): Promise<Lab>;
  cluster(): Promise<Cluster>;
  /** Figures one row leaves for another (row 5's measured placement of the original, for row 6). */
  facts: { originalSpread?: { vips: number; perNode: Record<string, number> } };
}

export class Testbed {
  private labPromise: Promise<Lab> | undefined;
  private clusterPromise: Promise<Cluster> | undefined;
  readonly facts: BenchContext["facts"] = {};

  constructor(
    readonly quick: boolean,
    private readonly trialsOverride: number | undefined,
    private readonly secondsOverride?: number,
  ) {}

  context(row: string): BenchContext {
    return {
      quick: this.quick,
      trials: (full, quick) => this.trialsOverride ?? (this.quick ? quick : full),
      seconds: (full, quick) => this.secondsOverride ?? (this.quick ? quick : full),
      progress: (line) => process.stderr.write(`[${row}] ${line}\n`),
      lab: () => (this.labPromise ??= createLab(3)),
      cluster: async () => (this.clusterPromise ??= startCluster(await (this.labPromise ??= createLab(3)))),
      facts: this.facts,
    };
  }

  async cleanup(): Promise<void> {
    const cluster = await this.clusterPromise?.catch(() => undefined);
    await cluster?.stop();
    const lab = await this.labPromise?.catch(() => undefined);
    await lab?.cleanup();
  }
}

/** One of our configurations: a name for the table and the group spec that makes it. */
export interface OurConfig {
  name: string;
  spec: KeepalivedGroupSpec;
}

type Timing = NonNullable<NonNullable<KeepalivedGroupSpec["vrrp"]>["timing"]>;

/**
 * The timing profiles the API offers: the enum of spec.vrrp.timing in deploy/crds, so that a profile added
 * there is benchmarked without a change here.
 */
export async function timingProfiles(): Promise<Timing[]> {
  const dir = join(repoRoot(), "deploy", "crds");
  for (const file of (await readdir(dir)).filter((f) => f.endsWith(".yaml")).sort()) {
    for (const doc of parseAllDocuments(await readFile(join(dir, file), "utf8"))) {
      const crd = doc.toJS() as {
        spec?: { versions?: { schema?: { openAPIV3Schema?: Schema } }[] };
      } | null;
      for (const v of crd?.spec?.versions ?? []) {
        const timing = v.schema?.openAPIV3Schema?.properties?.spec?.properties?.vrrp?.properties?.timing;
        if (timing?.enum !== undefined) return timing.enum.map((t) => String(t) as Timing);
      }
    }
  }
  throw new Error("deploy/crds has no enum for spec.vrrp.timing: cannot list the timing profiles");
}

interface Schema {
  enum?: unknown[];
  properties?: Record<string, Schema | undefined>;
}

/** Our configuration for each timing profile, then ours with no spec.vrrp (what a group gets by default). */
export async function ourProfiles(): Promise<OurConfig[]> {
  return (await timingProfiles()).map((t) => ({ name: `ours, ${t}`, spec: { vrrp: { timing: t } } }));
}

export const OUR_DEFAULTS: OurConfig = { name: "ours, defaults", spec: {} };

/** A config's name with its advert interval, as the planner sets it. */
export function configLabel(lab: Lab, config: OurConfig, services: ServiceObject[]): string {
  const ms = labPlan(lab, services, config.spec).group.vrrp.advertIntervalMs;
  return `${config.name} (${ms} ms adverts)`;
}

/** Our agents on every node of the lab, following one plan file (no API server). */
export class PlanAgents {
  readonly agents = new Map<string, AgentProcess>();
  plan: GroupPlan;

  private constructor(
    readonly lab: Lab,
    readonly planFile: string,
    readonly spec: KeepalivedGroupSpec,
    services: ServiceObject[],
  ) {
    this.plan = labPlan(lab, services, spec);
  }

  static async start(
    lab: Lab,
    name: string,
    services: ServiceObject[],
    spec: KeepalivedGroupSpec,
  ): Promise<PlanAgents> {
    const file = `plan-${name.replace(/[^A-Za-z0-9-]+/g, "-")}.json`;
    const a = new PlanAgents(lab, join(lab.dir, file), spec, services);
    await writePlan(a.planFile, a.plan);
    for (const n of lab.nodes) a.agents.set(n.name, startAgent(lab, n, a.planFile));
    return a;
  }

  /** A new plan for `services`, keeping the VIPs where they are (as the controller does). */
  async update(services: ServiceObject[]): Promise<void> {
    this.plan = labPlan(this.lab, services, this.spec, this.plan);
    await writePlan(this.planFile, this.plan);
  }

  on(node: string): AgentProcess {
    const a = this.agents.get(node);
    if (a === undefined) throw new Error(`no agent on ${node}`);
    return a;
  }

  /** Starts the node's agent again (as a DaemonSet starts a new pod). */
  restart(node: string): AgentProcess {
    const n = this.lab.nodes.find((x) => x.name === node);
    if (n === undefined) throw new Error(`no node ${node}`);
    const a = startAgent(this.lab, n, this.planFile);
    this.agents.set(node, a);
    return a;
  }

  /**
   * SIGKILL of the agent and its keepalived, as a crash: nothing is cleaned up. keepalived's VRRP child
   * first: it gets SIGTERM when its parent dies, and would remove its VIPs.
   */
  async kill(node: string): Promise<void> {
    const a = this.on(node);
    const pids = await Promise.all(
      ["vrrp.pid", "keepalived.pid"].map(async (f) =>
        Number((await readFile(join(a.stateDir, f), "utf8").catch(() => "")).trim()),
      ),
    );
    for (const pid of [...pids, a.child.pid]) {
      if (pid === undefined || !(pid > 0)) continue;
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    await a.exited;
  }

  /** Log lines of every agent from `marks` (lengths taken earlier) on. */
  logsSince(marks: Map<string, number>): { node: string; line: Record<string, unknown> }[] {
    return [...this.agents].flatMap(([node, a]) =>
      a.logs.slice(marks.get(node) ?? 0).map((line) => ({ node, line })),
    );
  }

  marks(): Map<string, number> {
    return new Map([...this.agents].map(([n, a]) => [n, a.logs.length]));
  }

  /** Every VRRP state entered on every node since `marks` (from each agent's log of the notify FIFO). */
  statesSince(marks: ReadonlyMap<string, number>): StateEntry[] {
    return statesSince(this.agents, marks);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => stopAgent(a)));
  }
}

export interface HolderSample {
  at: number;
  holders: string[];
}

/** Samples which nodes hold `vip` every `everyMs` until stop(). */
export function sampleHolders(lab: Lab, vip: string, everyMs = 10): { stop: () => Promise<HolderSample[]> } {
  let running = true;
  const samples: HolderSample[] = [];
  const loop = (async () => {
    while (running) {
      const at = Date.now();
      samples.push({ at, holders: await holdersOf(lab, vip) });
      await sleep(Math.max(0, everyMs - (Date.now() - at)));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return samples;
    },
  };
}

/** Total time during which consecutive samples saw `vip` on two or more nodes, in ms. */
export function dualHolderMs(samples: readonly HolderSample[]): number {
  let total = 0;
  for (let i = 1; i < samples.length; i++) {
    const [a, b] = [samples[i - 1], samples[i]];
    if (a !== undefined && b !== undefined && a.holders.length > 1 && b.holders.length > 1)
      total += b.at - a.at;
  }
  return total;
}

/** Resolves with the time of the first reply of a 10 ms ping from the client; rejects after `timeoutMs`. */
export function firstReply(lab: Lab, vip: string, timeoutMs = 30_000): Promise<number> {
  const child = spawn("ip", ["netns", "exec", lab.clientNs, "ping", "-n", "-i", "0.01", "-W", "1", vip], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`no ping reply from ${vip} within ${timeoutMs} ms`));
    }, timeoutMs);
    createInterface({ input: child.stdout }).on("line", (line) => {
      if (!line.includes("bytes from")) return;
      const at = Date.now();
      clearTimeout(timer);
      child.kill("SIGKILL");
      resolve(at);
    });
  });
}

/**
 * The client's ARP retry interval (ms; the kernel's default is 1000): short while a row times how soon a
 * new VIP answers, so that the figure is not rounded up to the client's next ARP attempt.
 */
export async function clientArpRetry(lab: Lab, ms: number): Promise<void> {
  await execFileP("ip", [
    ...["netns", "exec", lab.clientNs, "sysctl", "-q", "-w"],
    `net.ipv4.neigh.${NODE_IFACE}.retrans_time_ms=${ms}`,
  ]);
}

/** Forgets every neighbour (ARP/NDP) entry of the client, so that no entry of an earlier VIP holder is used. */
export async function flushClientNeighbours(lab: Lab): Promise<void> {
  await execFileP("ip", ["-n", lab.clientNs, "neigh", "flush", "dev", NODE_IFACE]);
}
