// How far V8 may let the heap grow after a full GC, by how busy the controller is. Pure; the CLI applies it
// (cli/controller.ts). After each full GC V8 lets the old generation grow to a multiple of what survived; the
// garbage of reconciles of thousands of Services takes it there.
//
// - Steady (a change at a time): 1.5x. At 10,000 Services a tighter 1.3x cost 40 ms per change (apply → node
//   plan p50 116 → 159 ms, bench row 11, the same hour), for full GCs every few reconciles.
// - A burst (a pass that publishes many Services, e.g. 10,000 created at once): 1.3x. It kept the peak of such
//   a burst at 196-199 MiB resident instead of 211-223, with no change in how long the burst took.
import type { Action } from "./decide.js";

export const STEADY_HEAP_GROWING_PERCENT = 50;
export const BURST_HEAP_GROWING_PERCENT = 30;

/** A pass that writes at least this many Service statuses is part of a burst. */
export const BURST_STATUS_WRITES = 32;

/** V8's --heap-growing-percent for the passes after one that wrote `serviceStatusWrites` Service statuses. */
export function heapGrowingPercent(serviceStatusWrites: number): number {
  return serviceStatusWrites >= BURST_STATUS_WRITES
    ? BURST_HEAP_GROWING_PERCENT
    : STEADY_HEAP_GROWING_PERCENT;
}

/** Service status writes among a pass's actions. */
export function serviceStatusWrites(actions: readonly Action[]): number {
  let n = 0;
  for (const a of actions) if (a.kind === "applyStatus" && a.manifest.kind === "Service") n++;
  return n;
}
