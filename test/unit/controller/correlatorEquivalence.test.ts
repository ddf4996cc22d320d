// The Event correlator walks only what a pass touches (its Events, the series owed a write, a sweep now and
// then); the one before walked every series on every pass. Random histories of Events, clocks and write
// outcomes must give the same writes from both, pass by pass, in the same order, with the same counts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { EventAction } from "../../../src/controller/events.js";
import { EventCorrelator, type EventWrite } from "../../../src/controller/eventCorrelator.js";
import { EventCorrelator as Legacy } from "../../support/legacyCorrelator.js";

const MIN = 60_000;

/** Small limits, so that a short history meets every rule: spam filter, similar folding, refresh, forgetting. */
const POLICY = {
  burst: 2,
  refillMs: 5 * MIN,
  maxSimilar: 3,
  similarWindowMs: 10 * MIN,
  refreshMs: 30 * MIN,
  forgetAfterMs: 60 * MIN,
  maxSeries: 6,
};

interface Step {
  advanceMs: number;
  events: { object: number; reason: number; message: number; standing: boolean }[];
  /** Per write of the pass: recorded, failed, or failed because the Event is gone. */
  outcomes: ("ok" | "failed" | "gone")[];
}

const step: fc.Arbitrary<Step> = fc.record({
  advanceMs: fc.oneof(
    fc.constant(0),
    fc.integer({ min: 0, max: 5 * MIN }),
    fc.integer({ min: 0, max: 70 * MIN }),
  ),
  events: fc.array(
    fc.record({
      object: fc.integer({ min: 0, max: 3 }),
      reason: fc.integer({ min: 0, max: 1 }),
      message: fc.integer({ min: 0, max: 5 }),
      standing: fc.boolean(),
    }),
    { maxLength: 8 },
  ),
  outcomes: fc.array(fc.constantFrom<"ok" | "failed" | "gone">("ok", "ok", "ok", "failed", "gone"), {
    maxLength: 12,
  }),
});

function eventOf(e: Step["events"][number]): EventAction {
  const name = `svc-${e.object}`;
  return {
    kind: "event",
    involved: { apiVersion: "v1", kind: "Service", namespace: "demo", name, uid: `uid-${e.object}` },
    type: "Warning",
    // A reason is standing or not, as decide() makes them: the same reason never comes both ways.
    reason: `R${e.reason}${e.standing ? "s" : "c"}`,
    message: `m${e.message}`,
    standing: e.standing,
  };
}

interface Correlator {
  correlate(events: readonly EventAction[], nowMs: number): EventWrite[];
  recorded(key: string, name: string | undefined): void;
  failed(key: string, gone?: boolean): void;
  readonly size: number;
  suppressed: number;
}

/** Runs the history; one line per write and pass, plus what it remembers and held back after each pass. */
function replay(c: Correlator, history: readonly Step[]): string[] {
  const out: string[] = [];
  let now = 0;
  let names = 0;
  for (const s of history) {
    now += s.advanceMs;
    const writes = c.correlate(s.events.map(eventOf), now);
    writes.forEach((w, i) => {
      out.push(`${w.kind} ${w.key} name=${w.name ?? ""} count=${w.count} ${w.firstMs}-${w.lastMs}`);
      const outcome = s.outcomes[i] ?? "ok";
      if (outcome === "ok") c.recorded(w.key, `event-${++names}`);
      else c.failed(w.key, outcome === "gone");
    });
    out.push(`pass at ${now}: ${c.size} series, ${c.suppressed} held`);
  }
  return out;
}

describe("EventCorrelator: a pass walks what it touches, with the same writes as walking every series", () => {
  it("random histories: the same writes, counts, series kept and writes held, pass by pass", () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 25 }), (history) => {
        // Swept on every pass, as the one before did: the writes must be exactly the same.
        const now = replay(new EventCorrelator({ ...POLICY, sweepMs: 0 }), history);
        assert.deepEqual(now, replay(new Legacy(POLICY), history));
      }),
      { numRuns: 400 },
    );
  });
});
