// The controller at scale on the real API server: 5,000 LoadBalancer Services created at once, 20 Node
// objects, one group with an address pool. Asserts counts and states, never time: every Service gets exactly
// one IP, all distinct; a restart changes no IP, placement or router ID; every node's plan object holds
// exactly its share and none is over 256 KiB. Timings and memory are printed as diagnostics.
// SCALE_SERVICES / SCALE_NODES change the size (bench/scale.ts runs 10,000 and 100); SCALE_GROUPS splits the
// nodes and Services over that many groups.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { NODE_PLAN_LIMIT } from "../../src/render/nodePlans.js";
import { eventually, metricValue, startController } from "../support/kube.js";
import {
  GROUPS,
  LEADER_ELECTION,
  PlanWatch,
  allShareProblems,
  applyToPlan,
  bareCreatesMs,
  converged,
  cpuSeconds,
  createServices,
  ingressByService,
  nodeName,
  percentile,
  reconcileTimes,
  routerIds,
  readAllPlans,
  rssMiB,
  startWorld,
  storedInstances,
  storedPlans,
  type AllPlans,
  type ScaleWorld,
} from "./scenario.js";

const SERVICES = Number(process.env.SCALE_SERVICES ?? 5000);
const NODES = Number(process.env.SCALE_NODES ?? 20);
const APPLIES = 50;

/** The raw figures, written as JSON to $SCALE_FIGURES when set (bench row "changes" reads them). */
const figures: Record<string, number | number[]> = {};

