// The node agent against real keepalived in network namespaces: VIPs come up on one node, fail over, are
// handed over on shutdown, survive keepalived crashes and bad configs. Figures are printed, not asserted
// beyond what VRRP guarantees.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { execFile } from "node:child_process";
import { stopAgent } from "../../src/lab/agents.js";
import { failoverTrial, settledHolder, waitForAnswer } from "../../src/lab/failover.js";
import { holdersOf, vipHolders, type Lab } from "../../src/lab/netns.js";
import { startPing } from "../../src/lab/ping.js";
import { labPlan, labService, labVip, writePlan } from "../../src/lab/plans.js";
import { sleep, waitFor } from "../../src/lab/wait.js";
import { labSuite, percentile, withAgents } from "../support/lab.js";
import { rssKiB, scrapeMetrics, watchDoubleOwners } from "../../src/lab/probes.js";

const SLOW = { timeout: 240_000 };

/** Waits until each of `vips` is on `count` nodes (1: up, 0: gone); returns which nodes hold which. */
async function eachHeldBy(
  lab: Lab,
  vips: string[],
  count: number,
  what: string,
  timeoutMs: number,
  everyMs: number,
): Promise<Map<string, string[]>> {
  return waitFor(
    what,
    async () => {
      const held = await vipHolders(lab, vips);
      return [...held.values()].every((h) => h.length === count) ? held : undefined;
    },
    timeoutMs,
    everyMs,
  );
}

