// One instance keepalived refuses never freezes the group (issue #11, item 2), on real keepalived in network
// namespaces. The plan is written directly, as a hostile verbatimconfig that validation missed would make
// it: the refused instance is left out and reported (log, metrics); the others run, and a later legitimate
// VIP comes up too. The Lease side of the report is in api.test.ts.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { describe, test } from "node:test";
import { checkedConfig } from "../../src/agent/candidate.js";
import { netnsPrefix } from "../../src/agent/command.js";
import { testConfigFile } from "../../src/agent/keepalived.js";
import { VERBATIM_CONFIG_ANNOTATION } from "../../src/api/names.js";
import type { PlanV1 } from "../../src/api/plan.js";
import type { ServiceObject } from "../../src/core/objects.js";
import type { GroupPlan } from "../../src/core/plan.js";
import { type AgentProcess } from "../../src/lab/agents.js";
import { settledHolder } from "../../src/lab/failover.js";
import { holdersOf, type Lab } from "../../src/lab/netns.js";
import { startPing } from "../../src/lab/ping.js";
import { labPlan, labService, labVip, writePlan } from "../../src/lab/plans.js";
import { sleep, waitFor } from "../../src/lab/wait.js";
import { encodePlan, planV1 } from "../../src/render/planCodec.js";
import { labSuite, withAgents } from "../support/lab.js";
import { scrapeMetrics } from "../../src/lab/probes.js";

const SLOW = { timeout: 240_000 };
const REFUSED = "vrrp_instance refused by keepalived --config-test; this node runs its other instances";

/** A Service with an instance of its own (any verbatimconfig gives one), whose settings the test replaces. */
const own = (name: string, vip: string, age: number): ServiceObject =>
  labService(name, [vip], age, { [VERBATIM_CONFIG_ANNOTATION]: '{"garp_master_refresh": "60"}' });

/**
 * The wire plan for `services`, with the settings of `service`'s own instance replaced by `settings`;
 * `previous` keeps the VIPs where they were (as the controller does).
 */
function hostilePlan(
  lab: Lab,
  services: ServiceObject[],
  service: string,
  settings: [string, string][],
  previous?: GroupPlan,
): PlanV1 {
  const plan = planV1(labPlan(lab, services, {}, previous));
  const target = plan.instances.filter((i) => i.services.join() === `default/${service}`);
  assert.equal(target.length, 1, `${service} has an instance of its own`);
  target[0]!.settings = settings;
  return plan;
}

const instanceOf = (plan: PlanV1, service: string): string =>
  plan.instances.find((i) => i.services.includes(`default/${service}`))!.name;

/** Settings keepalived refuses that a value check of each key alone would let through. */
const HOSTILE: [what: string, settings: [string, string][], says: RegExp][] = [
  ["advert_int 255 on VRRPv3", [["advert_int", "255"]], /advertisement interval 255\.00s is out of range/],
  [
    "nopreempt with preempt_delay",
    [
      ["nopreempt", ""],
      ["preempt_delay", "5"],
    ],
    /preempt_delay is incompatible with nopreempt/,
  ],
  [
    "garp_master_repeat of 500 digits",
    [["garp_master_repeat", "9".repeat(500)]],
    /garp_master_repeat '9+' invalid|outside unsigned integer range/,
  ],
];

function refusals(agents: Map<string, AgentProcess>, instance: string): Record<string, unknown>[] {
  return [...agents.values()].flatMap((a) =>
    a.logs.filter((l) => l.msg === REFUSED && l.instance === instance),
  );
}

