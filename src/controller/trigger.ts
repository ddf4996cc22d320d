// The work queue of a level-triggered controller with one key: "make the cluster right". Events only mark it
// dirty; bursts coalesce into one reconcile; one reconcile runs at a time; failures back off; a periodic
// resync catches anything missed.
import { backoffDelay } from "../lib/backoff.js";

export type Outcome =
  { kind: "done" } | { kind: "retry"; error: Error } | { kind: "requeueAfter"; ms: number };

export class ReconcileTrigger {
  private dirty = false;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  /** Kicks before start() only mark the work dirty: nothing is planned from half-filled caches. */
  private started = false;

  constructor(
    private readonly reconcile: () => Promise<Outcome>,
    private readonly opts: {
      coalesceMs: number;
      resyncMs: number;
      onError: (err: Error, retryInMs: number) => void;
    },
  ) {}

  start(): void {
    this.started = true;
    this.resyncTimer = setInterval(() => {
      this.kick();
    }, this.opts.resyncMs);
    this.kick();
  }

  /** Something changed: reconcile soon (coalescing with other changes). */
  kick(delayMs = this.opts.coalesceMs): void {
    if (this.stopped) return;
    this.dirty = true;
    if (!this.started || this.running || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.loop();
    }, delayMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.resyncTimer !== undefined) clearInterval(this.resyncTimer);
  }

  private isStopped(): boolean {
    return this.stopped;
  }

  private isDirty(): boolean {
    return this.dirty;
  }

  private async loop(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    let next: number | undefined;
    while (this.isDirty() && !this.isStopped()) {
      this.dirty = false;
      let outcome: Outcome;
      try {
        outcome = await this.reconcile();
      } catch (err) {
        outcome = { kind: "retry", error: err instanceof Error ? err : new Error(String(err)) };
      }
      if (outcome.kind === "retry") {
        next = backoffDelay(this.failures++, { initialMs: 100, maxMs: 30_000, factor: 2 });
        this.opts.onError(outcome.error, next);
        break;
      }
      this.failures = 0;
      if (outcome.kind === "requeueAfter") next = outcome.ms;
    }
    this.running = false;
    if (next !== undefined) this.kick(next);
    else if (this.isDirty()) this.kick();
  }
}
