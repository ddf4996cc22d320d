// The controller's writes: the ActionRunner's bookkeeping against a scripted writer, and the API-server writer
// against a recording client, with and without a leadership term.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Manifest } from "../../../src/api/kube.js";
import { GROUP_LABEL, NODE_LABEL } from "../../../src/api/names.js";
import type { Action, EventAction } from "../../../src/controller/decide.js";
import { EventCorrelator, type EventWrite } from "../../../src/controller/eventCorrelator.js";
import {
  ActionRunner,
  apiServerWriter,
  forEachLimited,
  type ClusterWriter,
  type WrittenObject,
} from "../../../src/controller/writer.js";
import { ApiError, type KubeClient } from "../../../src/kube/rest.js";
import { LeadershipLostError, LeadershipTerm } from "../../../src/kube/term.js";
import type { LogFields, Logger } from "../../../src/lib/log.js";

const cm: Manifest = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "workers", namespace: "kao" } };
const groupStatus: Manifest = {
  apiVersion: "redhatcop.redhat.io/v1alpha1",
  kind: "KeepalivedGroup",
  metadata: { name: "workers", namespace: "kao" },
  status: { nodes: 2 },
};
const svcStatus = (name: string): Manifest => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: "demo" },
  status: { loadBalancer: {} },
});
const problem = (message: string, standing = true): EventAction => ({
  kind: "event",
  involved: { apiVersion: "v1", kind: "Service", namespace: "demo", name: "web", uid: "u1" },
  type: "Warning",
  reason: "IPInUse",
  message,
  standing,
});

type RequestInit = Parameters<KubeClient["request"]>[2];

function apiError(status: number, reason: string): ApiError {
  return new ApiError(status, reason, "boom", "PATCH", "/x");
}

/** Records every call; throws the error scripted for the call's line, if any. */
function scriptedWriter(errors: Record<string, Error> = {}): ClusterWriter & { calls: string[] } {
  const calls: string[] = [];
  const record = (line: string): Promise<void> => {
    calls.push(line);
    const err = errors[line];
    return err === undefined ? Promise.resolve() : Promise.reject(err);
  };
  return {
    calls,
    apply: async (m, sub) => {
      await record(`apply ${m.kind}${sub === undefined ? "" : "/status"}`);
      return { ...m, metadata: { ...m.metadata, resourceVersion: String(calls.length) } };
    },
    delete: (t) => record(`delete ${t.kind}`),
    event: async (w) => {
      await record(`event ${w.kind} ${w.event.reason} ${w.event.message} count=${w.count}`);
      return `web.${calls.length}`;
    },
  };
}

/** A writer whose every call takes 5 ms; records which calls overlapped, and when each started and ended. */
function overlapWriter(): ClusterWriter & { overlaps: string[]; started: string[]; finished: string[] } {
  const open = new Set<string>();
  const out = { overlaps: [] as string[], started: [] as string[], finished: [] as string[] };
  const slow = async (line: string): Promise<undefined> => {
    for (const o of open) out.overlaps.push(`${o} + ${line}`);
    open.add(line);
    out.started.push(line);
    await new Promise((r) => setTimeout(r, 5));
    out.finished.push(line);
    open.delete(line);
    return undefined;
  };
  return {
    ...out,
    apply: (m) => slow(`${m.kind} ${m.metadata.name}`),
    delete: (t) => slow(`delete ${t.kind} ${t.metadata.name}`).then(() => undefined),
    event: (w) => slow(`Event ${w.event.message}`),
  };
}

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log =
    (level: string) =>
    (msg: string, f: LogFields = {}) => {
      lines.push(`${level} ${msg} ${JSON.stringify(f)}`);
    };
  const logger: Logger & { lines: string[] } = {
    lines,
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
    with: () => logger,
  };
  return logger;
}

function counter(): { inc(labels?: Record<string, string>): void; seen: string[] } {
  const seen: string[] = [];
  return { seen, inc: (labels = {}) => seen.push(JSON.stringify(labels)) };
}

