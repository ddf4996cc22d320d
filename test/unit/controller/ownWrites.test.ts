// Read your own writes: the cached list with the controller's written objects in place of older copies, until
// the cache holds that version or a later one.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OwnEchoes, OwnWrites, includes, overlayWrites } from "../../../src/controller/ownWrites.js";

interface Obj {
  [key: string]: unknown;
  apiVersion: string;
  kind: string;
  metadata: { namespace: string; name: string; uid?: string; resourceVersion?: string };
  note?: string;
}

const obj = (name: string, rv: string | undefined, note = "cache", uid = `uid-${name}`): Obj => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { namespace: "demo", name, uid, ...(rv === undefined ? {} : { resourceVersion: rv }) },
  note,
});

const notes = (list: readonly Obj[]): string[] =>
  list.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion ?? "-"}:${o.note ?? ""}`);

describe("read your own writes", () => {
  it("resourceVersions compare as integers (9 < 10); one that is not an integer counts as caught up", () => {
    assert.equal(includes("10", "9"), true);
    assert.equal(includes("9", "10"), false);
    assert.equal(includes("10", "10"), true);
    assert.equal(includes("abc", "10"), true);
    assert.equal(includes(undefined, "10"), true);
  });

  const table: {
    name: string;
    cached: Obj[];
    written: Obj[];
    cacheRv: string;
    created: boolean;
    want: string[];
    caughtUp: string[];
  }[] = [
    {
      name: "the cache lags: our copy is read",
      cached: [obj("a", "5"), obj("b", "6")],
      written: [obj("a", "9", "ours")],
      cacheRv: "8",
      created: false,
      want: ["a@9:ours", "b@6:cache"],
      caughtUp: [],
    },
    {
      name: "the cache holds our write: the cached copy is read, ours forgotten",
      cached: [obj("a", "9")],
      written: [obj("a", "9", "ours")],
      cacheRv: "9",
      created: false,
      want: ["a@9:cache"],
      caughtUp: ["demo/a"],
    },
    {
      name: "someone changed it after us: the newer cached copy wins",
      cached: [obj("a", "12", "theirs")],
      written: [obj("a", "9", "ours")],
      cacheRv: "12",
      created: false,
      want: ["a@12:theirs"],
      caughtUp: ["demo/a"],
    },
    {
      name: "deleted and created again under the same name: the new object, not our write to the old one",
      cached: [obj("a", "4", "new", "uid-new")],
      written: [obj("a", "9", "ours")],
      cacheRv: "4",
      created: false,
      want: ["a@4:new"],
      caughtUp: ["demo/a"],
    },
    {
      name: "a Service gone from the cache was deleted: not brought back",
      cached: [],
      written: [obj("a", "9", "ours")],
      cacheRv: "3",
      created: false,
      want: [],
      caughtUp: ["demo/a"],
    },
    {
      name: "an object we created that the cache has not seen yet is read",
      cached: [],
      written: [obj("cm", "9", "ours")],
      cacheRv: "8",
      created: true,
      want: ["cm@9:ours"],
      caughtUp: [],
    },
    {
      name: "an object we created, then deleted by someone, once the cache is past our write: gone",
      cached: [],
      written: [obj("cm", "9", "ours")],
      cacheRv: "11",
      created: true,
      want: [],
      caughtUp: ["demo/cm"],
    },
  ];
  for (const c of table) {
    it(c.name, () => {
      const written = new Map(c.written.map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));
      const got = overlayWrites(c.cached, written, c.cacheRv, c.created);
      assert.deepEqual(notes(got.list), c.want);
      assert.deepEqual(got.caughtUp, c.caughtUp);
    });
  }

  it("OwnWrites keeps the newest of writes answered out of order and forgets what the cache caught up with", () => {
    const own = new OwnWrites(false);
    own.remember(obj("a", "10", "second"));
    own.remember(obj("a", "9", "first"));
    assert.deepEqual(notes(own.overlay([obj("a", "5")], "8")), ["a@10:second"]);
    assert.equal(own.size, 1);
    assert.deepEqual(notes(own.overlay([obj("a", "10")], "10")), ["a@10:cache"]);
    assert.equal(own.size, 0, "nothing held once the cache caught up");
  });
});

describe("OwnEchoes: changes that only echo our own writes", () => {
  const P = "/api/v1/services";
  const change = (name: string, rv: string | undefined, type = "MODIFIED") => ({
    type,
    key: `demo/${name}`,
    resourceVersion: rv,
  });

  it("an event at the version our write was answered with is an echo, even when it came first", () => {
    const e = new OwnEchoes();
    e.observe(P, change("a", "7"));
    e.wrote(P, obj("a", "7"));
    assert.equal(e.onlyEchoes(), true);
    // Consumed: the same event again is not ours any more.
    e.observe(P, change("a", "7"));
    assert.equal(e.onlyEchoes(), false);
  });

  it("another writer's version, a deletion, a list, another kind or no change at all call for a reconcile", () => {
    const cases: [string, (e: OwnEchoes) => void][] = [
      [
        "a later version",
        (e) => {
          e.observe(P, change("a", "8"));
        },
      ],
      [
        "a deletion",
        (e) => {
          e.observe(P, change("a", "7", "DELETED"));
        },
      ],
      [
        "a list",
        (e) => {
          e.observe(P, undefined);
        },
      ],
      [
        "another informer",
        (e) => {
          e.observe("/api/v1/configmaps", change("a", "7"));
        },
      ],
      ["nothing observed (a resync or a retry)", () => undefined],
    ];
    for (const [what, act] of cases) {
      const e = new OwnEchoes();
      e.wrote(P, obj("a", "7"));
      act(e);
      assert.equal(e.onlyEchoes(), false, what);
    }
  });

  it("one real change among echoes is enough; each call starts over", () => {
    const e = new OwnEchoes();
    e.wrote(P, obj("a", "7"));
    e.observe(P, change("a", "7"));
    e.observe(P, change("b", "9"));
    assert.equal(e.onlyEchoes(), false);
    assert.equal(e.onlyEchoes(), false, "nothing since the last call");
  });

  it("a replica that does not reconcile keeps observing without keeping every change", () => {
    const e = new OwnEchoes(100);
    for (let i = 0; i < 1000; i++) e.observe(P, change(`s${i}`, String(i)));
    e.wrote(P, obj("a", "7"));
    e.observe(P, change("a", "7"));
    assert.equal(e.onlyEchoes(), false, "too many to judge: reconcile");
  });
});
