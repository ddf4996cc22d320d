// Drained moves: the nftables scripts, who waits for a handback, who may ask for one, and what keepalived is
// told meanwhile. The moves themselves run on real kubelet nodes (test/e2e/kubelet.test.ts, steps 4b and 5).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { PlanInstanceV1, PlanV1 } from "../../../src/api/plan.js";
import { drainAddScript, drainRemoveLines, drainSetupScript, drainTable } from "../../../src/agent/drain.js";
import {
  canonicalRemote,
  drainedMoves,
  handbackAnswer,
  handbackTargets,
  returningInstances,
} from "../../../src/agent/handback.js";
import { DrainedMoves, type Drain } from "../../../src/agent/drainedMoves.js";
import { DRAIN_MS } from "../../../src/agent/drain.js";
import { parseAgentArgs } from "../../../src/cli/agent.js";
import { jsonLogger } from "../../../src/lib/log.js";
import { serveProbes } from "../../../src/lib/serve.js";
import { renderKeepalivedConf, RETURN_DELAY_SECONDS } from "../../../src/render/keepalivedConf.js";
import { labelledPlan } from "./fixtures.js";

function instance(
  name: string,
  nodes: string[],
  vips: string[],
  settings: [string, string][] = [],
): PlanInstanceV1 {
  return {
    anchor: vips[0] ?? "",
    family: 4,
    name,
    priorities: nodes.map((node, i) => ({ node, priority: 250 - 10 * i })),
    routerId: 10 + name.length,
    services: [],
    settings,
    vips,
  };
}

function fastPlan(instances: PlanInstanceV1[]): PlanV1 {
  const plan = labelledPlan(instances);
  plan.group.vrrp.advertIntervalMs = 100;
  plan.nodes.push({ name: "n3", addresses: { 4: "198.18.0.13" } });
  return plan;
}

const POOL1 = instance("pool_n1", ["n1", "n2", "n3"], ["198.18.0.200", "198.18.0.201"]);
const POOL2 = instance("pool_n2", ["n2", "n1"], ["198.18.0.202"]);

describe("drain scripts (nftables)", () => {
  test("one table per group; the setup is idempotent and empties the group's sets", () => {
    assert.match(drainTable("kao/lab"), /^kao_[0-9a-f]{10}$/);
    assert.notEqual(drainTable("kao/lab"), drainTable("kao/lab2"));
    const script = drainSetupScript("kao_x");
    assert.match(script, /^add table inet kao_x$/m);
    assert.match(script, /priority -300/);
    assert.match(script, /^flush chain inet kao_x prerouting$/m);
    // Only a connection's first packet (SYN without ACK) is dropped: open connections go on.
    assert.match(script, /ip daddr @v4 tcp flags & \(syn \| ack\) == syn drop/);
    assert.match(script, /ip6 daddr @v6 tcp flags & \(syn \| ack\) == syn drop/);
    assert.match(script, /^flush set inet kao_x v4$/m);
  });

  test("elements per family, with a time to live; anything not an address is left out", () => {
    assert.equal(
      drainAddScript(
        "kao_x",
        ["198.18.0.200", "2001:db8::200", "not-an-ip", "1.2.3.4 } ; flush ruleset"],
        1600,
      ),
      "add element inet kao_x v4 { 198.18.0.200 timeout 1600ms }\nadd element inet kao_x v6 { 2001:db8::200 timeout 1600ms }\n",
    );
    assert.deepEqual(drainRemoveLines("kao_x", ["198.18.0.200"]), [
      "delete element inet kao_x v4 { 198.18.0.200 }",
    ]);
  });
});

describe("who waits for a handback", () => {
  test("a restarted node waits for the instances it prefers that peers may hold", () => {
    const plan = fastPlan([POOL1, POOL2, instance("alone", ["n1"], ["198.18.0.203"])]);
    assert.deepEqual(returningInstances(plan, "n1", new Set()), ["pool_n1"]);
    assert.deepEqual(returningInstances(plan, "n2", new Set()), ["pool_n2"]);
    assert.deepEqual(
      returningInstances(plan, "n1", new Set(["pool_n1"])),
      [],
      "an adopted keepalived holds it",
    );
  });

  test("not when the instance would not preempt at once anyway, nor with whole-second adverts", () => {
    const delayed = instance("delayed", ["n1", "n2"], ["198.18.0.204"], [["preempt_delay", "5"]]);
    const sticky = instance("sticky", ["n1", "n2"], ["198.18.0.205"], [["nopreempt", ""]]);
    assert.deepEqual(returningInstances(fastPlan([delayed, sticky]), "n1", new Set()), []);
    const slow = labelledPlan([POOL1]);
    assert.equal(drainedMoves(slow.group), false);
    assert.deepEqual(returningInstances(slow, "n1", new Set()), []);
    const noPreempt = fastPlan([POOL1]);
    noPreempt.group.vrrp.preempt = false;
    assert.deepEqual(returningInstances(noPreempt, "n1", new Set()), []);
  });

  test("keepalived is told: BACKUP with a preempt_delay, until the agent takes the instance", () => {
    const plan = fastPlan([POOL1]);
    const waiting = renderKeepalivedConf(plan, {
      node: "n1",
      interface: "eth0",
      returning: new Set(["pool_n1"]),
    });
    assert.match(waiting, /state BACKUP/);
    assert.match(waiting, new RegExp(`preempt_delay ${RETURN_DELAY_SECONDS}\\b`));
    const taken = renderKeepalivedConf(plan, { node: "n1", interface: "eth0", returning: new Set() });
    assert.match(taken, /state MASTER/);
    assert.doesNotMatch(taken, /preempt_delay/);
  });
});

