// The controller's writes behind a small interface: the API server in production (apiWriter.ts), a recording
// fake in tests. The runner around it keeps the bookkeeping: objects in order (one group's node plans, and the
// statuses, a few at a time), the Events as the correlator allows alongside the last of them; write metrics,
// failures, and the objects written (so the next reconcile reads its own writes before the caches do).
import type { Manifest } from "../api/kube.js";
import { GROUP_LABEL, NODE_LABEL } from "../api/names.js";
import { objectPath } from "../kube/apply.js";
import { ApiError } from "../kube/rest.js";
import { LeadershipLostError } from "../kube/term.js";
import type { Logger } from "../lib/log.js";
import type { Action, EventAction } from "./decide.js";
import { EventCorrelator, type EventWrite } from "./eventCorrelator.js";

export { apiServerWriter, EVENT_MESSAGE_LIMIT } from "./apiWriter.js";

/** An object as the API server answered a write: what the caches will hold once they catch up. */
export type WrittenObject = Manifest & { metadata: { resourceVersion?: string; uid?: string } };

export interface ClusterWriter {
  /** Server-side apply of the object, or of its status subresource; resolves with the object written. */
  apply(manifest: Manifest, subresource?: "status"): Promise<WrittenObject | undefined>;
  /** Deletes the object; one already gone is fine. */
  delete(target: Manifest): Promise<void>;
  /** Creates a series' Event, or updates its count (patch); resolves with the Event's name. */
  event(w: EventWrite): Promise<string | undefined>;
}

interface Counter {
  inc(labels?: Record<string, string>, by?: number): void;
}

export interface RunnerMetrics {
  writes: Counter;
  errors: Counter;
  /** Event writes by kind (create, patch). */
  events?: Counter;
}

export interface RunnerOptions {
  /** The clock of the Event correlator (ms since the epoch). */
  now?: () => number;
  correlator?: EventCorrelator;
  /** Requests at a time for independent writes (Service statuses, Events). */
  concurrency?: number;
  /** Every object the server answered a write with. */
  onWritten?: (o: WrittenObject) => void;
}

type ObjectAction = Exclude<Action, EventAction>;

/** What a failed write is logged as, and its `kind` label in the error metric. */
function describe(a: ObjectAction): { what: string; kind: string } {
  const { kind, metadata } = a.kind === "delete" ? a.target : a.manifest;
  const name = `${metadata.namespace ?? ""}/${metadata.name}`;
  if (a.kind === "apply") return { what: `${kind} ${name}`, kind };
  if (a.kind === "applyStatus") return { what: `${kind} ${name} status`, kind };
  const plural = objectPath(a.target).split("/").at(-2) ?? kind;
  return { what: `${plural} ${name}`, kind: plural };
}

/**
 * Which writes may run side by side with their neighbours of the same class: statuses of Services and groups
 * (each depends on nothing but the plan, and nothing reads one to write another), and one group's node plans
 * (each agent reads its own node's object only, so no order among them is safer than another; what comes after
 * them still waits for all). Undefined: one at a time.
 */
function parallelClass(a: ObjectAction): string | undefined {
  if (a.kind === "applyStatus") return "statuses";
  if (a.kind !== "apply" || a.manifest.kind !== "ConfigMap") return undefined;
  const labels = a.manifest.metadata.labels;
  if (labels?.[NODE_LABEL] === undefined) return undefined;
  return `node plans of ${a.manifest.metadata.namespace ?? ""}/${labels[GROUP_LABEL] ?? ""}`;
}

/** Runs of consecutive actions of one parallel class, or single other ones, in order. */
function batches(actions: readonly ObjectAction[]): ObjectAction[][] {
  const out: ObjectAction[][] = [];
  let lastClass: string | undefined;
  for (const a of actions) {
    const cls = parallelClass(a);
    const last = out.at(-1);
    if (last !== undefined && cls !== undefined && cls === lastClass) last.push(a);
    else out.push([a]);
    lastClass = cls;
  }
  return out;
}

