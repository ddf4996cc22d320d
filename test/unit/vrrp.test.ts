// Timing profiles and priorities: what spec.vrrp.timing gives for each VRRP version, what the status says
// failover costs, and priorities spaced so that exactly one backup takes over.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chrtArgs } from "../../src/agent/scheduling.js";
import type { KeepalivedGroupSpec } from "../../src/api/types.js";
import { HANDOVER_PRIORITY, priorityForRank } from "../../src/core/clusterPlan.js";
import { validateGroup } from "../../src/core/group.js";
import { planCluster } from "../../src/core/plan.js";
import { failoverEstimate, TIMING_ADVERT_MS, VRRP2_ADVERT_MS } from "../../src/core/vrrp.js";
import { renderKeepalivedConf } from "../../src/render/keepalivedConf.js";
import { desiredDaemonSet, groupStatus } from "../../src/render/objects.js";
import { parsePlan, serializeGroupPlan } from "../../src/render/planCodec.js";

const validate = (spec: KeepalivedGroupSpec) =>
  validateGroup({ metadata: { name: "g", namespace: "ns" }, spec: { interface: "eth0", ...spec } });
const advertOf = (spec: KeepalivedGroupSpec): number => {
  const r = validate(spec);
  assert.ok(r.ok, JSON.stringify(r));
  return r.model.vrrp.advertIntervalMs;
};
const password = { secretRef: { name: "pw" } };

describe("timing profiles", () => {
  it("Default is sub-second, Fast between Default and Fastest; each valid VRRPv3 (whole centiseconds)", () => {
    assert.equal(advertOf({}), TIMING_ADVERT_MS.Default);
    const ms: Record<string, number> = TIMING_ADVERT_MS;
    assert.ok((ms.Default ?? 0) < 1000);
    assert.ok((ms.Default ?? 0) > (ms.Fast ?? 0) && (ms.Fast ?? 0) > (ms.Fastest ?? 0));
    for (const timing of ["Default", "Fast", "Fastest"] as const) {
      assert.equal(advertOf({ vrrp: { timing } }), TIMING_ADVERT_MS[timing]);
      assert.equal(TIMING_ADVERT_MS[timing] % 10, 0);
    }
  });
  it("passwordAuth (VRRPv2) keeps whole-second adverts for Default; faster profiles are refused", () => {
    assert.equal(advertOf({ passwordAuth: password }), VRRP2_ADVERT_MS);
    assert.equal(advertOf({ vrrp: { version: 2, timing: "Default" } }), VRRP2_ADVERT_MS);
    for (const timing of ["Fast", "Fastest"] as const) {
      const r = validate({ passwordAuth: password, vrrp: { timing } });
      assert.ok(!r.ok);
      assert.match(r.errors[0]?.message ?? "", /whole seconds/);
    }
  });
  it("an unknown profile is an error naming the field and the choices", () => {
    const r = validate({ vrrp: { timing: "Turbo" as "Fast" } });
    assert.ok(!r.ok);
    const [error] = r.errors;
    assert.ok(error);
    assert.equal(error.field, "spec.vrrp.timing");
    assert.match(error.message, /"Turbo" is not a timing profile; use Default, Fast, Fastest/);
    const inherited = validate({ vrrp: { timing: "toString" as "Fast" } });
    assert.ok(!inherited.ok, "only the profiles themselves, not what every object has");
  });
  it("the status says what failover costs, and why when passwordAuth forces VRRPv2", () => {
    const fast = validate({});
    assert.ok(fast.ok);
    assert.equal(
      failoverEstimate(fast.model.vrrp, false),
      `about ${3 * TIMING_ADVERT_MS.Default} ms (VRRP adverts every ${TIMING_ADVERT_MS.Default} ms)`,
    );
    const v2 = validate({ passwordAuth: password });
    assert.ok(v2.ok);
    assert.match(
      failoverEstimate(v2.model.vrrp, true),
      /^about 3 s \(VRRP adverts every 1000 ms\): spec\.passwordAuth forces VRRP version 2, which sends adverts in whole seconds; without it \(VRRP version 3\) failover takes about \d+ ms$/,
    );
  });
});

