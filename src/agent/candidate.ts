// A plan → the keepalived.conf this node can load: rendered, checked with keepalived --config-test, and when
// keepalived refuses it, narrowed to the instances it accepts (isolate.ts), so one bad Service never freezes
// the group. The refused instances are returned for the metrics and the Lease, and logged when they change.
import type { PlanV1 } from "../api/plan.js";
import type { Logger } from "../lib/log.js";
import { renderKeepalivedConf, type NodeContext } from "../render/keepalivedConf.js";
import { instancesForNode } from "../render/membership.js";
import { writeFileAtomic } from "./files.js";
import { isolateInstances, refusedChanges, suspectInstances, type RefusedInstance } from "./isolate.js";

/** Runs keepalived's config test on a file; returns its problems (none: accepted). */
export type FileTest = (path: string) => Promise<string[]>;

export type CheckedConfig =
  | {
      ok: true;
      /** The plan without the refused instances: what keepalived runs. */
      plan: PlanV1;
      text: string;
      refused: RefusedInstance[];
      /** Config tests run (1 when the whole config passed). */
      tests: number;
    }
  | {
      ok: false;
      reason: string;
      /** When keepalived refused every instance of the node, each of them. */
      refused?: RefusedInstance[];
    };

/** The plan with only those of its instances that are not in `drop`. Pure. */
export function withoutInstances(plan: PlanV1, drop: ReadonlySet<string>): PlanV1 {
  return drop.size === 0 ? plan : { ...plan, instances: plan.instances.filter((i) => !drop.has(i.name)) };
}

export async function checkedConfig(
  plan: PlanV1,
  ctx: NodeContext,
  candidatePath: string,
  test: FileTest,
): Promise<CheckedConfig> {
  const render = (p: PlanV1): string => renderKeepalivedConf(p, ctx);
  const testText = async (text: string): Promise<string[]> => {
    await writeFileAtomic(candidatePath, text);
    return test(candidatePath);
  };
  let text: string;
  try {
    text = render(plan);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const problems = await testText(text);
  if (problems.length === 0) return { ok: true, plan, text, refused: [], tests: 1 };
  const mine = instancesForNode(plan, ctx.node);
  const names = mine.map((i) => i.name);
  const isolation = await isolateInstances(names, suspectInstances(problems, text, mine), (subset) => {
    const keep = new Set(subset);
    return testText(render(withoutInstances(plan, new Set(names.filter((n) => !keep.has(n))))));
  });
  if (isolation.global !== undefined)
    return {
      ok: false,
      reason: `keepalived --config-test, even without any vrrp_instance: ${isolation.global.join("; ")}`,
    };
  const effective = withoutInstances(plan, new Set(isolation.refused.keys()));
  const refused = mine
    .filter((i) => isolation.refused.has(i.name))
    .map((i) => ({ instance: i.name, services: i.services, problems: isolation.refused.get(i.name) ?? [] }));
  // A fault every instance shares is most likely the group's: keep the last good config rather than none.
  if (isolation.kept.length === 0)
    return {
      ok: false,
      reason: `keepalived --config-test refuses every vrrp_instance of this node: ${refused.map((r) => `${r.instance}: ${r.problems.join("; ")}`).join(" | ")}`,
      refused,
    };
  return { ok: true, plan: effective, text: render(effective), refused, tests: 1 + isolation.tests };
}

/** One log line per instance newly refused (or refused for a new reason), one per instance that loads again. */
export function logRefusedChanges(
  log: Logger,
  group: string,
  before: readonly RefusedInstance[],
  after: readonly RefusedInstance[],
): void {
  const changes = refusedChanges(before, after);
  for (const r of changes.refused)
    log.error("vrrp_instance refused by keepalived --config-test; this node runs its other instances", {
      group,
      instance: r.instance,
      services: r.services.join(" "),
      reason: r.problems.join("; "),
    });
  for (const instance of changes.cleared) log.info("vrrp_instance no longer refused", { group, instance });
}
