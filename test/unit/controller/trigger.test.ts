// The controller's work queue: one key, "make the cluster right"; bursts coalesce, failures back off.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BURST_PAUSE_MAX_MS,
  BURST_SERVICES,
  ReconcileTrigger,
  burstPauseMs,
  type Outcome,
} from "../../../src/controller/trigger.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `done` holds (a busy machine delays timers), for at most two seconds. */
async function until(done: () => boolean): Promise<void> {
  for (let waited = 0; !done() && waited < 2000; waited += 5) await sleep(5);
}

function trigger(outcomes: Outcome[] = []): {
  t: ReconcileTrigger;
  runs: () => number;
  errors: [string, number][];
} {
  let runs = 0;
  const errors: [string, number][] = [];
  const t = new ReconcileTrigger(
    () => {
      runs++;
      return Promise.resolve(outcomes.shift() ?? { kind: "done" });
    },
    {
      coalesceMs: 5,
      resyncMs: 60_000,
      onError: (err, retryInMs) => {
        errors.push([err.message, retryInMs]);
      },
    },
  );
  return { t, runs: () => runs, errors };
}

describe("ReconcileTrigger", () => {
  it("plans nothing before start; then a burst of changes is one reconcile", async () => {
    const { t, runs } = trigger();
    t.kick();
    await sleep(20);
    assert.equal(runs(), 0, "half-filled caches are not planned from");
    t.start();
    for (let i = 0; i < 10; i++) t.kick();
    await until(() => runs() > 0);
    await sleep(30);
    assert.equal(runs(), 1);
    t.stop();
  });

  it("a retry backs off and tries again; requeueAfter comes back after its delay", async () => {
    const { t, runs, errors } = trigger([
      { kind: "retry", error: new Error("conflict") },
      { kind: "requeueAfter", ms: 10 },
    ]);
    t.start();
    await until(() => runs() === 3);
    await sleep(30);
    assert.deepEqual(errors, [["conflict", 100]]);
    assert.equal(runs(), 3, "retry, requeue, done");
    t.stop();
  });

  it("a reconcile that throws counts as a retry", async () => {
    const errors: string[] = [];
    const t = new ReconcileTrigger(() => Promise.reject(new Error("thrown")), {
      coalesceMs: 5,
      resyncMs: 60_000,
      onError: (err) => errors.push(err.message),
    });
    t.start();
    await until(() => errors.length > 0);
    t.stop();
    assert.deepEqual(errors, ["thrown"]);
  });

  it("a pass that asks for a pause while changes wait: the next one waits; with none waiting, nothing does", async () => {
    let runs = 0;
    let kickDuring = true;
    const t: ReconcileTrigger = new ReconcileTrigger(
      async () => {
        runs++;
        // Changes arrive while the first pass runs (a burst), or not.
        if (kickDuring) t.kick();
        await new Promise((resolve) => setImmediate(resolve));
        return { kind: "done", pauseMs: 60_000 };
      },
      { coalesceMs: 5, resyncMs: 600_000, onError: () => {} },
    );
    t.start();
    try {
      await until(() => runs >= 1);
      await sleep(100);
      assert.equal(runs, 1, "the pass that waited is held for the pause, not run at once");
    } finally {
      t.stop();
    }

    runs = 0;
    kickDuring = false;
    const quiet = new ReconcileTrigger(
      () => {
        runs++;
        return Promise.resolve({ kind: "done", pauseMs: 60_000 });
      },
      { coalesceMs: 5, resyncMs: 600_000, onError: () => {} },
    );
    quiet.start();
    try {
      await until(() => runs === 1);
      quiet.kick();
      await until(() => runs === 2);
      assert.equal(runs, 2, "a change after a pass with nothing waiting is reconciled without the pause");
    } finally {
      quiet.stop();
    }
  });

  it("burstPauseMs: none below BURST_SERVICES statuses, then twice the pass up to the cap", () => {
    assert.equal(burstPauseMs(900, BURST_SERVICES - 1), 0);
    assert.equal(burstPauseMs(0.4, 1), 0);
    assert.equal(burstPauseMs(120.3, BURST_SERVICES), 241);
    assert.equal(burstPauseMs(900, 5000), 1800);
    assert.equal(burstPauseMs(20_000, 10_000), BURST_PAUSE_MAX_MS);
  });

  it("after stop nothing runs", async () => {
    const { t, runs } = trigger();
    t.start();
    t.stop();
    t.kick();
    await sleep(30);
    assert.equal(runs(), 0);
  });
});