describe("who may ask for a handback", () => {
  const plan = fastPlan([POOL1, POOL2]);
  const masters = new Set(["pool_n1"]);

  test("the holder hands back to the preferred node's address, with the VIPs to drain", () => {
    const a = handbackAnswer(plan, "n2", "pool_n1", "198.18.0.11", masters);
    assert.equal(a.status, 200);
    assert.deepEqual(a.vips, ["198.18.0.200", "198.18.0.201"]);
    assert.equal(handbackAnswer(plan, "n2", "pool_n1", "::ffff:198.18.0.11", masters).status, 200);
  });

  test("anyone else, or a node that does not hold it, gets a refusal that says why", () => {
    const cases: [string, string | undefined, ReadonlySet<string>, number, RegExp][] = [
      ["pool_n1", "198.18.0.13", masters, 403, /198\.18\.0\.13 is not an address of n1/],
      ["pool_n1", "10.0.0.1", masters, 403, /not an address of n1/],
      ["pool_n1", undefined, masters, 403, /\(unknown\)/],
      ["pool_n1", "198.18.0.11", new Set(), 409, /does not hold pool_n1/],
      ["pool_n2", "198.18.0.12", masters, 409, /n2 is the preferred node/],
      ["nope", "198.18.0.11", masters, 404, /"nope" is not on node n2/],
    ];
    for (const [name, remote, held, status, reason] of cases) {
      const a = handbackAnswer(plan, "n2", name, remote, held);
      assert.equal(a.status, status, `${name} from ${remote}`);
      assert.match(a.reason, reason);
      assert.deepEqual(a.vips, []);
    }
    assert.equal(handbackAnswer(undefined, "n2", "pool_n1", "198.18.0.11", masters).status, 409);
  });

  test("the returning node asks the other members in rank order, from its own address", () => {
    assert.deepEqual(handbackTargets(plan, "n1", POOL1), [
      { node: "n2", address: "198.18.0.12", local: "198.18.0.11" },
      { node: "n3", address: "198.18.0.13", local: "198.18.0.11" },
    ]);
    assert.equal(canonicalRemote("::FFFF:198.18.0.1"), "198.18.0.1");
    assert.equal(canonicalRemote("2001:DB8::1"), "2001:db8::1");
    assert.equal(canonicalRemote("junk"), undefined);
  });
});

describe("the agent's --peer-port and POST /handback", () => {
  test("--peer-port takes a TCP port and names the flag otherwise", () => {
    const base = ["--plan-file", "p.json", "--node", "n1"];
    const s = parseAgentArgs([...base, "--peer-port", "9650"], {});
    assert.ok(s !== "help");
    assert.equal(s.peerPort, 9650);
    for (const bad of ["0", "65536", "x", "-1"])
      assert.throws(
        () => parseAgentArgs([...base, "--peer-port", bad], {}),
        /--peer-port "[^"]*" is not a TCP port/,
      );
  });

  test("only POST is served, with the instance and the caller's address", async () => {
    const calls: [string, string | undefined][] = [];
    const server = await serveProbes(
      { host: "127.0.0.1", port: 0 },
      {
        metrics: () => Promise.resolve(""),
        notReady: () => undefined,
        handback: (instance, remote) => {
          calls.push([instance, remote]);
          return Promise.resolve({ status: 200, body: "drained\n" });
        },
      },
    );
    try {
      const address = server.address();
      assert.ok(address !== null && typeof address === "object");
      const url = `http://127.0.0.1:${address.port}/handback?instance=pool_n1`;
      const get = await fetch(url);
      assert.equal(get.status, 405);
      const post = await fetch(url, { method: "POST" });
      assert.equal(post.status, 200);
      assert.equal(await post.text(), "drained\n");
      assert.deepEqual(calls, [["pool_n1", "127.0.0.1"]]);
    } finally {
      server.close();
    }
    const none = await serveProbes(
      { host: "127.0.0.1", port: 0 },
      { metrics: () => Promise.resolve(""), notReady: () => undefined },
    );
    try {
      const address = none.address();
      assert.ok(address !== null && typeof address === "object");
      assert.equal(
        (await fetch(`http://127.0.0.1:${address.port}/handback?instance=x`, { method: "POST" })).status,
        404,
      );
    } finally {
      none.close();
    }
  });
});

