// The timing profiles the benchmarks compare, named as on the command line: a spec.vrrp.timing value
// (Default, Fast, Fastest) or a bare advert interval such as 30ms (spec.vrrp.advertIntervalMilliseconds),
// either with +rt or -rt to force keepalived's real-time scheduling on or off.
import type { KeepalivedGroupSpec } from "../src/api/types.js";
import type { GroupPlan } from "../src/core/plan.js";

export interface BenchProfile {
  name: string;
  spec: KeepalivedGroupSpec;
  /** Real-time scheduling forced on (+rt) or off (-rt) instead of what the profile chooses. */
  realtime?: boolean;
}

const TIMINGS = ["Default", "Fast", "Fastest"] as const;

function baseProfile(name: string, base: string): BenchProfile {
  const timing = TIMINGS.find((t) => t === base);
  if (timing !== undefined) return { name, spec: { vrrp: { timing } } };
  const ms = /^(\d+)ms$/.exec(base);
  if (ms !== null) return { name, spec: { vrrp: { advertIntervalMilliseconds: Number(ms[1]) } } };
  throw new Error(
    `unknown profile ${JSON.stringify(name)}: use ${TIMINGS.join(", ")} or an interval like 30ms, optionally +rt or -rt`,
  );
}

export function benchProfile(name: string): BenchProfile {
  const rt = /[+-]rt$/.exec(name)?.[0];
  const profile = baseProfile(name, rt === undefined ? name : name.slice(0, -3));
  if (rt !== undefined) profile.realtime = rt === "+rt";
  return profile;
}

/** The profile's plan as the benchmark runs it: real-time scheduling as forced, if it is. */
export function benchPlan(plan: GroupPlan, profile: BenchProfile): GroupPlan {
  if (profile.realtime === undefined) return plan;
  const vrrp = { ...plan.group.vrrp, realtimeScheduling: profile.realtime };
  return { ...plan, group: { ...plan.group, vrrp } };
}

/** Profiles named in a comma-separated argument, or the offered ones. */
export function benchProfiles(arg: string | undefined): BenchProfile[] {
  return (arg ?? TIMINGS.join(",")).split(",").map(benchProfile);
}

/** The p-th percentile (nearest rank) of `values`; NaN when there are none. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** One table row, columns right-aligned. */
export function row(cells: (string | number)[], width = 9): string {
  return cells.map((c) => String(c).padStart(width)).join(" ");
}