describe(
  `controller at scale: ${SERVICES} Services, ${NODES} nodes, ${GROUPS} group(s), real API server`,
  { timeout: 900_000 },
  () => {
    let world: ScaleWorld;
    let plans: AllPlans;
    let ingress: Map<string, string[]>;
    let ids: Record<string, number>;
    const nodes = Array.from({ length: NODES }, (_, i) => nodeName(i));

    before(async () => {
      // With SCALE_BARE=1 (bench row 11), first the same creates on an API server of their own, no controller.
      if (process.env.SCALE_BARE === "1") {
        figures.bareCreatedMs = await bareCreatesMs(SERVICES);
        console.log(
          `# the API server alone took ${SERVICES} creates in ${(figures.bareCreatedMs / 1000).toFixed(1)} s`,
        );
      }
      world = await startWorld(NODES);
    });
    after(async () => {
      await world.controller.kill();
      await world.cp.stop();
      const out = process.env.SCALE_FIGURES;
      if (out !== undefined) await writeFile(out, JSON.stringify(figures));
    });

    it(`${SERVICES} Services created at once: each gets exactly one IP, all distinct, each placed once`, async () => {
      const pids = { api: world.cp.pids.kubeApiserver, controller: world.controller.child.pid };
      const cpu0 = { api: cpuSeconds(pids.api), controller: cpuSeconds(pids.controller) };
      const fromLine = world.controller.logs.length;
      // The controller's memory at its peak: read every second while the Services arrive.
      let rssPeak = 0;
      const sampler = setInterval(() => {
        try {
          rssPeak = Math.max(rssPeak, rssMiB(pids.controller));
        } catch {
          // The controller has exited: converged() fails and prints its log.
        }
      }, 1000);
      const t0 = performance.now();
      await createServices(world.admin, SERVICES);
      const created = performance.now();
      try {
        plans = await converged(world.admin, SERVICES, 600_000);
      } catch (err) {
        console.log(world.controller.logs.slice(-20).join("\n"));
        throw err;
      } finally {
        clearInterval(sampler);
      }
      const done = performance.now();
      figures.apiserverCpuS = cpuSeconds(pids.api) - cpu0.api;
      figures.controllerCpuS = cpuSeconds(pids.controller) - cpu0.controller;
      figures.passesToConverge = reconcileTimes(world.controller.logs, fromLine).total.length;
      figures.rssPeakMiB = Math.max(rssPeak, rssMiB(pids.controller));
      console.log(
        `# from the first create to convergence: ${figures.passesToConverge} reconciles; CPU seconds: API server ${figures.apiserverCpuS.toFixed(1)}, controller ${figures.controllerCpuS.toFixed(1)}; controller RSS at most ${figures.rssPeakMiB.toFixed(0)} MiB (read every second)`,
      );
      ingress = await ingressByService(world.admin);
      ids = await routerIds(world.admin);
      figures.createdMs = created - t0;
      figures.convergedMs = done - t0;
      figures.rssCreatedMiB = rssMiB(world.controller.child.pid);
      console.log(
        `# created ${SERVICES} Services in ${((created - t0) / 1000).toFixed(1)} s; converged ${((done - t0) / 1000).toFixed(1)} s after the first; controller RSS ${figures.rssCreatedMiB.toFixed(0)} MiB`,
      );
      // With SCALE_SETTLE_S, the controller's memory once it has had that long with nothing to do (V8 gives
      // back what the burst left only after a few quiet seconds).
      const settle = Number(process.env.SCALE_SETTLE_S ?? 0);
      if (settle > 0) {
        const series: number[] = [];
        for (let s = 0; s < settle; s += 5) {
          await new Promise((r) => setTimeout(r, 5000));
          series.push(rssMiB(world.controller.child.pid));
        }
        figures.rssSettledMiB = series.at(-1) ?? NaN;
        console.log(
          `# controller RSS every 5 s after converging: ${series.map((m) => m.toFixed(0)).join(", ")} MiB`,
        );
      }
      assert.equal(ingress.size, SERVICES);
      const notOne = [...ingress].filter(([, ips]) => ips.length !== 1).map(([n]) => n);
      assert.deepEqual(notOne, [], "Services without exactly one IP");
      const all = [...ingress.values()].flat();
      assert.equal(new Set(all).size, SERVICES, "IPs are distinct");
      const vips = storedInstances(plans).flatMap((i) => i.vips);
      assert.equal(vips.length, new Set(vips).size, "each VIP in exactly one instance");
      assert.deepEqual([...vips].sort(), [...all].sort(), "the plans announce exactly the Services' IPs");
      assert.ok(Object.keys(ids).length >= NODES, "a router ID per node's instance");
    });

    it("every node's plan object holds exactly its share; none is over 256 KiB", () => {
      assert.deepEqual(allShareProblems(plans, nodes), []);
      const stored = storedPlans(plans);
      assert.equal(stored.length, NODES);
      const sizes = stored.map((p) => p.bytes).sort((a, b) => a - b);
      figures.planBytes = sizes;
      console.log(
        `# node plan objects: ${sizes.length}, bytes min ${sizes[0]} median ${percentile(sizes, 0.5)} max ${sizes.at(-1)}; instances per share: ${[...new Set(stored.map((p) => p.plan.instances.length))].sort((a, b) => a - b).join(",")}`,
      );
      const over = stored.filter((p) => p.bytes > NODE_PLAN_LIMIT).map((p) => p.name);
      assert.deepEqual(over, [], "objects over 256 KiB");
    });

    it("a controller restart changes no IP, no placement, no router ID, and rewrites no plan", async () => {
      await world.controller.kill("SIGKILL");
      world.controller = await startController(world.kubeconfig, "scale-b", LEADER_ELECTION);
      await eventually(
        "the new controller's first reconcile",
        async () => {
          const m = await world.controller.metrics();
          return metricValue(m, "keepalived_operator_reconciles_total") >= 1 ? m : undefined;
        },
        300_000,
        500,
      );
      const after = await readAllPlans(world.admin);
      assert.deepEqual(await ingressByService(world.admin), ingress);
      assert.deepEqual(await routerIds(world.admin), ids);
      assert.deepEqual(after.placement, plans.placement);
      const versions = new Map(storedPlans(plans).map((p) => [p.name, p.resourceVersion]));
      const rewritten = storedPlans(after).filter((p) => versions.get(p.name) !== p.resourceVersion);
      assert.deepEqual(
        rewritten.map((p) => p.name),
        [],
        "plans written again with the same content",
      );
      const m = await world.controller.metrics();
      figures.rssRestartedMiB = rssMiB(world.controller.child.pid);
      console.log(
        `# restart: controller RSS ${figures.rssRestartedMiB.toFixed(0)} MiB, writes ${metricValue(m, "keepalived_operator_writes_total")}`,
      );
    });

    it(`${APPLIES} Services applied one at a time: each reaches its node's plan; bytes per change recorded`, async () => {
      const watch = new PlanWatch(world.admin);
      await watch.start();
      const logMark = world.controller.logs.length;
      const samples: number[] = [];
      const answered: number[] = [];
      try {
        for (let i = 0; i < APPLIES; i++) {
          const { toPlanMs, answeredMs } = await applyToPlan(world.admin, watch, i);
          samples.push(toPlanMs);
          answered.push(answeredMs);
        }
        // The last write of the last change may land after its VIP appeared: let the watch see it.
        await new Promise((r) => setTimeout(r, 1000));
      } finally {
        watch.stop();
      }
      samples.sort((a, b) => a - b);
      answered.sort((a, b) => a - b);
      const r = reconcileTimes(world.controller.logs, logMark);
      const p = (l: number[]): string =>
        `p50 ${percentile(l, 0.5).toFixed(0)} p95 ${percentile(l, 0.95).toFixed(0)}`;
      console.log(
        `# reconciles during the applies: ${r.total.length}; whole ms ${p(r.total)}; planner (core/) ms ${p(r.plan)}; decision ms ${p(r.decide)}`,
      );
      console.log(
        `# Service apply → node plan updated (${APPLIES} applies): p50 ${percentile(samples, 0.5).toFixed(0)} ms, p95 ${percentile(samples, 0.95).toFixed(0)} ms, max ${percentile(samples, 1).toFixed(0)} ms; plan objects written ${watch.objectsWritten} (${(watch.objectsWritten / APPLIES).toFixed(1)} per change), ${(watch.bytesWritten / APPLIES / 1024).toFixed(1)} KiB per change`,
      );
      console.log(`# of which the API server answering the apply: ms ${p(answered)}`);
      Object.assign(figures, {
        applyToPlanMs: samples,
        applyAnsweredMs: answered,
        reconcileMs: r.total,
        plannerMs: r.plan,
        decisionMs: r.decide,
        objectsPerChange: watch.objectsWritten / APPLIES,
        kibPerChange: watch.bytesWritten / APPLIES / 1024,
      });
      assert.equal(samples.length, APPLIES);
      const now = await readAllPlans(world.admin);
      assert.deepEqual(allShareProblems(now, nodes), []);
      for (const [vip, node] of Object.entries(plans.placement))
        assert.equal(now.placement[vip], node, `${vip} stayed on ${node}`);
      const idsNow = await routerIds(world.admin);
      for (const [key, id] of Object.entries(ids))
        assert.equal(idsNow[key], id, `${key} kept router ID ${id}`);
      figures.rssAppliedMiB = rssMiB(world.controller.child.pid);
      console.log(`# controller RSS ${figures.rssAppliedMiB.toFixed(0)} MiB`);
    });
  },
);
