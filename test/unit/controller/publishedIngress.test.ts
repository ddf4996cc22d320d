// The published IPs the controller keeps across reconciles (ReconcileMemo.publishedIngress, issue #13) are, after
// every pass of a random history, exactly those a fresh snapshot reads: Services added, replaced, kept as the
// same object, deleted, listed in any order, with our ingress, someone else's or none; now and then two
// Services of one key. Only the walk along the previous list is under test: the planner reads the same values.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { buildSnapshot, ReconcileMemo } from "../../../src/controller/snapshot.js";
import { PublishedIngress } from "../../../src/core/publishedIngress.js";
import type { ServiceWithManagedFields } from "../../../src/render/serviceStatus.js";
import { cluster, ours, service, theirs } from "./cluster.js";

const KEYS = ["a", "b", "c", "d", "e", "f"] as const;

const entry = fc.record({
  name: fc.constantFrom(...KEYS),
  // keep: the same object as in the pass before, when there was one.
  how: fc.constantFrom("keep", "keep", "ours", "theirs", "none", "gone"),
  ips: fc.subarray(["198.18.10.1", "198.18.10.2", "2001:db8::1"], { minLength: 1 }),
});

const pass = fc.record({
  entries: fc.array(entry, { maxLength: 10 }),
  order: fc.nat(),
  duplicate: fc.boolean(),
});

const noPlacement = (): undefined => undefined;

describe("published IPs kept across reconciles", () => {
  it("after every pass of a random history: the same IPs as a fresh snapshot, and no others", () => {
    fc.assert(
      fc.property(fc.array(pass, { minLength: 1, maxLength: 12 }), (passes) => {
        const memo = new ReconcileMemo();
        let objects = new Map<string, ServiceWithManagedFields>();
        for (const p of passes) {
          const next = new Map(objects);
          for (const e of p.entries) {
            const before = objects.get(e.name);
            if (e.how === "gone") next.delete(e.name);
            else if (e.how === "keep") {
              if (before !== undefined) next.set(e.name, before);
            } else
              next.set(
                e.name,
                service(e.name, {
                  ...(e.how === "none" ? {} : { ingress: e.ips }),
                  managedFields: e.how === "ours" ? ours : e.how === "theirs" ? theirs : [],
                }),
              );
          }
          objects = next;
          // Any order, as a cache lists them; sometimes a second object of one key (never from a cache).
          const list = [...objects.values()];
          const rotated = [
            ...list.slice(p.order % (list.length || 1)),
            ...list.slice(0, p.order % (list.length || 1)),
          ];
          const first = rotated[0];
          if (p.duplicate && first !== undefined)
            rotated.push(
              service(first.metadata.name ?? "", { ingress: ["198.18.10.9"], managedFields: ours }),
            );
          const state = cluster({ services: rotated });
          const fresh = buildSnapshot(state, noPlacement).ownIngress as Record<string, string[]>;
          const kept = buildSnapshot(state, noPlacement, memo).ownIngress;
          assert.ok(kept instanceof PublishedIngress);
          for (const name of KEYS)
            assert.deepStrictEqual(kept.get(`demo/${name}`), fresh[`demo/${name}`], name);
          assert.equal(kept.size, Object.keys(fresh).length, "no entry of a Service that is gone");
        }
      }),
      { seed: 1327, numRuns: 400 },
    );
  });

  it("an entry whose IPs are the same is the same list: the planner's memo finds its inputs unchanged", () => {
    const memo = new ReconcileMemo();
    const one = service("a", { ingress: ["198.18.10.1"], managedFields: ours });
    const first = buildSnapshot(cluster({ services: [one] }), noPlacement, memo)
      .ownIngress as PublishedIngress;
    const ips = first.get("demo/a");
    // A new object of the same Service (a label changed), the same IPs.
    const again = service("a", { ingress: ["198.18.10.1"], managedFields: ours });
    const second = buildSnapshot(cluster({ services: [again] }), noPlacement, memo)
      .ownIngress as PublishedIngress;
    assert.equal(second.get("demo/a"), ips);
  });
});
