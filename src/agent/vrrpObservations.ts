// What the agent knows of keepalived's VRRP instances: states from the notify FIFO, counters from the JSON
// dump, and from both the failover figure (last sign of a live peer MASTER → this node MASTER). No I/O.
import type { PlanInstanceV1 } from "../api/plan.js";
import { FAILOVER_BUCKETS, Histogram, type VipState } from "./metrics.js";
import { STATE_NUMBER, type VrrpEvent, type VrrpState } from "./notify.js";
import type { InstanceStats } from "./stats.js";

const STATE_OF_NUMBER = new Map<number, VrrpState>([
  [STATE_NUMBER.BACKUP, "BACKUP"],
  [STATE_NUMBER.MASTER, "MASTER"],
  [STATE_NUMBER.FAULT, "FAULT"],
]);

export class VrrpObservations {
  readonly states = new Map<string, VrrpState>();
  readonly failover = new Histogram(FAILOVER_BUCKETS);
  /** The last JSON dump's figures. */
  stats: InstanceStats[] = [];
  /** Last time a sample showed the instance, in BACKUP, receiving adverts from a live MASTER. */
  private readonly peerSeenAt = new Map<string, number>();
  private readonly advertsSeen = new Map<string, number>();

  /** A notification; returns the state before it. */
  notified(e: VrrpEvent, nowMs: number): VrrpState | undefined {
    const previous = this.states.get(e.name);
    this.states.set(e.name, e.state);
    const seen = this.peerSeenAt.get(e.name);
    if (e.state === "MASTER" && previous === "BACKUP" && seen !== undefined) {
      this.failover.observe((nowMs - seen) / 1000);
      this.peerSeenAt.delete(e.name);
    }
    return previous;
  }

  sampled(stats: InstanceStats[], nowMs: number): void {
    this.stats = stats;
    for (const s of stats) {
      const before = this.advertsSeen.get(s.iname) ?? 0;
      if (s.state === STATE_NUMBER.BACKUP && s.advertRcvd > before) this.peerSeenAt.set(s.iname, nowMs);
      this.advertsSeen.set(s.iname, s.advertRcvd);
    }
  }

  /**
   * States from the dump for instances no notification has reported: a keepalived this agent adopted told
   * its transitions to the agent before. Returns whether any state was added.
   */
  seed(stats: InstanceStats[]): boolean {
    let added = false;
    for (const s of stats) {
      const state = STATE_OF_NUMBER.get(s.state);
      if (state === undefined || this.states.has(s.iname)) continue;
      this.states.set(s.iname, state);
      added = true;
    }
    return added;
  }

  /** keepalived is gone: it holds nothing. */
  forget(): void {
    this.states.clear();
  }

  /** The state of each VIP of these instances (INIT until keepalived reports one). */
  vipStates(instances: readonly PlanInstanceV1[]): VipState[] {
    return instances.flatMap((i) =>
      i.vips.map((vip) => ({
        vip,
        instance: i.name,
        state: STATE_NUMBER[this.states.get(i.name) ?? "INIT"],
      })),
    );
  }

  /** Instance names in MASTER state, sorted. */
  masters(): string[] {
    return [...this.states.entries()]
      .filter(([, s]) => s === "MASTER")
      .map(([n]) => n)
      .sort();
  }
}
