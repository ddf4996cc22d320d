// A node agent's Lease: its VRRP report applied (server-side apply) at once on every change and renewed as a
// heartbeat. Writes are coalesced: one in flight, and the latest report follows it.
import type { Manifest } from "../api/kube.js";
import { AGENT_FIELD_MANAGER } from "../api/names.js";
import { backoffDelay } from "../lib/backoff.js";
import type { Logger } from "../lib/log.js";
import { applyManifest, objectPath } from "./apply.js";
import type { KubeClient } from "./rest.js";

export interface NodeLeaseOptions {
  /** Renew this often while nothing changes. */
  heartbeatMs: number;
}

export class NodeLeaseWriter {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private dirty = false;
  private failuresInARow = 0;
  private lastError = "";
  private stopped = false;
  writes = 0;
  failures = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: NodeLeaseOptions,
    /** The whole Lease to apply, its renewTime set to `now` (agent/report.ts nodeLease). */
    private readonly desired: (now: Date) => Manifest,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.changed();
  }

  /** The report may have changed: write now (or right after the write in flight). */
  changed(): void {
    if (this.stopped) return;
    this.dirty = true;
    if (this.writing !== undefined) return;
    this.writing = this.drain().finally(() => {
      this.writing = undefined;
    });
  }

  private async drain(): Promise<void> {
    while (this.dirty && !this.stopped) {
      this.dirty = false;
      await this.writeOnce();
    }
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.changed();
    }, ms);
  }

  private async writeOnce(timeoutMs = 5000): Promise<void> {
    const lease = this.desired(new Date());
    try {
      await applyManifest(this.client, lease, AGENT_FIELD_MANAGER, undefined, timeoutMs);
      this.writes++;
      if (this.failuresInARow > 0) this.log.info("node Lease written again", { lease: objectPath(lease) });
      this.failuresInARow = 0;
      this.lastError = "";
      this.schedule(this.opts.heartbeatMs);
    } catch (err) {
      this.failures++;
      const message = (err as Error).message;
      // The API server may be away for minutes; say so once per distinct error, not at every retry.
      if (message !== this.lastError)
        this.log.warn("cannot write the node Lease; retrying", {
          lease: objectPath(lease),
          error: message,
          fix: "check the agent's RBAC (deploy/rbac/agent.yaml: leases create/patch) and the API server",
        });
      this.lastError = message;
      this.schedule(
        Math.min(
          this.opts.heartbeatMs,
          backoffDelay(this.failuresInARow++, { initialMs: 250, maxMs: 5000, factor: 2 }),
        ),
      );
    }
  }

  /** Stops the heartbeat; writes the final report first when asked (best effort, bounded). */
  async stop(finalWrite = false): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.writing;
    if (finalWrite) await this.writeOnce(2000);
  }
}
