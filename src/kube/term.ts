// A leadership term: from winning the leader Lease until it may be someone else's. Every write of the leader
// goes through its term: checked immediately before the request and bound to its AbortSignal, so the moment
// the term ends (renewal refused, or no renewal within renewDeadline) in-flight requests are destroyed and
// no further one is sent. Time is read from a monotonic clock at each check, not only on a timer: a process
// that was paused (SIGSTOP, a blocked event loop) finds its term over before its next write.

import { setMaxListeners } from "node:events";

/** A write was refused or aborted because this replica no longer leads. */
export class LeadershipLostError extends Error {
  constructor(readonly why: string) {
    super(`not leading any more (${why}); the write was not sent`);
    this.name = "LeadershipLostError";
  }
}

export class LeadershipTerm {
  private readonly ac = new AbortController();
  private deadline: number;
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param renewDeadlineMs how long the term lasts after the start of the last successful renewal
   * @param renewedAt monotonic time (ms) at which the winning request was sent
   * @param clock monotonic milliseconds (performance.now by default)
   */
  constructor(
    private readonly renewDeadlineMs: number,
    renewedAt: number,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.deadline = renewedAt + renewDeadlineMs;
    // Each request in flight holds one listener until it closes: allow the writer's concurrency and more.
    setMaxListeners(256, this.ac.signal);
    this.arm();
  }

  /** Aborts when the term ends; pass it to every request made for the leader. */
  get signal(): AbortSignal {
    return this.ac.signal;
  }

  /** Why the term ended, or undefined while it lasts. */
  get ended(): string | undefined {
    if (!this.ac.signal.aborted && this.clock() >= this.deadline) this.end("renew deadline passed");
    return this.ac.signal.aborted ? (this.ac.signal.reason as LeadershipLostError).why : undefined;
  }

  /** Milliseconds left before the renew deadline (0 when over). */
  remainingMs(): number {
    return this.ended === undefined ? Math.max(0, this.deadline - this.clock()) : 0;
  }

  /** Throws LeadershipLostError unless the term still lasts: call immediately before each write. */
  check(): void {
    const why = this.ended;
    if (why !== undefined) throw new LeadershipLostError(why);
  }

  /** A renewal sent at `sentAt` (monotonic ms) succeeded: the term now lasts until sentAt + renewDeadline. */
  renewed(sentAt: number): void {
    if (this.ended !== undefined) return;
    this.deadline = Math.max(this.deadline, sentAt + this.renewDeadlineMs);
    this.arm();
  }

  /** Ends the term at once: aborts the signal (and so every request bound to it). Idempotent. */
  end(why: string): void {
    if (this.ac.signal.aborted) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.ac.abort(new LeadershipLostError(why));
  }

  /** A timer at the deadline, so requests in flight are aborted even when no write asks. */
  private arm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(
      () => {
        if (this.ended === undefined) this.arm();
      },
      Math.max(1, this.deadline - this.clock()),
    );
  }
}
