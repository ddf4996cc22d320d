// Faults on the nodes, with the whole product running (control plane, controller, API-following agents,
// keepalived in network namespaces) and a client pinging the VIP every 10 ms while the holders of the VIP
// are sampled from `ip addr` in every node namespace: the agent alone, then the agent and keepalived
// SIGKILLed on the holder; a partition between the nodes, healed; a node leaving the group's nodeSelector.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { settledHolder, waitForAnswer } from "../../src/lab/failover.js";
import { startPing } from "../../src/lab/ping.js";
import { sleep, waitFor } from "../../src/lab/wait.js";
import { del, get } from "../support/kube.js";
import { clientNeighbour, nodeMac } from "../../src/lab/probes.js";
import { applyNode, lbService } from "./support/cluster.js";
import { holderStats, ingressIps, mastersAt, type ServiceLike } from "./support/invariants.js";
import { holdersNow, keepalivedsOn, killKeepalived, partitionNodes, sampleHolders } from "./support/net.js";
import {
  ADVERT_MS,
  agentRestarted,
  NET_GROUP,
  nodeNamed,
  publish,
  resetNodeIfBroken,
  startNetCluster,
  vrrpHistory,
  type NetCluster,
} from "./support/netCluster.js";
import { logged } from "./support/operator.js";

const APPLIED = ["config applied", "plan applied; this node's config is unchanged", "keepalived started"];