describe("agent in network namespaces", { concurrency: 1 }, () => {
  const suite = labSuite(3);

  test("a VIP comes up on exactly one node and answers the client's ping", SLOW, async () => {
    const vip = labVip(0);
    await withAgents(suite.lab, [labService("web", [vip])], {}, async ({ lab, agents, plan }) => {
      // While the agents start, whichever keepalived runs first holds the VIP; the planned node then takes it.
      const holder = await waitFor(
        `${vip} on its planned node alone`,
        async () => {
          const h = await holdersOf(lab, vip);
          return h.length === 1 && h[0] === plan.placement[vip] ? h[0] : undefined;
        },
        20_000,
        100,
      );
      await waitForAnswer(lab, vip, 20_000);
      await sleep(1500);
      assert.deepEqual(await holdersOf(lab, vip), [holder], "the VIP stays on one node");
      const agent = agents.get(holder)!;
      const text = await scrapeMetrics(agent.node);
      assert.match(text, /^keepalived_up 1$/m);
      assert.match(
        text,
        new RegExp(
          `^keepalived_operator_vip_state\\{vip="${vip.replaceAll(".", "\\.")}",instance="[^"]+"\\} 2$`,
          "m",
        ),
      );
      assert.equal((await scrapeMetrics(agent.node, "/readyz")).trim(), "ok");
      const rss = await rssKiB(agent.child.pid!);
      console.log(`# agent RSS on ${holder}: ${(rss / 1024).toFixed(1)} MiB`);
    });
  });
  for (const [profile, spec, trials] of [
    ["Default (100 ms adverts)", {}, 3],
    ["Fast (50 ms adverts)", { vrrp: { timing: "Fast" as const } }, 3],
  ] as const) {
    test(`hard failover, ${profile}: the VIP moves to another node and answers again`, SLOW, async () => {
      const vip = labVip(1);
      await withAgents(suite.lab, [labService("web", [vip])], spec, async ({ lab }) => {
        const results = [];
        for (let i = 0; i < trials; i++) results.push(await failoverTrial(lab, vip));
        const gaps = results.map((t) => t.maxGapMs);
        console.log(
          `# failover ${profile}: gaps ms ${gaps.join(", ")}; lost ${results.map((t) => t.lost).join(", ")}; p50 ${percentile(gaps, 50)} p95 ${percentile(gaps, 95)}`,
        );
        // Each trial ends when the VIP answers again from another node; the gaps above are benchmarked
        // (row 1), never judged here.
        for (const t of results) {
          assert.notEqual(t.to, t.from);
          assert.ok(t.answeredAfter > 0, `${vip} never answered again after ${t.to} took it`);
        }
      });
    });
  }
  test(
    "graceful stop (SIGTERM): the holder hands its VIP over with zero lost pings at 10 ms",
    SLOW,
    async () => {
      const vip = labVip(2);
      await withAgents(suite.lab, [labService("web", [vip])], {}, async ({ lab, agents, plan }) => {
        const holder = await settledHolder(lab, vip, 30_000, plan.placement[vip]);
        await sleep(1000);
        const ping = startPing(lab, vip, 10);
        await sleep(500);
        const agent = agents.get(holder)!;
        const started = Date.now();
        assert.equal(await stopAgent(agent), 0, "the agent exits 0 after handing over");
        const stopMs = Date.now() - started;
        await sleep(1000);
        const result = await ping.stop();
        const now = await holdersOf(lab, vip);
        console.log(
          `# graceful stop of ${holder}: ${stopMs} ms to exit; ${result.sent} pings, ${result.lost} lost, longest gap ${result.maxGapMs} ms; VIP now on ${now.join(",")}`,
        );
        assert.equal(now.length, 1);
        assert.notEqual(now[0], holder);
        assert.ok(result.sent > 100, `only ${result.sent} pings sent`);
        assert.equal(result.lost, 0, `${result.lost} pings lost during handover`);
        assert.ok(
          agent.logs.some((l) => l.msg === "VIPs handed over"),
          "the agent waited for a peer to take over",
        );
      });
    },
  );

  test(
    "keepalived SIGKILLed on the holder: at most one spell of two owners per handover; the agent restarts it",
    SLOW,
    async () => {
      const vip = labVip(3);
      await withAgents(suite.lab, [labService("web", [vip])], {}, async ({ lab, agents, plan }) => {
        const holder = await settledHolder(lab, vip, 30_000, plan.placement[vip]);
        const agent = agents.get(holder)!;
        const pid = Number(await readFile(join(agent.stateDir, "keepalived.pid"), "utf8"));
        const vrrpPid = Number(await readFile(join(agent.stateDir, "vrrp.pid"), "utf8"));
        const watch = watchDoubleOwners(lab, vip, 10);
        process.kill(vrrpPid, "SIGKILL");
        process.kill(pid, "SIGKILL");
        await waitFor("keepalived restarted by the agent", () =>
          Promise.resolve(
            agent.logs.filter((l) => l.msg === "keepalived started").length >= 2 ? true : undefined,
          ),
        );
        // With sub-second adverts the peer holds it only until the restarted keepalived takes it back.
        const peer = await waitFor(
          "a peer to take the VIP",
          async () => {
            const h = await holdersOf(lab, vip);
            return h.length === 1 && h[0] !== holder ? h[0] : undefined;
          },
          20_000,
          10,
        );
        // The restarted keepalived has the higher priority and takes the VIP back (preemption).
        await waitFor("the restarted keepalived to take the VIP back", async () => {
          const h = await holdersOf(lab, vip);
          return h.length === 1 && h[0] === holder ? true : undefined;
        });
        await sleep(1000);
        const { maxDoubleMs, episodes, samples } = await watch.stop();
        console.log(
          `# SIGKILL of keepalived on ${holder}: peer ${peer} took over, then ${holder} again; ${episodes} spell(s) of double ownership, the longest ${maxDoubleMs} ms, over ${samples} samples`,
        );
        assert.notEqual(peer, holder);
        // Two handovers (to the peer, back to the holder), each at most one spell of two owners; the peer was
        // seen holding it alone in between, so the dead keepalived's address did not linger. How long a spell
        // lasts is timing, printed here (bench row 2 measures it for a crash of the agent and keepalived).
        assert.ok(episodes <= 2, `${episodes} spells of double ownership for two handovers`);
        assert.ok(agent.logs.some((l) => l.msg === "keepalived exited"));
        assert.ok(agent.logs.some((l) => l.msg === "removed VIPs a dead keepalived left on the interface"));
      });
    },
  );

  test(
    "50 other VIPs added then removed: zero lost pings and no state change of the pinged VIP's instance",
    SLOW,
    async () => {
      const vip = labVip(4);
      const web = labService("web", [vip], 0);
      await withAgents(suite.lab, [web], {}, async ({ lab, planFile, agents, plan }) => {
        const holder = await settledHolder(lab, vip, 30_000, plan.placement[vip]);
        await sleep(1500);
        const first = labPlan(lab, [web]);
        const instance = first.instances.find((i) => i.vips.includes(vip))!.name;
        const mark = new Map([...agents].map(([n, a]) => [n, a.logs.length]));
        const otherVips = Array.from({ length: 50 }, (_, i) => labVip(10 + i));
        const others = otherVips.map((v, i) => labService(`other-${i}`, [v], i + 1));
        const ping = startPing(lab, vip, 10);
        await sleep(300);
        const grown = labPlan(lab, [web, ...others], {}, first);
        await writePlan(planFile, grown);
        await eachHeldBy(lab, otherVips, 1, "the 50 VIPs to come up", 30_000, 100);
        await sleep(1000);
        await writePlan(planFile, labPlan(lab, [web], {}, grown));
        await eachHeldBy(lab, otherVips, 0, "the 50 VIPs to go", 30_000, 100);
        await sleep(1000);
        const result = await ping.stop();
        const transitions = [...agents].flatMap(([n, a]) =>
          a.logs
            .slice(mark.get(n))
            .filter((l) => l.msg === "vrrp state" && l.instance === instance)
            .map((l) => `${n}:${String(l.state)}`),
        );
        console.log(
          `# churn of 50 VIPs next to ${vip} on ${holder}: ${result.sent} pings, ${result.lost} lost, longest gap ${result.maxGapMs} ms; transitions of ${instance}: ${transitions.join(" ") || "none"}`,
        );
        assert.equal(result.lost, 0);
        assert.deepEqual(transitions, []);
        assert.deepEqual(await holdersOf(lab, vip), [holder]);
      });
    },
  );

  test("100 VIPs on 3 nodes: the busiest node holds at most 35", SLOW, async () => {
    const services = Array.from({ length: 100 }, (_, i) => labService(`svc-${i}`, [labVip(i)], i));
    const vips = services.map((_, i) => labVip(i));
    await withAgents(suite.lab, services, {}, async ({ lab, agents, plan }) => {
      // Settled as planned: while agents start, whichever keepalived runs first holds its peers' VIPs.
      const held = await waitFor(
        "100 VIPs each on its planned node",
        async () => {
          const h = await vipHolders(lab, vips);
          return vips.every((v) => h.get(v)?.length === 1 && h.get(v)?.[0] === plan.placement[v])
            ? h
            : undefined;
        },
        60_000,
        200,
      );
      const perNode = new Map<string, number>();
      for (const [, h] of held) perNode.set(h[0]!, (perNode.get(h[0]!) ?? 0) + 1);
      const counts = [...perNode.entries()].sort().map(([n, c]) => `${n}=${c}`);
      const rss = await Promise.all(
        [...agents.values()].map(
          async (a) => `${a.node.name} ${((await rssKiB(a.child.pid!)) / 1024).toFixed(1)} MiB`,
        ),
      );
      console.log(`# 100 VIPs: ${counts.join(" ")}; agent RSS ${rss.join(", ")}`);
      assert.ok(Math.max(...perNode.values()) <= 35, counts.join(" "));
    });
  });

  test("a config keepalived rejects is not applied; the running one keeps serving", SLOW, async () => {
    const vip = labVip(5);
    const extra = labVip(6);
    const web = labService("web", [vip]);
    await withAgents(suite.lab, [web], {}, async ({ lab, planFile, agents, plan }) => {
      const holder = await settledHolder(lab, vip, 30_000, plan.placement[vip]);
      const agent = agents.get(holder)!;
      const before = await readFile(join(agent.stateDir, "keepalived.conf"), "utf8");
      const ping = startPing(lab, vip, 10);
      // Bypass the core: a keyword keepalived does not know, which it only warns about.
      const bad = labPlan(lab, [web, labService("new", [extra], 1)]);
      for (const i of bad.instances) i.settings = [...i.settings, ["no_such_keyword", "1"]];
      await writePlan(planFile, bad);
      await waitFor("every agent to reject the plan", () =>
        Promise.resolve(
          [...agents.values()].every((a) =>
            a.logs.some((l) => l.msg === "config rejected; the last good one keeps running"),
          )
            ? true
            : undefined,
        ),
      );
      await sleep(1500);
      const result = await ping.stop();
      const reason = String(
        agent.logs.find((l) => l.msg === "config rejected; the last good one keeps running")?.reason,
      );
      console.log(`# rejected: ${reason}`);
      assert.match(reason, /Unknown keyword/);
      assert.equal(
        await readFile(join(agent.stateDir, "keepalived.conf"), "utf8"),
        before,
        "the running config is untouched",
      );
      assert.deepEqual(await holdersOf(lab, extra), [], "the rejected plan's new VIP is not announced");
      assert.deepEqual(await holdersOf(lab, vip), [holder]);
      assert.equal(result.lost, 0);
      assert.match(await scrapeMetrics(agent.node), /^keepalived_operator_config_rejected_total 1$/m);
      // A good plan afterwards is applied.
      await writePlan(planFile, labPlan(lab, [web, labService("new", [extra], 1)]));
      await settledHolder(lab, extra);
    });
  });

  test("metrics pass promtool check metrics", SLOW, async () => {
    const vip = labVip(7);
    await withAgents(
      suite.lab,
      [labService("web", [vip]), labService("v6", ["2001:db8::200"], 1)],
      {},
      async ({ lab, agents, plan }) => {
        const holder = await settledHolder(lab, vip, 30_000, plan.placement[vip]);
        const text = await scrapeMetrics(agents.get(holder)!.node);
        for (const name of [
          "keepalived_up",
          "keepalived_vrrp_state",
          "keepalived_advertisements_received_total",
          "keepalived_advertisements_sent_total",
          "keepalived_become_master_total",
          "keepalived_release_master_total",
          "keepalived_operator_vip_state",
          "keepalived_operator_config_reloads_total",
          "keepalived_operator_config_rejected_total",
          "keepalived_operator_failover_seconds_bucket",
          "process_resident_memory_bytes",
          "nodejs_heap_size_used_bytes",
        ]) {
          assert.match(text, new RegExp(`^${name}[{ ]`, "m"), `${name} missing`);
        }
        const check = await new Promise<{ code: number | null; output: string }>((resolve) => {
          const child = execFile("promtool", ["check", "metrics"], (err, stdout, stderr) => {
            resolve({
              code: err === null ? 0 : typeof err.code === "number" ? err.code : 1,
              output: `${stdout}${stderr}`,
            });
          });
          child.stdin!.end(text);
        });
        assert.equal(check.output, "", `promtool: ${check.output}`);
        assert.equal(check.code, 0);
      },
    );
  });
});
