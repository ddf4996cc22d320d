// The e2e tests' frame around a network lab: one lab per describe, agents on every node following one plan
// file (started for a test and always stopped), and the percentiles the tests print.
import { join } from "node:path";
import { after, before } from "node:test";
import type { KeepalivedGroupSpec } from "../../src/api/types.js";
import type { ServiceObject } from "../../src/core/objects.js";
import type { GroupPlan } from "../../src/core/plan.js";
import { startAgent, stopAgent, type AgentProcess } from "../../src/lab/agents.js";
import { createLab, type Lab } from "../../src/lab/netns.js";
import { labPlan, writePlan } from "../../src/lab/plans.js";

/** The lab of the enclosing describe: created before its first test, removed after its last. */
export function labSuite(nodeCount: number): { readonly lab: Lab } {
  let created: Lab | undefined;
  before(async () => {
    created = await createLab(nodeCount);
  });
  after(async () => {
    await created?.cleanup();
  });
  return {
    get lab(): Lab {
      if (created === undefined) throw new Error("the suite's lab exists only while its tests run");
      return created;
    },
  };
}

/** One agent per node, all following the plan in `planFile`. */
export interface PlanAgents {
  lab: Lab;
  planFile: string;
  plan: GroupPlan;
  agents: Map<string, AgentProcess>;
}

/** Writes the lab group's plan for `services` and starts an agent on every node. */
export async function startAgents(
  lab: Lab,
  services: ServiceObject[],
  spec: KeepalivedGroupSpec = {},
): Promise<PlanAgents> {
  const planFile = join(lab.dir, "plan.json");
  const plan = labPlan(lab, services, spec);
  await writePlan(planFile, plan);
  const agents = new Map(lab.nodes.map((n) => [n.name, startAgent(lab, n, planFile)]));
  return { lab, planFile, plan, agents };
}

export async function stopAgents(r: PlanAgents): Promise<void> {
  await Promise.all([...r.agents.values()].map((a) => stopAgent(a)));
}

/** Runs `body` with agents started for `services`; stops them however it ends. */
export async function withAgents(
  lab: Lab,
  services: ServiceObject[],
  spec: KeepalivedGroupSpec,
  body: (r: PlanAgents) => Promise<void>,
): Promise<void> {
  const r = await startAgents(lab, services, spec);
  try {
    await body(r);
  } finally {
    await stopAgents(r);
  }
}

/** The p-th percentile (nearest rank) of `values`; NaN when there are none. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}
