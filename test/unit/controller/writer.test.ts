// The controller's writes: the ActionRunner's bookkeeping against a scripted writer, and the API-server writer
// against a recording client.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Manifest } from "../../../src/api/kube.js";
import type { Action, EventAction } from "../../../src/controller/decide.js";
import { ActionRunner, apiServerWriter, type ClusterWriter } from "../../../src/controller/writer.js";
import { ApiError, type KubeClient } from "../../../src/kube/rest.js";
import type { LogFields, Logger } from "../../../src/lib/log.js";

const cm: Manifest = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "workers", namespace: "kao" } };
const groupStatus: Manifest = {
  apiVersion: "redhatcop.redhat.io/v1alpha1",
  kind: "KeepalivedGroup",
  metadata: { name: "workers", namespace: "kao" },
  status: { nodes: 2 },
};
const problem = (message: string, once = true): EventAction => ({
  kind: "event",
  involved: { apiVersion: "v1", kind: "Service", namespace: "demo", name: "web", uid: "u1" },
  type: "Warning",
  reason: "IPInUse",
  message,
  once,
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
    apply: (m, sub) => record(`apply ${m.kind}${sub === undefined ? "" : "/status"}`),
    delete: (t) => record(`delete ${t.kind}`),
    event: (e) => record(`event ${e.reason} ${e.message}`),
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
  it("writes in order and counts each write by kind", async () => {
    const writer = scriptedWriter();
    const writes = counter();
    const runner = new ActionRunner(writer, { writes, errors: counter() }, recordingLog());
    const actions: Action[] = [
      { kind: "apply", manifest: cm },
      { kind: "applyStatus", manifest: groupStatus },
      { kind: "delete", target: cm },
    ];
    assert.deepEqual(await runner.run(actions), []);
    assert.deepEqual(writer.calls, ["apply ConfigMap", "apply KeepalivedGroup/status", "delete ConfigMap"]);
    assert.deepEqual(writes.seen, ['{"kind":"ConfigMap"}', '{"kind":"KeepalivedGroup/status"}']);
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

  it("a problem is reported once per lifetime, a change every time", async () => {
    const writer = scriptedWriter();
    const runner = new ActionRunner(writer, { writes: counter(), errors: counter() }, recordingLog());
    for (let i = 0; i < 3; i++) {
      await runner.run([problem("same problem"), problem("moved", false)]);
    }
    await runner.run([problem("another problem")]);
    assert.deepEqual(writer.calls, [
      "event IPInUse same problem",
      "event IPInUse moved",
      "event IPInUse moved",
      "event IPInUse moved",
      "event IPInUse another problem",
    ]);
  });

  it("an Event that could not be recorded is logged, not a failure, and tried again next time", async () => {
    const writer = scriptedWriter({ "event IPInUse flaky": apiError(500, "InternalError") });
    const log = recordingLog();
    const runner = new ActionRunner(writer, { writes: counter(), errors: counter() }, log);
    assert.deepEqual(await runner.run([problem("flaky")]), []);
    assert.match(
      log.lines[0] ?? "",
      /^warn event not recorded .*"object":"Service demo\/web","reason":"IPInUse"/,
    );
    await runner.run([problem("flaky")]);
    assert.deepEqual(writer.calls, ["event IPInUse flaky", "event IPInUse flaky"]);
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
      return err === undefined ? Promise.resolve({}) : Promise.reject(err);
    },
  } as unknown as KubeClient;
  return { client, requests };
}

describe("apiServerWriter", () => {
  const now = (): Date => new Date("2025-06-01T12:00:00Z");

  it("server-side applies objects and statuses as the controller's field manager", async () => {
    const { client, requests } = recordingClient();
    const w = apiServerWriter(client, "replica-a", now);
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
    await apiServerWriter(gone.client, "replica-a", now).delete(ds);
    assert.deepEqual(
      gone.requests.map((r) => [r.method, r.path]),
      [["DELETE", "/apis/apps/v1/namespaces/kao/daemonsets/old"]],
    );
    const down = recordingClient({ DELETE: apiError(503, "ServiceUnavailable") });
    await assert.rejects(apiServerWriter(down.client, "replica-a", now).delete(ds), /503/);
  });

  it("posts Events with the message cut to 1024 characters", async () => {
    const { client, requests } = recordingClient();
    await apiServerWriter(client, "replica-a", now).event(problem("x".repeat(2000)));
    const { uid: _uid, ...withoutUid } = problem("short").involved;
    await apiServerWriter(client, "replica-a", now).event({ ...problem("short"), involved: withoutUid });
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
      lastTimestamp: "2025-06-01T12:00:00.000Z",
      count: 1,
    });
    assert.deepEqual((requests[1]?.init?.body as { involvedObject: unknown }).involvedObject, withoutUid);
  });
});
