// Which of a node's VRRP instances keepalived refuses, so that one bad instance never keeps the others from
// being loaded. Pure: the config test arrives as a function (candidate.ts runs the real one).
import type { PlanInstanceV1 } from "../api/plan.js";
import { healthScriptName } from "../render/keepalivedConf.js";

/** Runs `keepalived --config-test` on the node's config with only these instances; returns its problems. */
export type SubsetTest = (instances: readonly string[]) => Promise<string[]>;

export interface RefusedInstance {
  instance: string;
  /** `namespace/name` of the Services whose VIPs the instance carries. */
  services: string[];
  /** What keepalived said about it. */
  problems: string[];
}

export interface Isolation {
  /** Instances that load together, in the order given. */
  kept: string[];
  /** Refused instance → the problems keepalived reported when it was added to the kept ones. */
  refused: Map<string, string[]>;
  /** The config with no instance at all fails: the group's own settings are at fault, nothing loads. */
  global?: string[];
  /** Config tests run. */
  tests: number;
}

/** 1-based line of the rendered config → the instance whose block (or health script) it belongs to. */
export function instanceOfLine(text: string, instances: readonly PlanInstanceV1[]): Map<number, string> {
  const byScript = new Map(instances.map((i) => [healthScriptName(i), i.name]));
  const out = new Map<number, string>();
  let owner: string | undefined;
  for (const [index, line] of text.split("\n").entries()) {
    const head = /^vrrp_(instance|script) (\S+) \{$/.exec(line);
    if (head !== null) owner = head[1] === "instance" ? head[2] : byScript.get(head[2] ?? "");
    if (owner !== undefined) out.set(index + 1, owner);
    if (line === "}") owner = undefined;
  }
  return out;
}

/**
 * The instances keepalived's problem lines point at: by the line number it quotes (`(file: Line 12)`) or by
 * the instance name it quotes (`(name)`, `vrrp_instance name `). A guess that isolateInstances verifies.
 */
export function suspectInstances(
  problems: readonly string[],
  text: string,
  instances: readonly PlanInstanceV1[],
): Set<string> {
  const lines = instanceOfLine(text, instances);
  const suspects = new Set<string>();
  for (const p of problems) {
    const line = /: Line (\d+)\)/.exec(p);
    const byLine = line === null ? undefined : lines.get(Number(line[1]));
    if (byLine !== undefined) suspects.add(byLine);
    for (const i of instances)
      if (p.includes(`(${i.name})`) || p.includes(`vrrp_instance ${i.name} `)) suspects.add(i.name);
  }
  return suspects;
}

/**
 * After the whole config failed its test: the largest set of instances that loads, grown in the given order
 * (the plan's, oldest Service first), the unsuspected ones first, halving any batch that fails; each refused
 * instance keeps the problems keepalived gave for it. About (refused × log₂ instances) tests.
 */
export async function isolateInstances(
  all: readonly string[],
  suspects: ReadonlySet<string>,
  test: SubsetTest,
): Promise<Isolation> {
  let tests = 0;
  const run = (names: readonly string[]): Promise<string[]> => {
    tests++;
    return test(names);
  };
  const global = await run([]);
  if (global.length > 0) return { kept: [], refused: new Map(), global, tests };
  const kept = new Set<string>();
  const refused = new Map<string, string[]>();
  const inOrder = (names: Iterable<string>): string[] => {
    const set = new Set(names);
    return all.filter((n) => set.has(n));
  };
  const grow = async (batch: readonly string[]): Promise<void> => {
    if (batch.length === 0) return;
    const problems = await run(inOrder([...kept, ...batch]));
    if (problems.length === 0) {
      for (const n of batch) kept.add(n);
    } else if (batch.length === 1) {
      refused.set(batch[0] ?? "", problems);
    } else {
      const half = Math.ceil(batch.length / 2);
      await grow(batch.slice(0, half));
      await grow(batch.slice(half));
    }
  };
  await grow(all.filter((n) => !suspects.has(n)));
  for (const n of all.filter((s) => suspects.has(s))) await grow([n]);
  return { kept: inOrder(kept), refused, tests };
}

/** Between two applied plans: instances refused anew or for another reason, and those no longer refused. */
export function refusedChanges(
  before: readonly RefusedInstance[],
  after: readonly RefusedInstance[],
): { refused: RefusedInstance[]; cleared: string[] } {
  const reasons = new Map(before.map((r) => [r.instance, r.problems.join("; ")]));
  const still = new Set(after.map((r) => r.instance));
  return {
    refused: after.filter((r) => reasons.get(r.instance) !== r.problems.join("; ")),
    cleared: before.filter((r) => !still.has(r.instance)).map((r) => r.instance),
  };
}
