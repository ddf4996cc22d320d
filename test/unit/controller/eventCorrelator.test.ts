// Event aggregation and spam filtering, client-go style: passes of decided Events at given times (a fake
// clock passed as a value) → the creates and patches to make.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EventAction } from "../../../src/controller/events.js";
import { EVENT_POLICY, EventCorrelator, type EventWrite } from "../../../src/controller/eventCorrelator.js";

const MIN = 60_000;

function ev(name: string, reason: string, message: string, standing = true): EventAction {
  return {
    kind: "event",
    involved: { apiVersion: "v1", kind: "Service", namespace: "demo", name, uid: `uid-${name}` },
    type: "Warning",
    reason,
    message,
    standing,
  };
}

/** One line per write: `create|patch <object> <reason> <message> count=<n>`. */
function lines(writes: readonly EventWrite[]): string[] {
  return writes.map(
    (w) => `${w.kind} ${w.event.involved.name} ${w.event.reason} ${w.event.message} count=${w.count}`,
  );
}

/** Runs passes and reports each write as recorded, like the writer does. */
function passes(c: EventCorrelator, ...steps: [number, EventAction[]][]): string[][] {
  return steps.map(([at, events]) => {
    const writes = c.correlate(events, at);
    for (const w of writes) c.recorded(w.key, w.name ?? `${w.event.involved.name}.${w.key.length}`);
    return lines(writes);
  });
}

describe("EventCorrelator", () => {
  it("a standing problem: one Event while it lasts; its return after going away counts 2", () => {
    const p = ev("web", "IPInUse", "taken");
    assert.deepEqual(passes(new EventCorrelator(), [0, [p]], [MIN, [p]], [2 * MIN, []], [3 * MIN, [p]]), [
      ["create web IPInUse taken count=1"],
      [],
      [],
      ["patch web IPInUse taken count=2"],
    ]);
  });

  it("a change: every occurrence updates the same Event's count", () => {
    const c = ev("web", "VIPHeld", "held by n1", false);
    assert.deepEqual(passes(new EventCorrelator(), [0, [c]], [1000, [c]], [2000, [c]]), [
      ["create web VIPHeld held by n1 count=1"],
      ["patch web VIPHeld held by n1 count=2"],
      ["patch web VIPHeld held by n1 count=3"],
    ]);
  });

  it("spam filter: 10 writes per object at once, then one per 5 minutes; other objects unaffected", () => {
    const c = new EventCorrelator();
    const many = Array.from({ length: 14 }, (_, i) =>
      ev("noisy", `Reason${String(i).padStart(2, "0")}`, "m"),
    );
    const [first, later, fiveMinutes, tenMinutes] = passes(
      c,
      [0, [...many, ev("quiet", "IPInUse", "taken")]],
      [MIN, many],
      [5 * MIN, many],
      [10 * MIN, many],
    );
    assert.equal(first!.filter((l) => l.includes(" noisy ")).length, EVENT_POLICY.burst);
    assert.ok(first!.includes("create quiet IPInUse taken count=1"));
    assert.deepEqual(later, []);
    assert.deepEqual(fiveMinutes, ["create noisy Reason10 m count=1"]);
    assert.deepEqual(tenMinutes, ["create noisy Reason11 m count=1"]);
    assert.equal(c.suppressed, 4, "each held-back write counted once, however many passes it waits");
  });

  it("a change held back by the spam filter is written later, with every occurrence counted", () => {
    const c = new EventCorrelator({ ...EVENT_POLICY, burst: 1 });
    const change = ev("web", "VIPHeld", "held by n1", false);
    assert.deepEqual(passes(c, [0, [change]], [1000, [change]], [2000, [change]], [5 * MIN, []]), [
      ["create web VIPHeld held by n1 count=1"],
      [],
      [],
      ["patch web VIPHeld held by n1 count=3"],
    ]);
  });

  it("a problem held back by the spam filter that went away is not written late", () => {
    const c = new EventCorrelator({ ...EVENT_POLICY, burst: 1 });
    assert.deepEqual(
      passes(
        c,
        [0, [ev("web", "A", "a"), ev("web", "B", "b")]],
        [1000, [ev("web", "A", "a")]],
        [6 * MIN, []],
      ),
      [["create web A a count=1"], [], []],
    );
  });

  it("similar Events: after 5 distinct messages of one reason, the rest fold into one combined Event", () => {
    const c = new EventCorrelator();
    const bogus = Array.from({ length: 15_000 }, (_, i) => ev("web", "RejectedVerbatimConfig", `key k${i}`));
    const [first, again] = passes(c, [0, bogus], [MIN, bogus]);
    assert.deepEqual(first, [
      "create web RejectedVerbatimConfig key k0 count=1",
      "create web RejectedVerbatimConfig key k1 count=1",
      "create web RejectedVerbatimConfig key k2 count=1",
      "create web RejectedVerbatimConfig key k3 count=1",
      "create web RejectedVerbatimConfig key k4 count=1",
      "create web RejectedVerbatimConfig (combined from similar events): key k5 count=1",
    ]);
    assert.deepEqual(again, [], "a standing storm is not written again");
    assert.equal(c.size, 6, "memory holds the series, not the 15,000 messages");
  });

  it("a standing problem is written again every 30 minutes so the API server does not expire it", () => {
    const p = ev("web", "IPInUse", "taken");
    const steps: [number, EventAction[]][] = [0, 10, 20, 30, 40, 60].map((m) => [m * MIN, [p]]);
    assert.deepEqual(passes(new EventCorrelator(), ...steps), [
      ["create web IPInUse taken count=1"],
      [],
      [],
      ["patch web IPInUse taken count=1"],
      [],
      ["patch web IPInUse taken count=1"],
    ]);
  });

  it("a failed write is tried again; a vanished Event is created again", () => {
    const c = new EventCorrelator();
    const change = ev("web", "VIPHeld", "held", false);
    const [w1] = c.correlate([change], 0);
    c.failed(w1!.key);
    const [w2] = c.correlate([], 1000);
    assert.deepEqual(lines([w2!]), ["create web VIPHeld held count=1"]);
    c.recorded(w2!.key, "web.1");
    const [w3] = c.correlate([change], 2000);
    assert.deepEqual([w3?.kind, w3?.name], ["patch", "web.1"]);
    c.failed(w3!.key, true);
    const [w4] = c.correlate([], 3000);
    assert.deepEqual(lines([w4!]), ["create web VIPHeld held count=2"]);
  });

  it("forgets what no longer matters: series unseen for an hour, and beyond its cap", () => {
    const c = new EventCorrelator({ ...EVENT_POLICY, maxSeries: 3 });
    passes(c, [0, ["a", "b", "c", "d", "e"].map((n) => ev(n, "X", "x"))]);
    assert.equal(c.size, 3);
    passes(c, [MIN, []], [2 * 3_600_000, []]);
    assert.equal(c.size, 0);
  });
});