describe("ActionRunner", () => {
  it("writes objects in order, then Events; counts each write by kind; hands back what was written", async () => {
    const writer = scriptedWriter();
    const writes = counter();
    const written: WrittenObject[] = [];
    const runner = new ActionRunner(writer, { writes, errors: counter() }, recordingLog(), {
      onWritten: (o) => written.push(o),
    });
    const actions: Action[] = [
      { kind: "apply", manifest: cm },
      problem("first"),
      { kind: "applyStatus", manifest: groupStatus },
      { kind: "delete", target: cm },
    ];
    assert.deepEqual(await runner.run(actions), []);
    assert.deepEqual(writer.calls, [
      "apply ConfigMap",
      "apply KeepalivedGroup/status",
      "delete ConfigMap",
      "event create IPInUse first count=1",
    ]);
    assert.deepEqual(writes.seen, ['{"kind":"ConfigMap"}', '{"kind":"KeepalivedGroup/status"}']);
    assert.deepEqual(
      written.map((o) => [o.kind, o.metadata.resourceVersion]),
      [
        ["ConfigMap", "1"],
        ["KeepalivedGroup", "2"],
      ],
    );
  });

  it("a failed write is logged and counted; retryable ones (and unknown errors) make the reconcile retry", async () => {
    const conflict = apiError(409, "Conflict");
    const invalid = apiError(422, "Invalid");
    const broken = new Error("socket hang up");
    const writer = scriptedWriter({
      "apply ConfigMap": conflict,
      "apply KeepalivedGroup/status": invalid,
      "delete ConfigMap": broken,
    });
    const errors = counter();
    const writes = counter();
    const log = recordingLog();
    const runner = new ActionRunner(writer, { writes, errors }, log);
    const failures = await runner.run([
      { kind: "apply", manifest: cm },
      { kind: "applyStatus", manifest: groupStatus },
      { kind: "delete", target: cm },
      problem("still runs after failures"),
    ]);
    assert.deepEqual(failures, [conflict, broken]);
    assert.equal(writer.calls.length, 4, "every action is tried");
    assert.deepEqual(writes.seen, []);
    assert.deepEqual(errors.seen, [
      '{"kind":"ConfigMap","reason":"Conflict"}',
      '{"kind":"KeepalivedGroup","reason":"Invalid"}',
      '{"kind":"configmaps","reason":"Error"}',
    ]);
    assert.deepEqual(
      log.lines.map((l) => JSON.parse(l.slice(l.indexOf("{"))) as LogFields),
      [
        { object: "ConfigMap kao/workers", error: conflict.message },
        { object: "KeepalivedGroup kao/workers status", error: invalid.message },
        { object: "configmaps kao/workers", error: "socket hang up" },
      ],
    );
  });

  it("a standing problem is recorded once; a change updates its Event's count each time", async () => {
    const writer = scriptedWriter();
    const runner = new ActionRunner(writer, { writes: counter(), errors: counter() }, recordingLog());
    for (let i = 0; i < 3; i++) await runner.run([problem("same problem"), problem("moved", false)]);
    await runner.run([problem("another problem")]);
    assert.deepEqual(writer.calls, [
      "event create IPInUse same problem count=1",
      "event create IPInUse moved count=1",
      "event patch IPInUse moved count=2",
      "event patch IPInUse moved count=3",
      "event create IPInUse another problem count=1",
    ]);
  });

  it("an Event that could not be recorded is logged, not a failure, and tried again next time", async () => {
    const writer = scriptedWriter({ "event create IPInUse flaky count=1": apiError(500, "InternalError") });
    const log = recordingLog();
    const runner = new ActionRunner(writer, { writes: counter(), errors: counter() }, log);
    assert.deepEqual(await runner.run([problem("flaky")]), []);
    assert.match(
      log.lines[0] ?? "",
      /^warn event not recorded .*"object":"Service demo\/web","reason":"IPInUse"/,
    );
    await runner.run([problem("flaky")]);
    assert.equal(writer.calls.length, 2);
  });

  it("an Event the API server dropped (404 on patch) is created again", async () => {
    const writer = scriptedWriter({ "event patch IPInUse moved count=2": apiError(404, "NotFound") });
    const runner = new ActionRunner(writer, { writes: counter(), errors: counter() }, recordingLog());
    for (let i = 0; i < 3; i++) await runner.run([problem("moved", false)]);
    assert.deepEqual(writer.calls, [
      "event create IPInUse moved count=1",
      "event patch IPInUse moved count=2",
      "event create IPInUse moved count=3",
    ]);
  });

  it("Service statuses go a few at a time; other writes one by one, in order", async () => {
    let open = 0;
    let most = 0;
    const order: string[] = [];
    const slow = async (line: string): Promise<undefined> => {
      open++;
      most = Math.max(most, open);
      await new Promise((r) => setTimeout(r, 5));
      order.push(line);
      open--;
      return undefined;
    };
    const writer: ClusterWriter = {
      apply: (m) => slow(`${m.kind} ${m.metadata.name}`),
      delete: (t) => slow(`delete ${t.kind}`).then(() => undefined),
      event: () => Promise.resolve(undefined),
    };
    const runner = new ActionRunner(writer, { writes: counter(), errors: counter() }, recordingLog(), {
      concurrency: 4,
    });
    const services = Array.from({ length: 12 }, (_, i): Action => ({
      kind: "applyStatus",
      manifest: svcStatus(`s${i}`),
    }));
    await runner.run([{ kind: "apply", manifest: cm }, ...services, { kind: "delete", target: cm }]);
    assert.equal(most, 4);
    assert.equal(order[0], "ConfigMap workers", "dependent writes keep their place");
    assert.equal(order.at(-1), "delete ConfigMap");
    assert.equal(order.length, 14);
  });

  it("one group's node plans go side by side; what follows them waits for all; groups do not mix", async () => {
    const writer = overlapWriter();
    const { overlaps, finished: order } = writer;
    const runner = new ActionRunner(writer, { writes: counter(), errors: counter() }, recordingLog(), {
      concurrency: 8,
    });
    const nodePlan = (group: string, node: string): Action => ({
      kind: "apply",
      manifest: {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name: `${group}-${node}`,
          namespace: "kao",
          labels: { [GROUP_LABEL]: group, [NODE_LABEL]: node },
        },
      },
    });
    await runner.run([
      nodePlan("a", "n1"),
      nodePlan("a", "n2"),
      nodePlan("a", "n3"),
      { kind: "delete", target: { ...cm, metadata: { name: "a", namespace: "kao" } } },
      nodePlan("b", "n1"),
      nodePlan("c", "n1"),
      { kind: "applyStatus", manifest: groupStatus },
    ]);
    assert.deepEqual(overlaps.sort(), [
      "ConfigMap a-n1 + ConfigMap a-n2",
      "ConfigMap a-n1 + ConfigMap a-n3",
      "ConfigMap a-n2 + ConfigMap a-n3",
    ]);
    assert.deepEqual(order.slice(3), [
      "delete ConfigMap a",
      "ConfigMap b-n1",
      "ConfigMap c-n1",
      "KeepalivedGroup workers",
    ]);
  });

  it("statuses of groups and Services go together after the node plans, and the Events alongside them", async () => {
    const writer = overlapWriter();
    const { overlaps, started } = writer;
    const runner = new ActionRunner(writer, { writes: counter(), errors: counter() }, recordingLog(), {
      concurrency: 8,
      correlator: new EventCorrelator(),
      now: () => 0,
    });
    const plan: Action = {
      kind: "apply",
      manifest: {
        ...cm,
        metadata: { ...cm.metadata, labels: { [GROUP_LABEL]: "workers", [NODE_LABEL]: "n1" } },
      },
    };
    await runner.run([
      plan,
      problem("assigned", false),
      { kind: "applyStatus", manifest: groupStatus },
      { kind: "applyStatus", manifest: svcStatus("s0") },
    ]);
    assert.equal(started[0], "ConfigMap workers", "the node plan goes first, alone");
    assert.deepEqual(
      overlaps.sort(),
      [
        "KeepalivedGroup workers + Service s0",
        "KeepalivedGroup workers + Event assigned",
        "Service s0 + Event assigned",
      ].sort(),
    );
  });

  it("the end of leadership stops the run: nothing more is sent, and the reconcile learns why", async () => {
    const writer = scriptedWriter({
      "apply Service/status": new LeadershipLostError("renew deadline passed"),
    });
    const runner = new ActionRunner(writer, { writes: counter(), errors: counter() }, recordingLog(), {
      concurrency: 1,
    });
    await assert.rejects(
      runner.run([
        { kind: "applyStatus", manifest: svcStatus("a") },
        { kind: "applyStatus", manifest: svcStatus("b") },
        { kind: "apply", manifest: cm },
        problem("never sent"),
      ]),
      LeadershipLostError,
    );
    assert.deepEqual(writer.calls, ["apply Service/status"]);
  });

  it("forEachLimited: a lost term stops the items not yet started", async () => {
    const started: number[] = [];
    await assert.rejects(
      forEachLimited([1, 2, 3, 4, 5, 6], 2, async (n) => {
        started.push(n);
        await new Promise((r) => setTimeout(r, 1));
        if (n === 2) throw new LeadershipLostError("test");
      }),
      LeadershipLostError,
    );
    assert.deepEqual(started, [1, 2, 3]);
  });
});