/**
 * Calls `fn` for every item, at most `limit` at a time; waits for all. A LeadershipLostError stops the
 * start of further items and is thrown once the others have settled.
 */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let lost: LeadershipLostError | undefined;
  const worker = async (): Promise<void> => {
    while (lost === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        if (err instanceof LeadershipLostError) lost = err;
        else throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (lost !== undefined) throw lost;
}

/** Waits for every promise to settle, then throws the first rejection, if any (none is left unhandled). */
async function settled(all: readonly Promise<void>[]): Promise<void> {
  const outcomes = await Promise.allSettled(all);
  for (const o of outcomes) if (o.status === "rejected") throw o.reason;
}

/** Carries out a reconcile's actions through a ClusterWriter. */
export class ActionRunner {
  private readonly correlator: EventCorrelator;
  private readonly now: () => number;
  private readonly concurrency: number;

  constructor(
    private readonly writer: ClusterWriter,
    private readonly metrics: RunnerMetrics,
    private readonly log: Logger,
    private readonly opts: RunnerOptions = {},
  ) {
    this.correlator = opts.correlator ?? new EventCorrelator();
    this.now = opts.now ?? Date.now;
    this.concurrency = opts.concurrency ?? 8;
  }

  /**
   * Runs every action: objects in order, and the Events as the correlator allows them alongside the last batch
   * of objects (so that a pass ends one round trip sooner; nothing waits on an Event). Returns the failures
   * worth retrying (the others are logged and counted). Throws LeadershipLostError, having sent nothing more,
   * when the term ends.
   */
  async run(actions: readonly Action[], log: Logger = this.log): Promise<Error[]> {
    const failures: Error[] = [];
    const objects = actions.filter((a): a is ObjectAction => a.kind !== "event");
    const events = actions.filter((a): a is EventAction => a.kind === "event");
    // Correlated only when they are about to be sent: a pass stopped before then leaves them pending.
    const sendEvents = (): Promise<void> =>
      forEachLimited(this.correlator.correlate(events, this.now()), this.concurrency, (w) => this.event(w));
    const all = batches(objects);
    if (all.length === 0) await sendEvents();
    for (const [i, batch] of all.entries()) {
      const written = forEachLimited(batch, this.concurrency, async (a) => {
        const failure = await this.write(a, log);
        if (failure !== undefined) failures.push(failure);
      });
      await settled(i === all.length - 1 ? [written, sendEvents()] : [written]);
    }
    return failures;
  }

  /** One object write; a failure comes back when it is worth retrying. */
  private async write(a: ObjectAction, log: Logger): Promise<Error | undefined> {
    try {
      if (a.kind === "delete") {
        await this.writer.delete(a.target);
        return undefined;
      }
      const subresource = a.kind === "applyStatus" ? "status" : undefined;
      const written = await this.writer.apply(a.manifest, subresource);
      this.metrics.writes.inc({
        kind: subresource === undefined ? a.manifest.kind : `${a.manifest.kind}/status`,
      });
      if (written !== undefined) this.opts.onWritten?.(written);
      return undefined;
    } catch (err) {
      if (err instanceof LeadershipLostError) throw err;
      const e = err instanceof Error ? err : new Error(String(err));
      const { what, kind } = describe(a);
      this.metrics.errors.inc({ kind, reason: e instanceof ApiError ? e.reason : "Error" });
      log.error("write failed", { object: what, error: e.message });
      return !(e instanceof ApiError) || e.retryable ? e : undefined;
    }
  }

  private async event(w: EventWrite): Promise<void> {
    try {
      this.correlator.recorded(w.key, await this.writer.event(w));
      this.metrics.events?.inc({ kind: w.kind });
    } catch (err) {
      if (err instanceof LeadershipLostError) throw err;
      // An Event the API server already dropped (TTL) is created again on the next pass.
      this.correlator.failed(w.key, err instanceof ApiError && err.status === 404);
      const { involved, reason } = w.event;
      this.log.warn("event not recorded", {
        object: `${involved.kind} ${involved.namespace}/${involved.name}`,
        reason,
        error: (err as Error).message,
      });
    }
  }
}
