// The fault suite's checkers on hand-written histories: each one finds the violation it exists for, and
// stays quiet on the histories that are fine (a check that cannot fail proves nothing).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  holderStats,
  ipChanges,
  parseMicroTime,
  routerIdChanges,
  tenures,
  writesOutsideTenure,
  type GroupLike,
  type LeaseLike,
  type ServiceLike,
  type Write,
} from "./support/invariants.js";
import type { Observed } from "./support/recorder.js";

type Kind = Observed<unknown>["type"];

function svc(at: number, type: Kind, uid: string, ips: string[], deleting = false): Observed<ServiceLike> {
  return {
    at,
    type,
    object: {
      metadata: {
        uid,
        namespace: "apps",
        name: `s-${uid}`,
        ...(deleting ? { deletionTimestamp: "2026-01-01T00:00:00Z" } : {}),
      },
      status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } },
    },
  };
}

describe("ipChanges", () => {
  it("is quiet while each Service keeps its first IP, across relists", () => {
    const h = [
      svc(1, "ADDED", "a", []),
      svc(2, "MODIFIED", "a", ["198.18.0.1"]),
      svc(3, "LIST", "a", ["198.18.0.1"]),
      svc(4, "MODIFIED", "a", ["198.18.0.1"]),
    ];
    assert.deepEqual(ipChanges(h), []);
  });

  it("finds an IP replaced by another, and one cleared", () => {
    const h = [
      svc(1, "MODIFIED", "a", ["198.18.0.3"]),
      svc(2, "MODIFIED", "a", ["198.18.0.6"]),
      svc(3, "MODIFIED", "b", ["198.18.0.7"]),
      svc(4, "MODIFIED", "b", []),
    ];
    assert.deepEqual(
      ipChanges(h).map((c) => [c.service, c.from, c.to, c.at]),
      [
        ["apps/s-a", ["198.18.0.3"], ["198.18.0.6"], 2],
        ["apps/s-b", ["198.18.0.7"], [], 4],
      ],
    );
  });

  it("forgets a Service once it is deleted or being deleted; a new uid starts afresh", () => {
    const h = [
      svc(1, "MODIFIED", "a", ["198.18.0.1"]),
      svc(2, "MODIFIED", "a", [], true),
      svc(3, "DELETED", "a", []),
      svc(4, "ADDED", "a2", ["198.18.0.9"]),
    ];
    assert.deepEqual(ipChanges(h), []);
  });
});

function group(at: number, ids: Record<string, number> | undefined): Observed<GroupLike> {
  return {
    at,
    type: "MODIFIED",
    object: {
      metadata: { uid: "g", namespace: "ns", name: "g" },
      ...(ids === undefined ? {} : { status: { routerIDs: ids } }),
    },
  };
}

describe("routerIdChanges", () => {
  it("finds an instance whose router ID changed, even across a status without routerIDs", () => {
    const h = [
      group(1, { "node/n1/ipv4": 3, "node/n2/ipv4": 4 }),
      group(2, undefined),
      group(3, { "node/n1/ipv4": 5 }),
    ];
    assert.deepEqual(
      routerIdChanges(h).map((c) => [c.instance, c.from, c.to]),
      [["node/n1/ipv4", 3, 5]],
    );
  });

  it("lets a key that left the map come back with another ID (its instance was gone)", () => {
    const h = [group(1, { "service/apps/x/ipv4": 7 }), group(2, {}), group(3, { "service/apps/x/ipv4": 8 })];
    assert.deepEqual(routerIdChanges(h), []);
  });
});

function lease(at: number, holder: string, acquireTime: string): Observed<LeaseLike> {
  return { at, type: "MODIFIED", object: { spec: { holderIdentity: holder, acquireTime } } };
}

const T0 = Date.parse("2026-01-01T00:00:00Z");
const write = (writer: string, at: number, code = 200): Write => ({
  writer,
  verb: "patch",
  object: "services/status apps/x",
  code,
  at: T0 + at,
});

describe("tenures and writesOutsideTenure", () => {
  const history = [
    lease(T0 + 10, "a", "2026-01-01T00:00:00.000000Z"),
    lease(T0 + 500, "a", "2026-01-01T00:00:00.000000Z"),
    lease(T0 + 5100, "b", "2026-01-01T00:00:05.000500Z"),
  ];

  it("turns the Lease history into tenures that end at the next holder's acquireTime", () => {
    assert.deepEqual(tenures(history), [
      { holder: "a", from: T0, until: T0 + 5000.5 },
      { holder: "b", from: T0 + 5000.5, until: Infinity },
    ]);
  });

  it("finds the old leader's successful write after the lease moved, and a write before any tenure", () => {
    const writes = [
      write("a", 100),
      write("b", -5),
      write("a", 4999),
      write("a", 5001),
      write("a", 6000, 409),
      write("b", 5001),
    ];
    assert.deepEqual(
      writesOutsideTenure(writes, tenures(history)).map((w) => [w.writer, w.at - T0]),
      [
        ["b", -5],
        ["a", 5001],
      ],
    );
  });

  it("parses MicroTime to fractions of a millisecond", () => {
    assert.equal(parseMicroTime("2026-01-01T00:00:01.234567Z"), T0 + 1234.567);
    assert.equal(parseMicroTime("2026-01-01T00:00:01Z"), T0 + 1000);
    assert.ok(Number.isNaN(parseMicroTime("yesterday")));
  });
});

describe("holderStats", () => {
  it("counts the most holders at once and the samples with several or none", () => {
    const s = holderStats([
      { at: 0, holders: ["n1"] },
      { at: 10, holders: ["n1", "n2"] },
      { at: 20, holders: [] },
      { at: 30, holders: ["n1", "n2", "n3"] },
    ]);
    assert.deepEqual(s, { samples: 4, max: 3, multi: 2, none: 1 });
  });
});