/** A KubeClient that records requests and answers with the scripted error for a method, if any. */
function recordingClient(errors: Record<string, Error> = {}): {
  client: KubeClient;
  requests: { method: string; path: string; init: RequestInit | undefined }[];
} {
  const requests: { method: string; path: string; init: RequestInit | undefined }[] = [];
  const client = {
    request: (method: string, path: string, init?: RequestInit): Promise<unknown> => {
      requests.push({ method, path, init });
      const err = errors[method];
      if (err !== undefined) return Promise.reject(err);
      return Promise.resolve(method === "POST" ? { metadata: { name: "web.17f3a" } } : {});
    },
  } as unknown as KubeClient;
  return { client, requests };
}

const writeOf = (e: EventAction, w: Partial<EventWrite> = {}): EventWrite => ({
  kind: "create",
  key: "k",
  event: e,
  count: 1,
  firstMs: Date.parse("2025-06-01T12:00:00Z"),
  lastMs: Date.parse("2025-06-01T12:00:00Z"),
  ...w,
});

describe("apiServerWriter", () => {
  const opts = { identity: "replica-a" };

  it("server-side applies objects and statuses as the controller's field manager", async () => {
    const { client, requests } = recordingClient();
    const w = apiServerWriter(client, opts);
    await w.apply(cm);
    await w.apply(groupStatus, "status");
    assert.deepEqual(
      requests.map((r) => [r.method, r.path, r.init?.query, r.init?.contentType]),
      [
        [
          "PATCH",
          "/api/v1/namespaces/kao/configmaps/workers",
          { fieldManager: "keepalived-operator", force: true },
          "application/apply-patch+yaml",
        ],
        [
          "PATCH",
          "/apis/redhatcop.redhat.io/v1alpha1/namespaces/kao/keepalivedgroups/workers/status",
          { fieldManager: "keepalived-operator", force: true },
          "application/apply-patch+yaml",
        ],
      ],
    );
    assert.equal(requests[1]?.init?.body, groupStatus);
  });

  it("deleting what is already gone is fine; other errors surface", async () => {
    const ds: Manifest = {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "old", namespace: "kao" },
    };
    const gone = recordingClient({ DELETE: apiError(404, "NotFound") });
    await apiServerWriter(gone.client, opts).delete(ds);
    assert.deepEqual(
      gone.requests.map((r) => [r.method, r.path]),
      [["DELETE", "/apis/apps/v1/namespaces/kao/daemonsets/old"]],
    );
    const down = recordingClient({ DELETE: apiError(503, "ServiceUnavailable") });
    await assert.rejects(apiServerWriter(down.client, opts).delete(ds), /503/);
  });

  it("creates Events with the series' count and times, the message cut to 1024 characters", async () => {
    const { client, requests } = recordingClient();
    const w = apiServerWriter(client, opts);
    const name = await w.event(
      writeOf(problem("x".repeat(2000)), { count: 3, lastMs: Date.parse("2025-06-01T12:05:00Z") }),
    );
    assert.equal(name, "web.17f3a");
    const { uid: _uid, ...withoutUid } = problem("short").involved;
    await w.event(writeOf({ ...problem("short"), involved: withoutUid }));
    const first = requests[0]!;
    assert.equal(first.path, "/api/v1/namespaces/demo/events");
    assert.deepEqual(first.init?.body, {
      apiVersion: "v1",
      kind: "Event",
      metadata: { generateName: "web.", namespace: "demo" },
      involvedObject: { apiVersion: "v1", kind: "Service", namespace: "demo", name: "web", uid: "u1" },
      type: "Warning",
      reason: "IPInUse",
      message: "x".repeat(1024),
      source: { component: "keepalived-operator" },
      reportingComponent: "keepalived-operator",
      reportingInstance: "replica-a",
      firstTimestamp: "2025-06-01T12:00:00.000Z",
      lastTimestamp: "2025-06-01T12:05:00.000Z",
      count: 3,
    });
    assert.deepEqual((requests[1]?.init?.body as { involvedObject: unknown }).involvedObject, withoutUid);
  });

  it("updates a series' Event with a merge patch of its count, last time and message", async () => {
    const { client, requests } = recordingClient();
    const w = apiServerWriter(client, opts);
    const name = await w.event(writeOf(problem("again"), { kind: "patch", name: "web.1", count: 4 }));
    assert.equal(name, "web.1");
    assert.deepEqual(
      requests.map((r) => [r.method, r.path, r.init?.contentType, r.init?.body]),
      [
        [
          "PATCH",
          "/api/v1/namespaces/demo/events/web.1",
          "application/merge-patch+json",
          { count: 4, lastTimestamp: "2025-06-01T12:00:00.000Z", message: "again" },
        ],
      ],
    );
  });

  it("bound to a term: each request carries its signal; after the term nothing is sent", async () => {
    let clock = 0;
    const term = new LeadershipTerm(10_000, 0, () => clock);
    const { client, requests } = recordingClient();
    const w = apiServerWriter(client, { ...opts, fence: term });
    await w.apply(cm);
    assert.equal(requests[0]?.init?.signal, term.signal);
    clock = 10_000;
    await assert.rejects(w.apply(cm), LeadershipLostError);
    await assert.rejects(w.event(writeOf(problem("late"))), /renew deadline passed/);
    await assert.rejects(w.delete(cm), LeadershipLostError);
    assert.equal(requests.length, 1, "nothing after the deadline");
    assert.ok(term.signal.aborted, "the check itself ends the term");
  });

  it("a write answered after the term ended is reported (it may have landed too late)", async () => {
    let clock = 0;
    const term = new LeadershipTerm(10_000, 0, () => clock);
    const late: string[] = [];
    const client = {
      request: () => {
        clock = 20_000;
        return Promise.resolve({});
      },
    } as unknown as KubeClient;
    const w = apiServerWriter(client, { ...opts, fence: term, afterLeaseLost: (what) => late.push(what) });
    await w.apply(cm);
    assert.deepEqual(late, ["apply ConfigMap"]);
  });
});

describe("ActionRunner with a correlator", () => {
  it("15,000 problems of one Service: a handful of Events, and other objects' writes go first", async () => {
    const writer = scriptedWriter();
    const runner = new ActionRunner(writer, { writes: counter(), errors: counter() }, recordingLog(), {
      correlator: new EventCorrelator(),
      now: () => 0,
    });
    const problems = Array.from({ length: 15_000 }, (_, i) => problem(`bogus key k${i}`));
    await runner.run([...problems, { kind: "applyStatus", manifest: svcStatus("other") }]);
    assert.equal(writer.calls[0], "apply Service/status");
    const events = writer.calls.filter((c) => c.startsWith("event"));
    assert.ok(events.length <= 10, `${events.length} Events`);
    assert.match(
      events.at(-1) ?? "",
      /^event create IPInUse \(combined from similar events\): bogus key k5 /,
    );
  });
});