describe("one instance keepalived refuses never freezes the group", { concurrency: 1 }, () => {
  const suite = labSuite(3);

  test(
    "checkedConfig with real keepalived: each hostile setting refuses its own instance only",
    SLOW,
    async () => {
      const lab = suite.lab;
      const services = [
        labService("web", [labVip(0)], 0),
        own("bad", labVip(1), 1),
        own("fine", labVip(2), 2),
      ];
      for (const [what, settings, says] of HOSTILE) {
        const plan = hostilePlan(lab, services, "bad", settings);
        const node = lab.nodes[0]!;
        const test = (path: string) => testConfigFile(path, "keepalived", netnsPrefix(node.ns));
        const checked = await checkedConfig(
          plan,
          { node: node.name, interface: "eth0" },
          `${lab.dir}/candidate-${node.name}.conf`,
          test,
        );
        assert.ok(checked.ok, `${what}: the others load`);
        console.log(
          `# ${what}: refused ${checked.refused.map((r) => r.instance).join(",")} after ${checked.tests} config tests: ${checked.refused[0]?.problems.join("; ").slice(0, 160) ?? ""}`,
        );
        assert.deepEqual(
          checked.refused.map((r) => [r.instance, r.services]),
          [[instanceOf(plan, "bad"), ["default/bad"]]],
          what,
        );
        assert.match(checked.refused[0]!.problems.join("\n"), says, what);
        assert.deepEqual(
          checked.plan.instances.map((i) => i.name),
          plan.instances.map((i) => i.name).filter((n) => n !== instanceOf(plan, "bad")),
        );
        // What would be loaded passes keepalived's test on its own, with not a line of output.
        const path = `${lab.dir}/final-${node.name}.conf`;
        await writeFile(path, checked.text);
        assert.deepEqual(await test(path), [], what);
      }
    },
  );

  test(
    "agents: the good VIP answers, the bad one is reported, a later legitimate VIP answers, a fix loads it",
    SLOW,
    async () => {
      const [webVip, badVip, laterVip] = [labVip(10), labVip(11), labVip(12)];
      const web = labService("web", [webVip], 0);
      const bad = own("bad", badVip, 1);
      await withAgents(suite.lab, [web], {}, async ({ lab, planFile, agents, plan }) => {
        const webHolder = await settledHolder(lab, webVip);
        const ping = startPing(lab, webVip, 10);
        const first = hostilePlan(lab, [web, bad], "bad", [["advert_int", "255"]], plan);
        const badInstance = instanceOf(first, "bad");
        await writePlan(planFile, encodePlan(first));
        const lines = await waitFor("every agent to report the refused instance", () =>
          Promise.resolve(
            refusals(agents, badInstance).length === 3 ? refusals(agents, badInstance) : undefined,
          ),
        );
        console.log(`# refused: ${JSON.stringify(lines[0])}`);
        for (const l of lines) {
          assert.equal(l.services, "default/bad");
          assert.match(String(l.reason), /advertisement interval 255\.00s is out of range/);
        }
        for (const a of agents.values()) {
          const text = await scrapeMetrics(a.node);
          assert.match(text, /^keepalived_operator_refused_instances 1$/m, a.node.name);
          assert.match(text, /^keepalived_operator_config_rejected_total 0$/m, "nothing rejected whole");
        }
        await sleep(2000);
        assert.deepEqual(await holdersOf(lab, badVip), [], "the refused instance's VIP is not announced");
        assert.deepEqual(await holdersOf(lab, webVip), [webHolder]);

        // A legitimate Service added later gets its VIP while the bad one is still there.
        const later = labService("later", [laterVip], 2);
        const grown = labPlan(lab, [web, bad, later], {}, plan);
        await writePlan(
          planFile,
          encodePlan(hostilePlan(lab, [web, bad, later], "bad", [["advert_int", "255"]], plan)),
        );
        const laterHolder = await settledHolder(lab, laterVip);
        assert.deepEqual(await holdersOf(lab, badVip), []);
        assert.equal(refusals(agents, badInstance).length, 3, "the same refusal is not logged again");

        // The Service's settings fixed: its instance loads, and the agents say so.
        await writePlan(planFile, labPlan(lab, [web, bad, later], {}, grown));
        const badHolder = await settledHolder(lab, badVip);
        await waitFor("every agent to say the instance loads again", () =>
          Promise.resolve(
            [...agents.values()].every((a) =>
              a.logs.some((l) => l.msg === "vrrp_instance no longer refused" && l.instance === badInstance),
            )
              ? true
              : undefined,
          ),
        );
        for (const a of agents.values())
          assert.match(await scrapeMetrics(a.node), /^keepalived_operator_refused_instances 0$/m);
        const result = await ping.stop();
        console.log(
          `# web ${webVip} pinged throughout: ${result.sent} pings, ${result.lost} lost; later ${laterVip} on ${laterHolder}; fixed ${badVip} on ${badHolder}`,
        );
        assert.equal(result.lost, 0, "the good VIP never stopped answering");
        assert.deepEqual(await holdersOf(lab, webVip), [webHolder], "nor moved");
      });
    },
  );
});
