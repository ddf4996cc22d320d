// Which Events to write, and how: aggregation and spam filtering as client-go's EventCorrelator does
// (tools/record/events_cache.go), for a level-triggered controller that decides its Events again on every pass.
// Pure decisions: the time arrives as a value; the writer (writer.ts) does the POSTs and PATCHes.
//
// - A series is one object + type + reason + message. Repeats update the series' Event (count, lastTimestamp:
//   a PATCH) instead of creating another Event.
// - Similar Events (same object, type and reason, other messages): after `maxSimilar` distinct messages within
//   `similarWindowMs`, the others fold into one series "(combined from similar events): <message>".
// - Spam filter: a token bucket per object, `burst` writes, then one more per `refillMs`. A series that finds
//   no token stays pending and is written, with its count, when a token is free.
// - A standing Event (a problem, re-decided on each pass while it lasts) counts once when it appears and again
//   only when it comes back after going away; it is re-written every `refreshMs` so it does not expire.
//   Other Events (changes) count every time.
//
// A pass costs in proportion to its Events and to the series still owed a write, not to every series kept:
// presence is the number of the pass that last saw a series, the owed ones are a set of their own, and what
// time forgets is swept at most once per `sweepMs`.
import type { EventAction, InvolvedObject } from "./events.js";

export interface CorrelatorPolicy {
  burst: number;
  refillMs: number;
  maxSimilar: number;
  similarWindowMs: number;
  refreshMs: number;
  /** Series unused for this long are forgotten (the API server drops Events after an hour by default). */
  forgetAfterMs: number;
  /** At most this many series are remembered; the least recently seen go first. */
  maxSeries: number;
  /** How often, at most, idle buckets, old windows and series unseen for long are looked for. */
  sweepMs: number;
}

/** client-go's spam filter is burst 25, one per 5 minutes; a handful per object is enough for us. */
export const EVENT_POLICY: CorrelatorPolicy = {
  burst: 10,
  refillMs: 300_000,
  maxSimilar: 5,
  similarWindowMs: 600_000,
  refreshMs: 1_800_000,
  forgetAfterMs: 3_600_000,
  maxSeries: 50_000,
  sweepMs: 10_000,
};

export const COMBINED_PREFIX = "(combined from similar events): ";

/** One Event write: a new Event, or an update of the series' existing one (by name). */
export interface EventWrite {
  kind: "create" | "patch";
  /** The series; report the outcome with recorded() or failed(). */
  key: string;
  /** The existing Event's name (patch only). */
  name?: string;
  event: EventAction;
  count: number;
  firstMs: number;
  lastMs: number;
}

/** One series; a class with every field set from the start, so each of thousands is one compact object. */
class Series {
  /** The existing Event's name, once written. */
  name: string | undefined = undefined;
  count = 1;
  /** When it was last written, or undefined while never. */
  writtenMs: number | undefined = undefined;
  /** Pending and refused a token already (counted once in `suppressed`). */
  held = false;

  constructor(
    public event: EventAction,
    public firstMs: number,
    public lastMs: number,
    /** The pass that last saw it (standing Events: present in this pass, or in the one before). */
    public seenPass: number,
    /** When it was last seen, as a count of observations: the order of the series map. */
    public seenOrder: number,
  ) {}
}

interface Bucket {
  tokens: number;
  atMs: number;
}

// Keys are joined, not made with templates: a template of several parts is a tree of string pieces, several
// times the size of the flat text join() gives, and thousands of series keep their keys.
function objectKeyOf(o: InvolvedObject): string {
  return [o.kind, o.namespace, o.name, o.uid ?? ""].join("|");
}

export class EventCorrelator {
  private readonly series = new Map<string, Series>();
  private readonly buckets = new Map<string, Bucket>();
  /** Distinct messages (at most maxSimilar: a list) per object + type + reason in the current window. */
  private readonly similar = new Map<string, { sinceMs: number; messages: string[] }>();
  /** Keys of the series owed a write (pending): a series is pending exactly while its key is here. */
  private readonly owed = new Set<string>();
  private pass = 0;
  private observations = 0;
  private sweptMs = -Infinity;
  /** Writes held back by the spam filter so far (each goes out later, with its count, when a token is free). */
  suppressed = 0;

  constructor(private readonly policy: CorrelatorPolicy = EVENT_POLICY) {}

  /** One pass's Events → the writes to make now, in the order the Events came. */
  correlate(events: readonly EventAction[], nowMs: number): EventWrite[] {
    this.pass++;
    const touched = new Set<string>();
    for (const e of events) touched.add(this.observe(this.aggregate(e, nowMs), nowMs));
    const writes: EventWrite[] = [];
    const release = (key: string): void => {
      const w = this.release(key, nowMs);
      if (w !== undefined) writes.push(w);
    };
    for (const key of touched) release(key);
    // The others owed, least recently seen first (the order of the series map, as the cap forgets them).
    const owed = [...this.owed].map((key) => ({ key, s: this.series.get(key) as Series }));
    owed.sort((a, b) => a.s.seenOrder - b.s.seenOrder);
    for (const { key, s } of owed) {
      if (touched.has(key)) continue;
      // A change still owed is written when a token is free; a problem that went away is not.
      if (s.event.standing) this.owed.delete(key);
      else release(key);
    }
    this.forget(nowMs);
    return writes;
  }