describe("DrainedMoves (a recording drain)", () => {
  function world(node: string, masters: string[]) {
    const plan = fastPlan([POOL1, POOL2]);
    const calls: string[] = [];
    const logs: string[] = [];
    let reapplied = 0;
    const drain: Drain = {
      setup: () => Promise.resolve(undefined),
      drain: (vips, ttl) => {
        calls.push(`drain ${vips.join(",")} ${ttl}`);
        return Promise.resolve(undefined);
      },
      undrain: (vips) => {
        calls.push(`undrain ${vips.join(",")}`);
        return Promise.resolve();
      },
    };
    const moves = new DrainedMoves({
      node,
      port: 9650,
      log: jsonLogger({ write: (l: string) => logs.push(l) }),
      cmdPrefix: [],
      plan: () => plan,
      masters: () => masters,
      reapply: () => reapplied++,
      newDrain: () => drain,
    });
    moves.decide(plan);
    return { plan, moves, calls, logs, reapplied: () => reapplied };
  }

  test("the holder drains before it answers, once for concurrent asks, then not again within the cooldown", async () => {
    const w = world("n2", ["pool_n1", "pool_n2"]);
    assert.deepEqual([...w.moves.returning], [], "n2 holds its own instance: it waits for nothing");
    const started = Date.now();
    const [a, b] = await Promise.all([
      w.moves.handback("pool_n1", "198.18.0.11"),
      w.moves.handback("pool_n1", "198.18.0.11"),
    ]);
    assert.ok(Date.now() - started >= DRAIN_MS - 5, "answered only after the drain time");
    assert.deepEqual([a.status, b.status], [200, 200]);
    assert.equal(a.body, "drained\n");
    assert.deepEqual(w.calls, [`drain 198.18.0.200,198.18.0.201 ${DRAIN_MS + 4 * 100 + 1000}`]);
    await new Promise((r) => setTimeout(r, DRAIN_MS + 20));
    const again = await w.moves.handback("pool_n1", "198.18.0.11");
    assert.equal(again.status, 429);
    assert.match(again.body, new RegExp(`ask again in \\d+ ms`));
    assert.equal(w.calls.length, 1);
  });

  test("a refused ask drains nothing", async () => {
    const w = world("n2", ["pool_n2"]);
    assert.equal((await w.moves.handback("pool_n1", "198.18.0.11")).status, 409);
    assert.equal((await w.moves.handback("pool_n1", "198.18.0.13")).status, 403);
    assert.deepEqual(w.calls, []);
  });

  test("before its agent stops, a node drains what it holds; as MASTER again, it takes connections again", async () => {
    const w = world("n1", ["pool_n1"]);
    assert.equal(await w.moves.beforeHandover(w.plan, ["pool_n1"], true), true);
    assert.deepEqual(w.calls, [`drain 198.18.0.200,198.18.0.201 ${DRAIN_MS + 100 + 1000}`]);
    w.moves.onMaster("pool_n1");
    assert.deepEqual(w.calls.slice(1), ["undrain 198.18.0.200,198.18.0.201"]);
    const slow = labelledPlan([POOL1]);
    assert.equal(
      await w.moves.beforeHandover(slow, ["pool_n1"], true),
      false,
      "whole-second adverts: undrained",
    );
  });

  test("a restarted node waits for its own instance, and stops waiting once it holds it", async () => {
    const held: string[] = [];
    const plan = fastPlan([POOL1, POOL2]);
    let reapplied = 0;
    const moves = new DrainedMoves({
      node: "n1",
      port: 1,
      log: jsonLogger({ write: () => true }),
      cmdPrefix: [],
      plan: () => plan,
      masters: () => held,
      reapply: () => reapplied++,
      newDrain: () => ({
        setup: () => Promise.resolve(undefined),
        drain: () => Promise.resolve(undefined),
        undrain: () => Promise.resolve(),
      }),
    });
    moves.decide(plan);
    assert.deepEqual([...moves.returning], ["pool_n1"]);
    // A plan that gives the instance another preferred node: this one no longer waits for it.
    const moved = fastPlan([{ ...POOL1, priorities: [...POOL1.priorities].reverse() }, POOL2]);
    moves.decide(moved);
    assert.deepEqual([...moves.returning], []);
    moves.returning.add("pool_n1");
    moves.afterLoad();
    held.push("pool_n1"); // taken: no peer held it, or keepalived's delay ended
    await new Promise((r) => setTimeout(r, 250));
    assert.deepEqual([...moves.returning], []);
    assert.equal(reapplied, 1, "rendered again without the delay");
    moves.decide(plan);
    assert.deepEqual([...moves.returning], [], "decided once, with the first plan");
    moves.stop();
  });
});
