// keepalived's console output → what the agent logs. Pure (the clock is passed in).

/**
 * keepalived echoes every statistics request the agent sends (SIGJSON, up to four a second): over 300,000
 * lines a day per node that say nothing. Its other lines (start, reload, VRRP transitions, errors) are news.
 */
const POLL_ECHO = /Printing VRRP (?:as json|data|stats) for process\(\d+\) on signal/;

/** VRRP state transitions and keepalived's own start, reload and stop: always logged, however often. */
const TRANSITION = /Entering \w+ STATE|Reloading|Reload complete|Starting |Stopping|Stopped/;

/** Whether a keepalived output line is worth a log line of the agent at all. */
export function isNewsworthy(line: string): boolean {
  return line.trim() !== "" && !POLL_ECHO.test(line);
}

/** A line to log: keepalived's own, or a summary of the copies of it that were left out. */
export interface KeepalivedLogLine {
  line: string;
  /** Copies of a line like `line` left out since the last line of that kind was logged. */
  repeated?: number;
}

export interface RepeatLimits {
  /** Lines of one kind logged within `windowMs` before the rest are only counted. */
  limit: number;
  /** How long a kind of line stays muted after it was last seen, and how often a muted kind is summed up. */
  windowMs: number;
  /** Kinds of line remembered at most (the least recently seen is forgotten first). */
  kinds: number;
  /**
   * After a transition, every line for this long is logged and not counted against its kind: the gratuitous
   * ARPs and unsolicited neighbour adverts of a takeover are what a person reading the log looks for.
   */
  afterTransitionMs: number;
  /**
   * Lines of one kind logged in the time after a transition, before the rest are only counted and summed up
   * when that time is over: a takeover of thousands of VIPs sends a gratuitous ARP (or neighbour advert) for
   * each, and a log store wants the first of them and a count, not a line per address.
   */
  afterTransitionLimit: number;
}

export const DEFAULT_REPEAT_LIMITS: RepeatLimits = {
  limit: 5,
  windowMs: 3_600_000,
  kinds: 500,
  afterTransitionMs: 10_000,
  afterTransitionLimit: 50,
};

interface Kind {
  /** When the last lines of this kind were logged (unmuted). */
  logged: number[];
  muted: boolean;
  lastSeen: number;
  /** Left out since the last summary. */
  left: number;
  last: string;
  summaryDue: number;
  /** Logged in the time after the latest transitions. */
  burstLogged: number;
  /** Left out in that time, and the last of them. */
  burstLeft: number;
  burstLast: string;
}

/**
 * The kind of a line: without keepalived's timestamp, with every number, address and pid made alike, so
 * `Sending gratuitous ARP on eth0 for 198.18.0.200` and `… for 198.18.0.201` are one kind.
 */
export function lineKind(line: string): string {
  return line
    .replace(/^\w{3} \w{3} +\d+ [\d:]+ \d{4}: /, "")
    .replace(/[0-9a-f]*:[0-9a-f:]*:[0-9a-f:.]*/gi, "#")
    .replace(/\d+/g, "#");
}

/**
 * Lines that repeat are logged a few times, then summed up once per window: a line keepalived prints at every
 * poll or every gratuitous-ARP refresh costs a handful of lines an hour, not one per occurrence. Transitions
 * are always logged.
 */
export class RepeatFilter {
  private readonly kinds = new Map<string, Kind>();
  private lastTransition = -Infinity;
  /** Kinds seen since the latest transitions, summed up when the time after them is over. */
  private readonly burst = new Set<Kind>();

  constructor(
    private readonly now: () => number,
    private readonly limits: RepeatLimits = DEFAULT_REPEAT_LIMITS,
  ) {}

  /** What to log for one line of keepalived's output (in order). */
  accept(line: string): KeepalivedLogLine[] {
    if (!isNewsworthy(line)) return [];
    const now = this.now();
    if (TRANSITION.test(line)) {
      this.lastTransition = now;
      return [{ line }];
    }
    if (now - this.lastTransition < this.limits.afterTransitionMs) return this.inBurst(line, now);
    const out = this.endBurst(now);
    const key = lineKind(line);
    const kind = this.kindOf(key, now);
    if (kind.muted && now - kind.lastSeen >= this.limits.windowMs) {
      // Quiet for a whole window: what was left out is said, and the kind is news again.
      out.push(...this.summary(kind, now));
      kind.muted = false;
      kind.logged = [];
    }
    kind.lastSeen = now;
    kind.last = line;
    if (!kind.muted) {
      kind.logged = kind.logged.filter((t) => now - t < this.limits.windowMs);
      if (kind.logged.length < this.limits.limit) {
        kind.logged.push(now);
        return [...out, { line }];
      }
      kind.muted = true;
      kind.summaryDue = now + this.limits.windowMs;
    }
    kind.left++;
    if (now >= kind.summaryDue) out.push(...this.summary(kind, now));
    return out;
  }

  /** Summaries that are due (call now and then, e.g. at each poll), and kinds long unseen forgotten. */
  flush(): KeepalivedLogLine[] {
    const now = this.now();
    const out = this.endBurst(now);
    for (const [key, kind] of this.kinds) {
      if (kind.muted && now >= kind.summaryDue) out.push(...this.summary(kind, now));
      if (now - kind.lastSeen >= this.limits.windowMs && kind.left === 0) this.kinds.delete(key);
    }
    return out;
  }

  /** A line in the time after a transition: logged up to the limit of its kind, then counted. */
  private inBurst(line: string, now: number): KeepalivedLogLine[] {
    const kind = this.kindOf(lineKind(line), now);
    this.burst.add(kind);
    if (kind.burstLogged < this.limits.afterTransitionLimit) {
      kind.burstLogged++;
      return [{ line }];
    }
    kind.burstLeft++;
    kind.burstLast = line;
    return [];
  }

  /** Once the time after the latest transition is over: what it left out, one line per kind. */
  private endBurst(now: number): KeepalivedLogLine[] {
    if (this.burst.size === 0 || now - this.lastTransition < this.limits.afterTransitionMs) return [];
    const out: KeepalivedLogLine[] = [];
    for (const kind of this.burst) {
      if (kind.burstLeft > 0) out.push({ line: kind.burstLast, repeated: kind.burstLeft });
      kind.burstLogged = 0;
      kind.burstLeft = 0;
    }
    this.burst.clear();
    return out;
  }

  private summary(kind: Kind, now: number): KeepalivedLogLine[] {
    kind.summaryDue = now + this.limits.windowMs;
    if (kind.left === 0) return [];
    const line = { line: kind.last, repeated: kind.left };
    kind.left = 0;
    return [line];
  }

  private kindOf(key: string, now: number): Kind {
    let kind = this.kinds.get(key);
    if (kind !== undefined) {
      // Most recently seen last, so the first is the one to forget.
      this.kinds.delete(key);
      this.kinds.set(key, kind);
      return kind;
    }
    kind = {
      logged: [],
      muted: false,
      lastSeen: now,
      left: 0,
      last: "",
      summaryDue: 0,
      burstLogged: 0,
      burstLeft: 0,
      burstLast: "",
    };
    this.kinds.set(key, kind);
    for (const oldest of this.kinds.keys()) {
      if (this.kinds.size <= this.limits.kinds) break;
      this.kinds.delete(oldest);
    }
    return kind;
  }
}
