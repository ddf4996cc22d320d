// The verbatim allow-lists against the real keepalived (2.2.7): every value the checks let through, at both
// ends of its range and in the pairs the planner keeps, renders a config that `keepalived --config-test`
// accepts without printing a line. And the values hostile input once used are refused before they get there.
// Creates a network namespace: run under the e2e lock (flock /tmp/kao-e2e.lock).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { GROUP_ANNOTATION, VERBATIM_CONFIG_ANNOTATION } from "../../src/api/names.js";
import type { KeepalivedGroupSpec } from "../../src/api/types.js";
import type { ServiceObject } from "../../src/core/objects.js";
import { planCluster } from "../../src/core/plan.js";
import { renderKeepalivedConf } from "../../src/render/keepalivedConf.js";
import { planV1 } from "../../src/render/planCodec.js";
import { ConfigTester } from "../support/keepalived.js";

const T0 = "2024-01-01T00:00:00Z";

/** Boundary values of each per-instance key (see INSTANCE_VERBATIM_ALLOW_LIST). */
const INSTANCE_VALUES: Record<string, string[]> = {
  advert_int: ["0.01", "40.95", "1"],
  preempt_delay: ["0", "1000"],
  nopreempt: ["", "true"],
  garp_master_delay: ["0", "255"],
  garp_master_repeat: ["1", "255"],
  garp_master_refresh: ["0", "86400"],
  garp_master_refresh_repeat: ["1", "255"],
  garp_lower_prio_delay: ["0", "255"],
  garp_lower_prio_repeat: ["0", "255"],
  unicast_ttl: ["1", "255"],
  dont_track_primary: [""],
  skip_check_adv_addr: [""],
  accept: [""],
  no_accept: [""],
};

/** A value of each global key (see GLOBAL_VERBATIM_ALLOW_LIST), at an end of its range where it has one. */
const GLOBAL_VALUES: Record<string, string> = {
  router_id: "lb-1",
  vrrp_mcast_group4: "224.0.0.19",
  vrrp_mcast_group6: "ff02::13",
  vrrp_garp_master_delay: "255",
  vrrp_garp_master_repeat: "1",
  vrrp_garp_master_refresh: "86400",
  vrrp_garp_master_refresh_repeat: "255",
  vrrp_garp_lower_prio_delay: "0",
  vrrp_garp_lower_prio_repeat: "255",
  vrrp_garp_interval: "0.999999",
  vrrp_gna_interval: "0.000001",
  vrrp_min_garp: "true",
  vrrp_down_timer_adverts: "100",
  vrrp_lower_prio_no_advert: "false",
  vrrp_higher_prio_send_advert: "",
  vrrp_check_unicast_src: "true",
  vrrp_skip_check_adv_addr: "",
  vrrp_startup_delay: "59.999",
  log_unknown_vrids: "",
  dynamic_interfaces: "allow_if_changes",
  max_auto_priority: "-1",
};

function svc(i: number, verbatim: Record<string, string>): ServiceObject {
  return {
    metadata: {
      name: `s${i}`,
      namespace: `ns${i}`,
      creationTimestamp: T0,
      annotations: { [GROUP_ANNOTATION]: "kao/g", [VERBATIM_CONFIG_ANNOTATION]: JSON.stringify(verbatim) },
    },
    spec: { type: "LoadBalancer", externalIPs: [`198.18.0.${10 + i}`] },
  };
}

/** The config of node n1 for a group with these Services; the plan's diagnostics alongside. */
function render(spec: KeepalivedGroupSpec, services: ServiceObject[]): { conf: string; problems: string[] } {
  const plan = planCluster({
    groups: [
      {
        metadata: { name: "g", namespace: "kao", creationTimestamp: T0 },
        spec: { interface: "eth0", allowedCIDRs: ["198.18.0.0/24"], ...spec },
      },
    ],
    nodes: ["n1", "n2"].map((name, i) => ({
      metadata: { name },
      status: { addresses: [{ type: "InternalIP", address: `198.18.0.${2 + i}` }] },
    })),
    services,
  });
  const group = plan.groups[0]!;
  const problems = [...group.diagnostics, ...plan.services.flatMap((s) => s.diagnostics)].map(
    (d) => d.message,
  );
  return { conf: renderKeepalivedConf(planV1(group), { node: "n1", interface: "eth0" }), problems };
}

describe("verbatim values against keepalived --config-test", () => {
  let tester: ConfigTester;
  before(() => {
    tester = new ConfigTester();
  });
  after(() => {
    tester.close();
  });

  it("every per-instance key at both ends of its range (VRRPv3, unicast), one Service each", () => {
    const services: ServiceObject[] = [];
    for (const [key, values] of Object.entries(INSTANCE_VALUES))
      for (const value of values) services.push(svc(services.length, { [key]: value }));
    const { conf, problems } = render({ unicastEnabled: true }, services);
    assert.deepEqual(problems, []);
    assert.equal((conf.match(/vrrp_instance /g) ?? []).length, services.length);
    const r = tester.check(conf, "instance-keys.conf");
    assert.deepEqual(r.output, []);
    assert.equal(r.exitCode, 0);
  });
  it("the hostile values of #11 are refused, and what is left passes (VRRPv3 and VRRPv2)", () => {
    for (const version of [2, 3] as const) {
      const { conf, problems } = render({ vrrp: { version }, unicastEnabled: true }, [
        svc(0, { garp_master_repeat: `${"0".repeat(1100)}1`, accept: "" }),
        svc(1, { advert_int: "255", garp_master_delay: "3" }),
        svc(2, { advert_int: "1.5" }),
        svc(3, { nopreempt: "", preempt_delay: "10" }),
        svc(4, { accept: "", no_accept: "" }),
        svc(5, { garp_master_refresh: "60", garp_master_refresh_repeat: "2", unicast_ttl: "64" }),
      ]);
      assert.ok(problems.length >= 3, problems.join("\n"));
      assert.ok(!conf.includes("0".repeat(64)));
      const r = tester.check(conf, `hostile-v${version}.conf`);
      assert.deepEqual(r.output, [], `VRRPv${version}`);
      assert.equal(r.exitCode, 0);
    }
  });
  it("preempt_delay in a group that does not preempt is refused, and the config passes", () => {
    const { conf, problems } = render({ vrrp: { preempt: false } }, [svc(0, { preempt_delay: "5" })]);
    assert.equal(problems.length, 1);
    const r = tester.check(conf, "nopreempt-group.conf");
    assert.deepEqual(r.output, []);
  });
  it("every allowed global_defs key at once", () => {
    const { conf, problems } = render({ verbatimConfig: GLOBAL_VALUES }, [svc(0, { accept: "" })]);
    assert.deepEqual(problems, []);
    for (const key of Object.keys(GLOBAL_VALUES)) assert.match(conf, new RegExp(`^ {4}${key}\\b`, "m"));
    const r = tester.check(conf, "global-keys.conf");
    assert.deepEqual(r.output, []);
    assert.equal(r.exitCode, 0);
  });
});
