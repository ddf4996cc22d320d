// Leader election on a coordination.k8s.io Lease, following client-go: a lease is free when its record has
// not changed for leaseDuration as observed by our own clock; the leader renews every retryPeriod and gives up
// (stops all work) when it could not renew for renewDeadline.
import type { Logger } from "../lib/log.js";
import { ApiError, type KubeClient } from "./rest.js";

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

/** RFC 3339 with microseconds, as metav1.MicroTime expects. */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export class LeaderElector {
  private observedRecord = "";
  private observedAt = 0;
  private leader = false;
  private stopped = false;

  constructor(
    private readonly client: KubeClient,
    private readonly cfg: LeaderElectionConfig,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  private isStopped(): boolean {
    return this.stopped;
  }

  get isLeader(): boolean {
    return this.leader;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.cfg.namespace}/leases`;
  }

  /** One attempt to acquire or renew; true when we hold the lease afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.now();
    const stamp = microTime(new Date(now));
    let lease: Lease;
    try {
      lease = await this.client.request<Lease>("GET", `${this.path}/${this.cfg.name}`, {
        timeoutMs: this.cfg.retryPeriodMs * 2,
      });
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) throw err;
      const created: Lease = {
        apiVersion: "coordination.k8s.io/v1",
        kind: "Lease",
        metadata: { name: this.cfg.name, namespace: this.cfg.namespace },
        spec: {
          holderIdentity: this.cfg.identity,
          leaseDurationSeconds: Math.ceil(this.cfg.leaseDurationMs / 1000),
          acquireTime: stamp,
          renewTime: stamp,
          leaseTransitions: 0,
        },
      };
      await this.client.request("POST", this.path, { body: created });
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
    if (!mine && holder !== "" && this.observedAt + this.cfg.leaseDurationMs > now) return false;
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
      body: { ...lease, spec },
      timeoutMs: this.cfg.retryPeriodMs * 2,
    });
    this.observedRecord = JSON.stringify(updated.spec);
    this.observedAt = now;
    return true;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  }

  /**
   * Blocks until we lead, then calls onStarted and keeps renewing; calls onStopped once when leadership is
   * lost (the caller must stop all work at once). Returns after losing or after stop().
   */
  async run(onStarted: () => void, onStopped: () => void): Promise<void> {
    while (!this.stopped && !this.leader) {
      try {
        this.leader = await this.tryAcquireOrRenew();
      } catch (err) {
        this.log.warn("lease acquire failed", { lease: this.cfg.name, error: (err as Error).message });
      }
      if (!this.leader) await this.sleep(this.cfg.retryPeriodMs);
    }
    if (this.stopped) return;
    this.log.info("became leader", {
      lease: `${this.cfg.namespace}/${this.cfg.name}`,
      identity: this.cfg.identity,
    });
    onStarted();
    let lastRenew = this.now();
    while (!this.stopped) {
      await this.sleep(this.cfg.retryPeriodMs);
      if (this.isStopped()) break;
      let held: boolean | undefined;
      try {
        held = await this.tryAcquireOrRenew();
      } catch (err) {
        this.log.warn("lease renew failed", { error: (err as Error).message });
      }
      if (held === true) {
        lastRenew = this.now();
        continue;
      }
      // Another holder, or no renewal within the deadline: stop at once so two replicas never both write.
      if (held === false || this.now() - lastRenew >= this.cfg.renewDeadlineMs) {
        this.leader = false;
        this.log.error("lost leadership", { lease: this.cfg.name, takenOver: held === false });
        onStopped();
        return;
      }
    }
  }

  /** Stops renewing and, when leading, releases the lease so another replica takes over at once. */
  async release(): Promise<void> {
    this.stopped = true;
    if (!this.leader) return;
    this.leader = false;
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
