// Leadership terms and the LeaderElector against a scripted Lease store: a term ends the moment renewal is
// refused or its deadline passes (on the monotonic clock, even with no timer run), and its end aborts every
// request bound to it.
import assert from "node:assert/strict";
import { once } from "node:events";
import { describe, it } from "node:test";
import { LeaderElector, LeadershipLostError, LeadershipTerm } from "../../../src/kube/leader.js";
import { ApiError, type KubeClient, type RequestInit } from "../../../src/kube/rest.js";
import type { Logger } from "../../../src/lib/log.js";

const quiet: Logger = { info() {}, warn() {}, error() {}, with: () => quiet };

describe("LeadershipTerm", () => {
  it("lasts renewDeadline from the start of the last successful renewal, on the clock given", () => {
    let clock = 1000;
    const term = new LeadershipTerm(10_000, 1000, () => clock);
    clock = 10_999;
    term.check();
    term.renewed(5000);
    clock = 14_999;
    assert.equal(term.ended, undefined);
    assert.equal(term.remainingMs(), 1);
    clock = 15_000;
    assert.throws(() => {
      term.check();
    }, LeadershipLostError);
    assert.equal(term.ended, "renew deadline passed");
    assert.ok(term.signal.aborted, "the first look after the deadline ends it, timer or not");
    term.renewed(15_000);
    assert.equal(term.ended, "renew deadline passed", "an ended term stays ended");
  });

  it("a renewal that started earlier never shortens the term", () => {
    let clock = 0;
    const term = new LeadershipTerm(10_000, 5000, () => clock);
    term.renewed(1000);
    clock = 14_000;
    assert.equal(term.ended, undefined);
    term.end("test over");
  });

  it("ends on its own at the deadline and aborts what is bound to its signal", async () => {
    const term = new LeadershipTerm(30, performance.now());
    const aborted = once(term.signal, "abort");
    await aborted;
    assert.equal(term.ended, "renew deadline passed");
    assert.ok(term.signal.reason instanceof LeadershipLostError);
  });

  it("end() is immediate and keeps the first reason", () => {
    const term = new LeadershipTerm(10_000, performance.now());
    term.end("another replica holds the lease");
    term.end("released");
    assert.equal(term.ended, "another replica holds the lease");
    assert.throws(() => {
      term.check();
    }, /another replica holds the lease/);
  });
});

interface LeaseSpec {
  holderIdentity?: string;
  renewTime?: string;
  leaseDurationSeconds?: number;
  leaseTransitions?: number;
}

/** A Lease store behind KubeClient.request; `hang` makes every request wait until it is aborted. */
class LeaseStore {
  lease: { metadata: { name: string; resourceVersion: string }; spec: LeaseSpec } | undefined;
  hang = false;
  aborted = 0;
  puts: string[] = [];
  private rv = 1;

  readonly client = {
    request: (method: string, path: string, init: RequestInit = {}): Promise<unknown> => {
      if (this.hang) {
        return new Promise((_, reject) => {
          init.signal?.addEventListener("abort", () => {
            this.aborted++;
            reject(new ApiError(0, "Aborted", "aborted", method, path));
          });
        });
      }
      return Promise.resolve().then(() => this.answer(method, path, init));
    },
  } as unknown as KubeClient;

  private answer(method: string, path: string, init: RequestInit): unknown {
    if (method === "GET") {
      if (this.lease === undefined) throw new ApiError(404, "NotFound", "", method, path);
      return structuredClone(this.lease);
    }
    const body = init.body as { spec: LeaseSpec; metadata: { resourceVersion?: string } };
    if (method === "PUT" && body.metadata.resourceVersion !== this.lease?.metadata.resourceVersion)
      throw new ApiError(409, "Conflict", "", method, path);
    this.puts.push(body.spec.holderIdentity ?? "");
    this.lease = { metadata: { name: "op", resourceVersion: String(++this.rv) }, spec: body.spec };
    return structuredClone(this.lease);
  }

