// The controller's writes behind a small interface: the API server in production, a recording fake in tests.
// The runner around it keeps the bookkeeping: write metrics, failures, and Events reported once.
import type { Manifest } from "../api/kube.js";
import { FIELD_MANAGER } from "../api/names.js";
import { applyManifest, objectPath } from "../kube/apply.js";
import { ApiError, type KubeClient } from "../kube/rest.js";
import type { Logger } from "../lib/log.js";
import type { Action, EventAction } from "./decide.js";

export interface ClusterWriter {
  /** Server-side apply of the object, or of its status subresource. */
  apply(manifest: Manifest, subresource?: "status"): Promise<void>;
  /** Deletes the object; one already gone is fine. */
  delete(target: Manifest): Promise<void>;
  /** Records an Event on its involved object. */
  event(e: EventAction): Promise<void>;
}

/** Longest Event message written (the API server refuses longer ones). */
export const EVENT_MESSAGE_LIMIT = 1024;

/** Writes to the API server as the controller's field manager. */
export function apiServerWriter(client: KubeClient, identity: string, now: () => Date): ClusterWriter {
  return {
    apply: async (manifest, subresource) => {
      await applyManifest(client, manifest, FIELD_MANAGER, subresource);
    },
    delete: async (target) => {
      try {
        await client.request("DELETE", objectPath(target));
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 404) throw err;
      }
    },
    event: async ({ involved, type, reason, message }) => {
      const time = now().toISOString();
      await client.request("POST", `/api/v1/namespaces/${involved.namespace}/events`, {
        body: {
          apiVersion: "v1",
          kind: "Event",
          metadata: { generateName: `${involved.name}.`, namespace: involved.namespace },
          involvedObject: { ...involved },
          type,
          reason,
          message: message.slice(0, EVENT_MESSAGE_LIMIT),
          source: { component: FIELD_MANAGER },
          reportingComponent: FIELD_MANAGER,
          reportingInstance: identity,
          firstTimestamp: time,
          lastTimestamp: time,
          count: 1,
        },
      });
    },
  };
}

interface Counter {
  inc(labels?: Record<string, string>, by?: number): void;
}

/** What a failed write is logged as, and its `kind` label in the error metric. */
function describe(a: Exclude<Action, EventAction>): { what: string; kind: string } {
  const { kind, metadata } = a.kind === "delete" ? a.target : a.manifest;
  const name = `${metadata.namespace ?? ""}/${metadata.name}`;
  if (a.kind === "apply") return { what: `${kind} ${name}`, kind };
  if (a.kind === "applyStatus") return { what: `${kind} ${name} status`, kind };
  const plural = objectPath(a.target).split("/").at(-2) ?? kind;
  return { what: `${plural} ${name}`, kind: plural };
}

/** Carries out a reconcile's actions in order, through a ClusterWriter. */
export class ActionRunner {
  /** Problem Events already recorded in this controller's lifetime. */
  private readonly emitted = new Set<string>();

  constructor(
    private readonly writer: ClusterWriter,
    private readonly metrics: { writes: Counter; errors: Counter },
    private readonly log: Logger,
  ) {}

  /** Runs every action; returns the failures worth retrying (the others are logged and counted). */
  async run(actions: readonly Action[], log: Logger = this.log): Promise<Error[]> {
    const failures: Error[] = [];
    for (const a of actions) {
      if (a.kind === "event") {
        await this.event(a);
        continue;
      }
      try {
        await this.write(a);
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        const { what, kind } = describe(a);
        this.metrics.errors.inc({ kind, reason: e instanceof ApiError ? e.reason : "Error" });
        log.error("write failed", { object: what, error: e.message });
        if (!(e instanceof ApiError) || e.retryable) failures.push(e);
      }
    }
    return failures;
  }

  private async write(a: Exclude<Action, EventAction>): Promise<void> {
    if (a.kind === "delete") return this.writer.delete(a.target);
    const subresource = a.kind === "applyStatus" ? "status" : undefined;
    await this.writer.apply(a.manifest, subresource);
    this.metrics.writes.inc({
      kind: subresource === undefined ? a.manifest.kind : `${a.manifest.kind}/status`,
    });
  }

  private async event(e: EventAction): Promise<void> {
    const { involved, reason, message } = e;
    const key = `${involved.kind}|${involved.namespace}|${involved.name}|${involved.uid ?? ""}|${reason}|${message}`;
    if (e.once && this.emitted.has(key)) return;
    this.emitted.add(key);
    try {
      await this.writer.event(e);
    } catch (err) {
      this.emitted.delete(key);
      this.log.warn("event not recorded", {
        object: `${involved.kind} ${involved.namespace}/${involved.name}`,
        reason,
        error: (err as Error).message,
      });
    }
  }
}
