// Leader election on a coordination.k8s.io Lease, following client-go: a lease is free when its record has
// not changed for leaseDuration as observed by our own (monotonic) clock; the leader renews every retryPeriod
// and its term (kube/term.ts) ends, aborting every write, when it could not renew for renewDeadline.
import type { Logger } from "../lib/log.js";
import { ApiError, type KubeClient, type RequestInit } from "./rest.js";
import { LeadershipTerm } from "./term.js";

export { LeadershipLostError, LeadershipTerm } from "./term.js";

export interface LeaderElectionConfig {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

interface Lease {
  apiVersion: "coordination.k8s.io/v1";
  kind: "Lease";
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

function newLease(cfg: LeaderElectionConfig, stamp: string): Lease {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: cfg.name, namespace: cfg.namespace },
    spec: {
      holderIdentity: cfg.identity,
      leaseDurationSeconds: Math.ceil(cfg.leaseDurationMs / 1000),
      acquireTime: stamp,
      renewTime: stamp,
      leaseTransitions: 0,
    },
  };
}

/** RFC 3339 with microseconds, as metav1.MicroTime expects. */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export class LeaderElector {
  private observedRecord = "";
  /** Monotonic time at which the record was last seen to change. */
  private observedAt = 0;
  private term: LeadershipTerm | undefined;
  private stopped = false;

  /**
   * @param now wall clock (ms since the epoch) for the Lease's timestamps
   * @param monotonic clock for every duration: lease expiry and the renew deadline
   */
  constructor(
    private readonly client: KubeClient,
    private readonly cfg: LeaderElectionConfig,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly monotonic: () => number = () => performance.now(),
  ) {}

  private isStopped(): boolean {
    return this.stopped;
  }

  get isLeader(): boolean {
    return this.term !== undefined && this.term.ended === undefined;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.cfg.namespace}/leases`;
  }

  /**
   * One attempt to acquire or renew; true when we hold the lease afterwards. Requests are bound to `signal`
   * and last at most `timeoutMs` (a renewal must not outlive the term it renews).
   */
  async tryAcquireOrRenew(limits: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<boolean> {
    const now = this.monotonic();
    const stamp = microTime(new Date(this.now()));
    const init: RequestInit = { timeoutMs: limits.timeoutMs ?? this.cfg.retryPeriodMs * 2 };
    if (limits.signal !== undefined) init.signal = limits.signal;
    let lease: Lease;
    try {
      lease = await this.client.request<Lease>("GET", `${this.path}/${this.cfg.name}`, init);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) throw err;
      const created = newLease(this.cfg, stamp);
      await this.client.request("POST", this.path, { ...init, body: created });
      this.observedRecord = JSON.stringify(created.spec);
      this.observedAt = now;
      return true;
    }
    const record = JSON.stringify(lease.spec);
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = now;
    }
    const holder = lease.spec.holderIdentity ?? "";
    const mine = holder === this.cfg.identity;
    // The holder's own lease duration, as client-go reads it: replicas started with other flags (a rolling
    // update that changes them) neither wait longer than the holder promised nor take over sooner.
    const declared = lease.spec.leaseDurationSeconds ?? 0;
    const durationMs = declared > 0 ? declared * 1000 : this.cfg.leaseDurationMs;
    if (!mine && holder !== "" && this.observedAt + durationMs > now) return false;
    const spec: Lease["spec"] = {
      ...lease.spec,
      holderIdentity: this.cfg.identity,
      leaseDurationSeconds: Math.ceil(this.cfg.leaseDurationMs / 1000),
      renewTime: stamp,
    };
    if (!mine) {
      spec.acquireTime = stamp;
      spec.leaseTransitions = (lease.spec.leaseTransitions ?? 0) + 1;
    }
    const updated = await this.client.request<Lease>("PUT", `${this.path}/${this.cfg.name}`, {
      ...init,
      body: { ...lease, spec },
    });
    this.observedRecord = JSON.stringify(updated.spec);
    this.observedAt = now;
    return true;
  }

  /** Waits `ms`, or less when the signal aborts first. */
  private sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      signal?.addEventListener("abort", wake, { once: true });
    });
  }

  /** Tries until we hold the lease; the term starts at the send time of the winning request. */
  private async acquire(): Promise<LeadershipTerm | undefined> {
    while (!this.isStopped()) {
      const sentAt = this.monotonic();
      try {
        if (await this.tryAcquireOrRenew())
          return new LeadershipTerm(this.cfg.renewDeadlineMs, sentAt, this.monotonic);
      } catch (err) {
        this.log.warn("lease acquire failed", { lease: this.cfg.name, error: (err as Error).message });
      }
      await this.sleep(this.cfg.retryPeriodMs);
    }
    return undefined;
  }

  /** Renews every retryPeriod while the term lasts; ends it when another holds the lease or time runs out. */
  private async renew(term: LeadershipTerm): Promise<void> {
    // A call, not a property: the awaits below change both behind the type checker's back.
    const over = (): boolean => this.isStopped() || term.ended !== undefined;
    while (!over()) {
      await this.sleep(this.cfg.retryPeriodMs, term.signal);
      if (over()) break;
      const sentAt = this.monotonic();
      try {
        const held = await this.tryAcquireOrRenew({
          signal: term.signal,
          timeoutMs: Math.max(1, term.remainingMs()),
        });
        if (held) term.renewed(sentAt);
        else term.end("another replica holds the lease");
      } catch (err) {
        // Retried until the deadline, which the term watches on its own.
        this.log.warn("lease renew failed", {
          error: (err as Error).message,
          remainingMs: term.remainingMs(),
        });
      }
    }
  }

  /**
   * Blocks until we lead, then calls onStarted with the term and keeps renewing; calls onStopped once when
   * the term ends (its signal has already aborted every request bound to it). Returns after losing or stop().
   */
  async run(onStarted: (term: LeadershipTerm) => void, onStopped: () => void): Promise<void> {
    const term = await this.acquire();
    if (term === undefined) return;
    this.term = term;
    this.log.info("became leader", {
      lease: `${this.cfg.namespace}/${this.cfg.name}`,
      identity: this.cfg.identity,
    });
    onStarted(term);
    await this.renew(term);
    if (this.isStopped()) return;
    this.log.error("lost leadership", { lease: this.cfg.name, why: term.ended ?? "" });
    onStopped();
  }

  /** Stops renewing and, when leading, releases the lease so another replica takes over at once. */
  async release(): Promise<void> {
    this.stopped = true;
    const term = this.term;
    if (term === undefined || term.ended !== undefined) return;
    // No write of ours may follow the release: end the term first.
    term.end("released");
    try {
      const lease = await this.client.request<Lease>("GET", `${this.path}/${this.cfg.name}`);
      if (lease.spec.holderIdentity !== this.cfg.identity) return;
      await this.client.request("PUT", `${this.path}/${this.cfg.name}`, {
        body: {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: "",
            leaseDurationSeconds: 1,
            renewTime: microTime(new Date(this.now())),
          },
        },
      });
    } catch (err) {
      this.log.warn("lease release failed", { error: (err as Error).message });
    }
  }
}