describe("the group's status.failover", () => {
  const status = (spec: KeepalivedGroupSpec): string | undefined => {
    const plan = planCluster({
      groups: [{ metadata: { name: "g", namespace: "ns" }, spec: { interface: "eth0", ...spec } }],
      services: [],
      nodes: [{ metadata: { name: "n1" } }],
    });
    return groupStatus(plan.groups[0]!, undefined, "2024-01-01T00:00:00Z").failover;
  };
  it("says what failover costs at the group's timing", () => {
    assert.equal(
      status({ vrrp: { timing: "Fastest" } }),
      `about ${3 * TIMING_ADVERT_MS.Fastest} ms (VRRP adverts every ${TIMING_ADVERT_MS.Fastest} ms)`,
    );
  });
  it("says what passwordAuth costs", () => {
    assert.match(
      status({ passwordAuth: password }) ?? "",
      /about 3 s .*spec\.passwordAuth forces VRRP version 2/,
    );
  });
});

describe("real-time scheduling for sub-second adverts", () => {
  const group = (spec: KeepalivedGroupSpec) =>
    planCluster({
      groups: [{ metadata: { name: "g", namespace: "ns" }, spec: { interface: "eth0", ...spec } }],
      services: [],
      nodes: [
        { metadata: { name: "n1" }, status: { addresses: [{ type: "InternalIP", address: "198.18.0.11" }] } },
      ],
    }).groups[0]!;
  const capabilities = (spec: KeepalivedGroupSpec): unknown => {
    const ds = desiredDaemonSet(group(spec), { uid: "u" }) as unknown as {
      spec: {
        template: { spec: { containers: { securityContext: { capabilities: { add: string[] } } }[] } };
      };
    };
    return ds.spec.template.spec.containers[0]?.securityContext.capabilities.add;
  };
  for (const [what, spec, realtime] of [
    ["Default", {}, true],
    ["Fastest", { vrrp: { timing: "Fastest" } }, true],
    ["passwordAuth (1 s adverts)", { passwordAuth: password }, false],
  ] as [string, KeepalivedGroupSpec, boolean][]) {
    it(`${what}: ${realtime ? "the plan asks for it, and the agent gets SYS_NICE" : "ordinary scheduling and capabilities"}`, () => {
      const plan = parsePlan(serializeGroupPlan(group(spec)), "plan.json");
      assert.equal(plan.group.vrrp.realtimeScheduling, realtime ? true : undefined);
      // Never keepalived's own vrrp_rt_priority: 2.2.7 kills its VRRP process on the next reload.
      const conf = renderKeepalivedConf(plan, { node: "n1", interface: "eth0", password: "pw" });
      assert.doesNotMatch(conf, /rt_priority|rlimit_rttime/);
      assert.deepEqual(capabilities(spec), [
        "NET_ADMIN",
        "NET_RAW",
        "NET_BROADCAST",
        ...(realtime ? ["SYS_NICE"] : []),
      ]);
    });
  }
  it("the agent sets it with chrt: SCHED_RR reset on fork (scripts stay ordinary), or back to SCHED_OTHER", () => {
    assert.deepEqual(chrtArgs(42, true), ["--rr", "--reset-on-fork", "--pid", "10", "42"]);
    assert.deepEqual(chrtArgs(42, false), ["--other", "--pid", "0", "42"]);
  });
  it("the plan reader refuses a realtimeScheduling that is not true or false", () => {
    const text = serializeGroupPlan(group({})).replace(
      '"realtimeScheduling": true',
      '"realtimeScheduling": "yes"',
    );
    assert.throws(
      () => parsePlan(text, "plan.json"),
      /group\.vrrp\.realtimeScheduling: must be true or false/,
    );
  });
});

describe("priorities", () => {
  const skew = (priority: number): number => (256 - priority) / 256;
  it("the first backups are far apart: each master-down timer fires over 10% of an advert (the first two: 20%) before the next", () => {
    for (let rank = 1; rank < 4; rank++) {
      const gap = skew(priorityForRank(rank + 1)) - skew(priorityForRank(rank));
      assert.ok(gap >= 0.1, `ranks ${rank} and ${rank + 1}: ${gap.toFixed(3)} of an advert`);
    }
    assert.ok(skew(priorityForRank(2)) - skew(priorityForRank(1)) >= 0.2);
  });
  it("strictly descending, never 255 (address owner), always above the handover priority", () => {
    let last = 255;
    for (let rank = 0; rank < 40; rank++) {
      const p = priorityForRank(rank);
      assert.ok(p < 255 && p > HANDOVER_PRIORITY, `rank ${rank}: ${p}`);
      if (rank < 30) assert.ok(p < last, `rank ${rank}: ${p} after ${last}`);
      last = p;
    }
  });
});
