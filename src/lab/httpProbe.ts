// A client that starts an HTTP GET every <interval> ms, whether or not the earlier ones have answered (each on a
// new connection, so each goes through kube-proxy's DNAT again), and writes one JSON line per request when it
// ends: start time, milliseconds taken, when it connected, and the answer or the error. Many users, not one:
// a request whose SYN falls into a failover waits for TCP's retransmission (1 s), but the requests started
// after the VIP moved answer at once, so the gap between answers is what users see, and the slowest answer is
// what the unlucky one waits. The kubelet lab runs it in the client namespace during a failover or a rollout;
// summarize() counts the lost requests, the longest gap between answers and the slowest answer. SIGTERM stops
// starting requests and ends it once those in flight have ended.
// Usage: node httpProbe.js <url> <interval between request starts, ms> <timeout per request, ms>
import { request } from "node:http";

export interface ProbeLine {
  /** When the request started (ms since the epoch). */
  at: number;
  ms: number;
  /** Milliseconds until the TCP connection was established (absent when it never was). */
  connectMs?: number;
  ok: boolean;
  /** The body (trimmed) or the error. */
  answer: string;
}

export interface ProbeSummary {
  requests: number;
  lost: number;
  /**
   * Longest time without an answer while the probe was starting requests (from its first start to its last):
   * between the ends of two answered requests, from the first start to the first answer, or from the last
   * answer to the last start. Answers that end after the last start (a SYN retransmitted while the probe was
   * being stopped) no longer close a gap: nobody was asking then.
   */
  longestGapMs: number;
  /** The longest an answered request took. */
  slowestMs: number;
  /** Answered requests per body ("demo-1 on node-1" …). */
  answeredBy: Record<string, number>;
  /** The errors of the lost requests, per message. */
  errors: Record<string, number>;
}

/** Counts requests, losses and answers, and finds the longest gap between answers; pure. */
export function summarize(lines: ProbeLine[]): ProbeSummary {
  const answeredBy: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let longestGapMs = 0;
  let slowestMs = 0;
  let lastAnswer = lines.reduce((min, l) => Math.min(min, l.at), Infinity);
  const lastStart = lines.reduce((max, l) => Math.max(max, l.at), -Infinity);
  for (const l of [...lines].sort((a, b) => a.at + a.ms - (b.at + b.ms))) {
    const bucket = l.ok ? answeredBy : errors;
    bucket[l.answer] = (bucket[l.answer] ?? 0) + 1;
    if (!l.ok) continue;
    slowestMs = Math.max(slowestMs, l.ms);
    if (l.at + l.ms > lastStart) continue;
    longestGapMs = Math.max(longestGapMs, l.at + l.ms - lastAnswer);
    lastAnswer = l.at + l.ms;
  }
  if (lines.length > 0) longestGapMs = Math.max(longestGapMs, lastStart - lastAnswer);
  const lost = lines.filter((l) => !l.ok).length;
  return {
    requests: lines.length,
    lost,
    longestGapMs: Math.round(longestGapMs),
    slowestMs,
    answeredBy,
    errors,
  };
}

/** The lost requests and the slowest answered ones (at most `count`), as "+<ms after t0> …" lines; pure. */
export function notable(lines: ProbeLine[], t0: number, count = 3): string[] {
  const slow = lines
    .filter((l) => l.ok)
    .sort((a, b) => b.ms - a.ms)
    .slice(0, count);
  return [...lines.filter((l) => !l.ok), ...slow]
    .sort((a, b) => a.at - b.at)
    .map(
      (l) =>
        `+${l.at - t0} ms: ${l.ok ? "answered" : "lost"} after ${l.ms} ms (connected ${l.connectMs === undefined ? "never" : `after ${l.connectMs} ms`}): ${l.answer}`,
    );
}

/**
 * The requests started from `fromMs` to `toMs` after `t0`, one "+<start>:<ms taken>" each (with "/c<ms to
 * connect>" when connecting took over 100 ms, "!" when lost): the failover as the client saw it; pure.
 */
export function timeline(lines: ProbeLine[], t0: number, fromMs: number, toMs: number): string {
  return lines
    .filter((l) => l.at - t0 >= fromMs && l.at - t0 <= toMs)
    .sort((a, b) => a.at - b.at)
    .map((l) => {
      const connect = l.connectMs !== undefined && l.connectMs > 100 ? `/c${l.connectMs}` : "";
      return `+${l.at - t0}:${l.ms}${connect}${l.ok ? "" : "!"}`;
    })
    .join(" ");
}

/** One change of the MAC address the client sends a VIP's packets to: the VIP moved, as the client saw it. */
export interface VipMove {
  /** When the client's neighbour entry changed (ms since the epoch). */
  at: number;
  from: string;
  to: string;
}