describe("faults on the nodes, with agents and keepalived in namespaces", { timeout: 300_000 }, () => {
  let c: NetCluster | undefined;

  before(async () => {
    c = await startNetCluster();
  });

  after(async () => {
    await c?.stop();
  });

  test("agent SIGKILLed on the holder, keepalived left running: one keepalived after the restart", async () => {
    const { ip, holder } = await publish(c!, "agent-kill");
    const agent = c!.agents.get(holder)!;
    const ping = startPing(c!.lab, ip, 10);
    const sampler = sampleHolders(c!.lab, ip);
    try {
      await sleep(300);
      const before = agent.incarnations.length;
      await agent.current!.kill("SIGKILL");
      await agentRestarted(c!, holder, before);
      await waitFor(`${holder}'s restarted agent to load its plan`, () =>
        Promise.resolve(APPLIED.some((m) => logged(agent.current!, m).length > 0) ? true : undefined),
      );
      await sleep(2000);
      const keepaliveds = await keepalivedsOn(nodeNamed(c!, holder));
      const r = await ping.stop();
      const stats = holderStats(await sampler.stop());
      console.log(
        `# fault: agent SIGKILL on the holder ${holder}: keepalived processes there after the restart ${keepaliveds.length}; ` +
          `holders max ${stats.max}, none in ${stats.none} and two or more in ${stats.multi} of ${stats.samples} samples; ` +
          `${r.lost} of ${r.sent} pings lost (gap ${r.maxGapMs} ms)`,
      );
      assert.equal(keepaliveds.length, 1, `one keepalived on ${holder}, not ${keepaliveds.length}`);
      assert.equal(stats.max, 1, "never two holders");
      assert.equal(r.lost, 0, "the VIP kept answering");
    } finally {
      await ping.stop();
      await sampler.stop();
      await del(c!.admin, lbService("agent-kill", NET_GROUP));
      // A second keepalived left behind would hold this test's VIP into the next tests.
      await resetNodeIfBroken(c!, holder);
    }
  });

  test("agent and keepalived SIGKILLed on the holder: the VIP moves to the next node", async () => {
    const { ip, holder } = await publish(c!, "all-kill");
    const node = nodeNamed(c!, holder);
    const agent = c!.agents.get(holder)!;
    const ping = startPing(c!.lab, ip, 10);
    const sampler = sampleHolders(c!.lab, ip);
    try {
      await sleep(300);
      const before = agent.incarnations.length;
      await agent.current!.kill("SIGKILL");
      const killed = await killKeepalived(node);
      const next = await waitFor(
        "another node to take the VIP",
        async () => (await holdersNow(c!.lab, ip)).find((h) => h !== holder),
        10_000,
        10,
      );
      // The dead holder's kernel keeps the address until its agent is back: the client must have moved.
      const mac = await nodeMac(nodeNamed(c!, next));
      await waitFor(`the client to reach ${ip} at ${next}`, async () =>
        (await clientNeighbour(c!.lab, ip))?.lladdr === mac ? true : undefined,
      );
      await waitForAnswer(c!.lab, ip, 5000);
      await agentRestarted(c!, holder, before);
      await waitFor(`${holder}'s restarted agent to load its plan`, () =>
        Promise.resolve(APPLIED.some((m) => logged(agent.current!, m).length > 0) ? true : undefined),
      );
      await sleep(1000);
      const settled = await settledHolder(c!.lab, ip);
      const perNode = await Promise.all(c!.lab.nodes.map(async (n) => (await keepalivedsOn(n)).length));
      const r = await ping.stop();
      const stats = holderStats(await sampler.stop());
      console.log(
        `# fault: agent and keepalived (${killed} processes) SIGKILL on the holder ${holder}: VIP moved to ${next}, settled on ${settled}; ` +
          `holders max ${stats.max}, two or more in ${stats.multi} of ${stats.samples} samples (10 ms); ` +
          `${r.lost} of ${r.sent} pings lost (gap ${r.maxGapMs} ms); keepalived per node ${perNode.join("/")}`,
      );
      assert.notEqual(next, holder);
      assert.deepEqual(await holdersNow(c!.lab, ip), [settled], "one holder once the agent is back");
      assert.deepEqual(perNode, [1, 1, 1], "one keepalived per node");
    } finally {
      await ping.stop();
      await sampler.stop();
      await del(c!.admin, lbService("all-kill", NET_GROUP));
      await resetNodeIfBroken(c!, holder);
    }
  });

  test("partition between the nodes, healed: one holder two advert intervals later", async () => {
    const { ip } = await publish(c!, "split");
    const sampler = sampleHolders(c!.lab, ip);
    try {
      await partitionNodes(c!.lab, true);
      const split = await waitFor(
        "the partition to split the group (more than one holder)",
        async () => {
          const h = await holdersNow(c!.lab, ip);
          return h.length > 1 ? h : undefined;
        },
        10_000,
        10,
      );
      await sleep(1000);
      await partitionNodes(c!.lab, false);
      const healedAt = Date.now();
      await sleep(Math.max(0, healedAt + 2 * ADVERT_MS - Date.now()));
      const afterHeal = await holdersNow(c!.lab, ip);
      await sleep(1000);
      const samples = await sampler.stop();
      const shared = [...mastersAt(vrrpHistory(c!), healedAt + 2 * ADVERT_MS).entries()].filter(
        ([, nodes]) => nodes.length > 1,
      );
      const during = holderStats(samples.filter((s) => s.at < healedAt));
      const lastMulti = samples.filter((s) => s.holders.length > 1 && s.at >= healedAt).at(-1)?.at;
      console.log(
        `# fault: partition between nodes: holders during the partition max ${during.max} (${split.join(", ")} at first); ` +
          `holders ${2 * ADVERT_MS} ms (2 adverts) after healing ${afterHeal.length} (${afterHeal.join(", ")}), ` +
          `instances with two MASTERs then by the agents' reports ${shared.length}; ` +
          (lastMulti === undefined
            ? "no sample with two or more holders after healing"
            : `last sample with two or more holders ${lastMulti - healedAt} ms after healing`),
      );
      assert.equal(
        afterHeal.length,
        1,
        `one holder 2 advert intervals after healing, not ${afterHeal.join(", ")}`,
      );
    } finally {
      await partitionNodes(c!.lab, false);
      await sampler.stop();
      await del(c!.admin, lbService("split", NET_GROUP));
    }
  });

  test("a node leaves the group's nodeSelector: its VIPs move with 0 lost pings", async () => {
    const { ip, holder } = await publish(c!, "leave");
    const node = nodeNamed(c!, holder);
    const ping = startPing(c!.lab, ip, 10);
    const sampler = sampleHolders(c!.lab, ip);
    try {
      await sleep(300);
      await applyNode(c!.admin, holder, node.ip, false);
      const next = await waitFor(
        `the VIP to leave ${holder} for one other node`,
        async () => {
          const h = await holdersNow(c!.lab, ip);
          return h.length === 1 && h[0] !== holder ? h[0] : undefined;
        },
        30_000,
        10,
      );
      await sleep(1500);
      const r = await ping.stop();
      const stats = holderStats(await sampler.stop());
      const svc = await get<ServiceLike>(c!.admin, lbService("leave", NET_GROUP));
      console.log(
        `# fault: node ${holder} leaves the nodeSelector: VIP moved to ${next}; ${r.lost} of ${r.sent} pings lost ` +
          `(gap ${r.maxGapMs} ms); holders max ${stats.max}, none in ${stats.none} of ${stats.samples} samples`,
      );
      assert.deepEqual(svc === undefined ? [] : ingressIps(svc), [ip], "the Service keeps its IP");
      assert.equal(r.lost, 0, "no ping lost while the VIP moved");
    } finally {
      await ping.stop();
      await sampler.stop();
      await applyNode(c!.admin, holder, node.ip);
      await del(c!.admin, lbService("leave", NET_GROUP));
    }
  });
});