  /** The write succeeded; `name` is the Event's (for later patches). */
  recorded(key: string, name: string | undefined): void {
    const s = this.series.get(key);
    if (s !== undefined && name !== undefined) s.name = name;
  }

  /** The write failed: try again on a later pass (a patch of a vanished Event becomes a create). */
  failed(key: string, gone = false): void {
    const s = this.series.get(key);
    if (s === undefined) return;
    this.owed.add(key);
    if (gone) s.name = undefined;
  }

  /** Series remembered (for tests and the memory bound). */
  get size(): number {
    return this.series.size;
  }

  /** The series an Event belongs to: its own, or its object's combined one once it has too many similar. */
  private aggregate(e: EventAction, nowMs: number): { key: string; event: EventAction } {
    const similarKey = [objectKeyOf(e.involved), e.type, e.reason].join("|");
    let window = this.similar.get(similarKey);
    if (window === undefined || nowMs - window.sinceMs > this.policy.similarWindowMs) {
      window = { sinceMs: nowMs, messages: [] };
      this.similar.set(similarKey, window);
    }
    let own = window.messages.includes(e.message);
    if (!own && window.messages.length < this.policy.maxSimilar) {
      // A new list of the exact length: a pushed-to list reserves room for 16, and there is one per object.
      window.messages = [...window.messages, e.message];
      own = true;
    }
    if (own) return { key: [similarKey, e.message].join("|"), event: e };
    return {
      key: [similarKey, COMBINED_PREFIX].join("|"),
      event: { ...e, message: `${COMBINED_PREFIX}${e.message}` },
    };
  }

  /** Counts the occurrence in its series; returns the series key. */
  private observe({ key, event }: { key: string; event: EventAction }, nowMs: number): string {
    const s = this.series.get(key);
    if (s === undefined) {
      const made = new Series(event, nowMs, nowMs, this.pass, ++this.observations);
      this.series.set(key, made);
      this.owed.add(key);
      return key;
    }
    // Map order is recency order: the least recently seen series are forgotten first.
    this.series.delete(key);
    this.series.set(key, s);
    s.seenOrder = ++this.observations;
    const seen = s.seenPass >= this.pass - 1;
    s.seenPass = this.pass;
    // A problem that lasts is one occurrence; only its return after going away counts again.
    if (event.standing && seen) return key;
    s.event = event;
    s.count++;
    s.lastMs = nowMs;
    this.owed.add(key);
    return key;
  }

  /** The write for a pending (or due for refresh) series, if its object has a token. */
  private release(key: string, nowMs: number): EventWrite | undefined {
    const s = this.series.get(key);
    if (s === undefined) return undefined;
    const refresh =
      s.event.standing && s.writtenMs !== undefined && nowMs - s.writtenMs >= this.policy.refreshMs;
    const pending = this.owed.has(key);
    if (!pending && !refresh) return undefined;
    if (!this.takeToken(objectKeyOf(s.event.involved), nowMs)) {
      if (pending && !s.held) this.suppressed++;
      s.held = pending;
      return undefined;
    }
    this.owed.delete(key);
    s.held = false;
    s.writtenMs = nowMs;
    if (refresh) s.lastMs = nowMs;
    const write: EventWrite = {
      kind: s.name === undefined ? "create" : "patch",
      key,
      event: s.event,
      count: s.count,
      firstMs: s.firstMs,
      lastMs: s.lastMs,
    };
    if (s.name !== undefined) write.name = s.name;
    return write;
  }

  private takeToken(objectKey: string, nowMs: number): boolean {
    const { burst, refillMs } = this.policy;
    const b = this.buckets.get(objectKey) ?? { tokens: burst, atMs: nowMs };
    const refilled = Math.floor((nowMs - b.atMs) / refillMs);
    if (refilled > 0) {
      b.tokens = Math.min(burst, b.tokens + refilled);
      b.atMs = b.tokens === burst ? nowMs : b.atMs + refilled * refillMs;
    }
    this.buckets.set(objectKey, b);
    if (b.tokens < 1) return false;
    b.tokens--;
    return true;
  }

  /**
   * Drops what no longer matters: the least recently seen series over the cap at once; idle full buckets, old
   * windows and series unseen for long when a sweep is due.
   */
  private forget(nowMs: number): void {
    const { burst, refillMs, similarWindowMs, forgetAfterMs, maxSeries, sweepMs } = this.policy;
    for (const k of this.series.keys()) {
      if (this.series.size <= maxSeries) break;
      this.drop(k);
    }
    if (nowMs - this.sweptMs < sweepMs) return;
    this.sweptMs = nowMs;
    for (const [k, b] of this.buckets)
      if (b.tokens + Math.floor((nowMs - b.atMs) / refillMs) >= burst) this.buckets.delete(k);
    for (const [k, w] of this.similar) if (nowMs - w.sinceMs > similarWindowMs) this.similar.delete(k);
    for (const [k, s] of this.series) {
      const idle = s.seenPass !== this.pass && !this.owed.has(k) && nowMs - s.lastMs > forgetAfterMs;
      if (idle) this.drop(k);
    }
  }

  private drop(key: string): void {
    this.series.delete(key);
    this.owed.delete(key);
  }
}