/**
 * The moves of `vip` in `ip monitor neigh` output read by the client, each line with the time it was read
 * (`[ms, line]`): a move is a new link-layer address for the VIP after another one. Entries without an
 * address (INCOMPLETE, FAILED) and deletions are not moves; pure.
 */
export function vipMoves(lines: [number, string][], vip: string): VipMove[] {
  const moves: VipMove[] = [];
  let current: string | undefined;
  for (const [at, line] of lines) {
    const m = /^(?:Deleted )?(\S+) dev \S+ lladdr (\S+)/.exec(line.trim());
    if (m === null || m[1] !== vip || line.startsWith("Deleted ")) continue;
    const mac = (m[2] ?? "").toLowerCase();
    if (current !== undefined && mac !== current) moves.push({ at, from: current, to: mac });
    current = mac;
  }
  return moves;
}

/**
 * Splits the lost requests: `atMove` are those a move can explain (the connection was established before a
 * move and reset after it, within `slackMs` for the time the client takes to see the move), `other` the rest
 * (never connected, timed out, or reset with no move while it was open); pure.
 */
export function lossesAtMoves(
  lines: ProbeLine[],
  moves: VipMove[],
  slackMs = 20,
): { atMove: ProbeLine[]; other: ProbeLine[] } {
  const atMove: ProbeLine[] = [];
  const other: ProbeLine[] = [];
  for (const l of lines.filter((x) => !x.ok)) {
    const reset = /ECONNRESET|socket hang up/.test(l.answer);
    const opened = l.connectMs === undefined ? Infinity : l.at + l.connectMs;
    const spans = moves.some((m) => m.at + slackMs >= opened && m.at - slackMs <= l.at + l.ms);
    (reset && spans ? atMove : other).push(l);
  }
  return { atMove, other };
}

/** Parses the probe's output; lines that are not probe lines (a partial last line) are skipped. */
export function parseProbeOutput(text: string): ProbeLine[] {
  return text.split("\n").flatMap((line) => {
    try {
      const l = JSON.parse(line) as Partial<ProbeLine>;
      return typeof l.at === "number" && typeof l.ok === "boolean" ? [l as ProbeLine] : [];
    } catch {
      return [];
    }
  });
}

interface Outcome {
  ok: boolean;
  answer: string;
  connectedAt?: number;
}

function get(url: string, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    let connectedAt: number | undefined;
    const done = (ok: boolean, answer: string): void => {
      resolve(connectedAt === undefined ? { ok, answer } : { ok, answer, connectedAt });
    };
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (s: string) => (body += s));
      res.on("end", () => {
        done(res.statusCode === 200, res.statusCode === 200 ? body.trim() : `HTTP ${res.statusCode}`);
      });
      res.on("error", (err) => {
        done(false, err.message);
      });
    });
    req.on("socket", (socket) => {
      socket.once("connect", () => (connectedAt = Date.now()));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on("error", (err) => {
      done(false, err.message.replace(/\d+\.\d+\.\d+\.\d+:\d+/, "<addr>"));
    });
    req.end();
  });
}

/** At most this many requests in flight: a dead VIP with a long timeout must not open thousands of sockets. */
const MAX_IN_FLIGHT = 500;

async function main(argv: string[]): Promise<void> {
  const [url = "", intervalText = "20", timeoutText = "1000"] = argv;
  const interval = Number(intervalText);
  const timeout = Number(timeoutText);
  if (!URL.canParse(url) || !(interval > 0) || !(timeout > 0)) {
    process.stderr.write(
      `httpProbe: expected <url> <interval ms> <timeout ms>; got ${JSON.stringify(argv)}\n`,
    );
    process.exit(2);
  }
  let inFlight = 0;
  let skipped = 0;
  const one = async (): Promise<void> => {
    const at = Date.now();
    inFlight++;
    const { ok, answer, connectedAt } = await get(url, timeout);
    inFlight--;
    const line: ProbeLine = { at, ms: Date.now() - at, ok, answer };
    if (connectedAt !== undefined) line.connectMs = connectedAt - at;
    process.stdout.write(JSON.stringify(line) + "\n");
  };
  const timer = setInterval(() => {
    if (inFlight < MAX_IN_FLIGHT) void one();
    else skipped++;
  }, interval);
  await new Promise<void>((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
  clearInterval(timer);
  while (inFlight > 0) await new Promise((r) => setTimeout(r, 10));
  if (skipped > 0)
    process.stderr.write(`httpProbe: ${skipped} starts skipped (${MAX_IN_FLIGHT} in flight)\n`);
}

if (process.argv[1]?.endsWith("httpProbe.js") === true) await main(process.argv.slice(2));