  /** Another replica writes the lease as its own. */
  takeOver(identity: string): void {
    this.lease = {
      metadata: { name: "op", resourceVersion: String(++this.rv) },
      spec: { ...this.lease?.spec, holderIdentity: identity, renewTime: new Date().toISOString() },
    };
  }
}

const timings = { leaseDurationMs: 400, renewDeadlineMs: 200, retryPeriodMs: 20 };

function elector(store: LeaseStore, identity = "a"): LeaderElector {
  return new LeaderElector(store.client, { namespace: "ns", name: "op", identity, ...timings }, quiet);
}

/** Runs the elector; resolves with its term once it leads. */
function lead(e: LeaderElector): { term: Promise<LeadershipTerm>; stopped: Promise<void> } {
  let started: (t: LeadershipTerm) => void = () => undefined;
  let stopped: () => void = () => undefined;
  const term = new Promise<LeadershipTerm>((r) => (started = r));
  const done = new Promise<void>((r) => (stopped = r));
  void e.run(started, stopped);
  return { term, stopped: done };
}

describe("LeaderElector", () => {
  it("renewal that hangs: the term ends at the deadline and the hanging request is aborted", async () => {
    const store = new LeaseStore();
    const e = elector(store);
    const run = lead(e);
    const term = await run.term;
    assert.equal(store.lease?.spec.holderIdentity, "a");
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(term.ended, undefined, "renewals keep it");
    store.hang = true;
    await run.stopped;
    assert.equal(term.ended, "renew deadline passed");
    assert.ok(store.aborted >= 1, "the renewal in flight was aborted");
    assert.equal(e.isLeader, false);
  });

  it("another replica holds the lease: the term ends at the next renewal", async () => {
    const store = new LeaseStore();
    const run = lead(elector(store));
    const term = await run.term;
    store.takeOver("b");
    await run.stopped;
    assert.equal(term.ended, "another replica holds the lease");
  });

  it("a standby waits while the holder renews and takes over once the record stops changing", async () => {
    const store = new LeaseStore();
    store.takeOver("a");
    const renewing = setInterval(() => {
      store.takeOver("a");
    }, 20);
    const run = lead(elector(store, "b"));
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(store.lease?.spec.holderIdentity, "a", "no takeover while the holder renews");
    clearInterval(renewing);
    const term = await run.term;
    assert.equal((store.lease as { spec: LeaseSpec }).spec.holderIdentity, "b");
    assert.equal(term.ended, undefined);
    term.end("test over");
  });

  it("a standby waits for the holder's lease duration, not its own", async () => {
    const store = new LeaseStore();
    store.takeOver("a");
    (store.lease as { spec: LeaseSpec }).spec.leaseDurationSeconds = 1;
    const e = new LeaderElector(
      store.client,
      {
        namespace: "ns",
        name: "op",
        identity: "b",
        leaseDurationMs: 600_000,
        renewDeadlineMs: 200,
        retryPeriodMs: 20,
      },
      quiet,
    );
    const run = lead(e);
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([
      run.term.then((t) => {
        t.end("test over");
        return "took over";
      }),
      new Promise((r) => (timer = setTimeout(r, 20_000, "still waiting after 20 s"))),
    ]);
    clearTimeout(timer);
    await e.release();
    assert.equal(waited, "took over", "the holder declared 1 s; the standby's own 600 s must not apply");
    assert.equal(store.lease?.spec.holderIdentity, "b");
    assert.equal(store.lease.spec.leaseDurationSeconds, 600, "the new holder declares its own");
  });

  it("release ends the term before the lease is handed back", async () => {
    const store = new LeaseStore();
    const e = elector(store);
    const run = lead(e);
    const term = await run.term;
    await e.release();
    assert.equal(term.ended, "released");
    assert.equal(store.puts.at(-1), "", "holder cleared");
  });
});
