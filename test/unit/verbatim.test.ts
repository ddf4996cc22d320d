// verbatimconfig values checked by type and range before anything is planned (#11, defects 2, 3 and 14): a
// refused key is dropped with ONE Warning on its own Service, however many keys it has; the Service keeps its
// other settings and VIPs, and no other Service is touched. And the group's verbatimConfig allow-list.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GROUP_ANNOTATION, VERBATIM_CONFIG_ANNOTATION } from "../../src/api/names.js";
import type { KeepalivedGroupSpec } from "../../src/api/types.js";
import { validateGroup } from "../../src/core/group.js";
import type { ServiceObject } from "../../src/core/objects.js";
import { planCluster, type ClusterPlan } from "../../src/core/plan.js";
import { parseInstanceVerbatim } from "../../src/core/verbatim.js";

const T0 = "2024-01-01T00:00:00Z";

function svc(name: string, ip: string, verbatim?: Record<string, unknown>): ServiceObject {
  const annotations: Record<string, string> = { [GROUP_ANNOTATION]: "kao/g" };
  if (verbatim !== undefined) annotations[VERBATIM_CONFIG_ANNOTATION] = JSON.stringify(verbatim);
  return {
    metadata: { name, namespace: "app", creationTimestamp: T0, annotations },
    spec: { type: "LoadBalancer", externalIPs: [ip], ports: [{ protocol: "TCP", port: 80 }] },
  };
}

function plan(services: ServiceObject[], spec: KeepalivedGroupSpec = {}): ClusterPlan {
  return planCluster({
    groups: [
      {
        metadata: { name: "g", namespace: "kao", creationTimestamp: T0 },
        spec: { interface: "eth0", allowedCIDRs: ["198.18.0.0/24"], ...spec },
      },
    ],
    nodes: [{ metadata: { name: "n1" } }, { metadata: { name: "n2" } }],
    services,
  });
}

const of = (p: ClusterPlan, name: string) => p.services.find((s) => s.key === `app/${name}`)!;
const settings = (p: ClusterPlan, name: string) =>
  p.groups[0]!.instances.find((i) => i.services.includes(`app/${name}`))?.settings ?? [];

describe("instance verbatimconfig values", () => {
  const refused: [string, Record<string, unknown>, RegExp][] = [
    [
      "1,101 digits (keepalived splits lines over 1023 characters)",
      { garp_master_repeat: `${"0".repeat(1100)}1` },
      /garp_master_repeat is longer than 64 characters/,
    ],
    [
      "leading zeros",
      { garp_master_repeat: "007" },
      /garp_master_repeat must be a whole number from 1 to 255/,
    ],
    ["0 repeats (keepalived would say 'setting to 1')", { garp_master_repeat: "0" }, /from 1 to 255/],
    ["a negative number", { preempt_delay: -1 }, /preempt_delay must be a whole number from 0 to 1000/],
    [
      "a float where a whole number goes",
      { garp_master_delay: 1.5 },
      /garp_master_delay must be a whole number/,
    ],
    ["an object", { garp_master_refresh: { a: 1 } }, /garp_master_refresh must be a string or a number/],
    ["null", { accept: null }, /accept must be a string or a number/],
    ["a flag with a value", { nopreempt: "yes" }, /nopreempt takes no value/],
    ["advert_int 0", { advert_int: "0" }, /advert_int must be seconds from 0\.01 to 255/],
    ["advert_int with 3 decimals", { advert_int: "0.005" }, /advert_int must be seconds/],
    ["syntax in a value", { garp_master_refresh: "1 }" }, /contains '\}'/],
    ["a line break", { advert_int: "1\nvrrp_script x {" }, /line break/],
  ];
  for (const [name, config, message] of refused) {
    it(`refused: ${name}`, () => {
      const p = plan([
        svc("bad", "198.18.0.10", { ...config, accept: config.accept === undefined ? "" : config.accept }),
        svc("good", "198.18.0.11"),
      ]);
      const d = of(p, "bad").diagnostics;
      assert.equal(d.length, 1, d.map((x) => x.message).join("\n"));
      assert.equal(d[0]!.reason, "RejectedVerbatimConfig");
      assert.equal(d[0]!.field, `metadata.annotations[${VERBATIM_CONFIG_ANNOTATION}]`);
      assert.match(d[0]!.message, message);
      assert.deepEqual(
        of(p, "bad").announced.map((a) => a.ip),
        ["198.18.0.10"],
        "its VIP stays",
      );
      assert.deepEqual(
        of(p, "good").announced.map((a) => a.ip),
        ["198.18.0.11"],
      );
      assert.deepEqual(of(p, "good").diagnostics, []);
    });
  }
  it("advert_int 255 on VRRPv3 (at most 40.95 s) is refused; 40.95 passes; VRRPv2 takes whole seconds 1-255", () => {
    const v3 = plan([
      svc("slow", "198.18.0.10", { advert_int: "255", garp_master_repeat: "2" }),
      svc("ok", "198.18.0.11", { advert_int: "40.95" }),
    ]);
    assert.match(
      of(v3, "slow").diagnostics[0]?.message ?? "",
      /VRRP version 3, whose advert_int is at most 40\.95 seconds/,
    );
    assert.deepEqual(settings(v3, "slow"), [["garp_master_repeat", "2"]], "the other setting is kept");
    assert.deepEqual(settings(v3, "ok"), [["advert_int", "40.95"]]);
    const v2 = plan(
      [svc("a", "198.18.0.10", { advert_int: "255" }), svc("b", "198.18.0.11", { advert_int: "1.5" })],
      { vrrp: { version: 2 } },
    );
    assert.deepEqual(settings(v2, "a"), [["advert_int", "255"]]);
    assert.match(of(v2, "b").diagnostics[0]?.message ?? "", /VRRP version 2, which takes whole seconds/);
  });
  it("nopreempt with preempt_delay: preempt_delay is refused, nopreempt kept; accept with no_accept: both refused", () => {
    const p = plan([
      svc("a", "198.18.0.10", {
        nopreempt: "",
        preempt_delay: "10",
        accept: "",
        no_accept: "",
        dont_track_primary: true,
      }),
    ]);
    assert.deepEqual(settings(p, "a"), [
      ["dont_track_primary", "true"],
      ["nopreempt", ""],
    ]);
    const d = of(p, "a").diagnostics;
    assert.equal(d.length, 1);
    assert.match(
      d[0]!.message,
      /^3 keys refused \("preempt_delay", "accept", "no_accept"\): preempt_delay is refused because nopreempt is set too/,
    );
  });
  it("preempt_delay in a group that does not preempt (the renderer writes nopreempt) is refused", () => {
    const p = plan([svc("a", "198.18.0.10", { preempt_delay: "5", garp_master_refresh: "60" })], {
      vrrp: { preempt: false },
    });
    assert.deepEqual(settings(p, "a"), [["garp_master_refresh", "60"]]);
    assert.match(of(p, "a").diagnostics[0]?.message ?? "", /spec\.vrrp\.preempt to false/);
  });
  it("15,000 bogus keys: one Warning summing them up, short, and the Service still announced", () => {
    const bogus = Object.fromEntries(
      Array.from({ length: 15000 }, (_, i) => [`k${String(i).padStart(5, "0")}`, "1"]),
    );
    const p = plan([svc("storm", "198.18.0.10", { ...bogus, accept: "" }), svc("other", "198.18.0.11")]);
    const d = of(p, "storm").diagnostics;
    assert.equal(d.length, 1);
    assert.match(
      d[0]!.message,
      /^15000 keys refused \("k00000", "k00001", .*, …\): "k00000" is not allowed; "k00001" is not allowed; "k00002" is not allowed; and 14997 more/,
    );
    assert.ok(d[0]!.message.length < 1000, `${d[0]!.message.length} characters`);
    assert.deepEqual(settings(p, "storm"), [["accept", ""]]);
    assert.deepEqual(
      of(p, "storm").announced.map((a) => a.ip),
      ["198.18.0.10"],
    );
    assert.deepEqual(of(p, "other").diagnostics, []);
  });
  it("parseInstanceVerbatim: a key of the prototype is just an unknown key", () => {
    const r = parseInstanceVerbatim('{"__proto__": {"accept": ""}, "constructor": "1", "toString": ""}');
    assert.deepEqual(r.pairs, []);
    assert.equal(r.problems.length, 3);
  });
});

describe("group verbatimConfig: an allow-list", () => {
  const refused = [
    "vrrp_strict",
    "vrrp_iptables",
    "vrrp_ipsets",
    "nftables",
    "net_namespace",
    "net_namespace_ipvs",
    "instance",
    "reload_time_file",
    "reload_file",
    "tmp_config_directory",
    "config_save_dir",
    "use_pid_dir",
    "umask",
    "startup_script",
    "shutdown_script",
    "notify_fifo",
    "vrrp_notify_fifo_script",
    "lvs_flush",
    "enable_snmp_vrrp",
    "enable_dbus",
    "smtp_server",
    "process_names",
    "vrrp_rt_priority",
    "vrrp_cpu_affinity",
    "checker_priority",
    "bfd_priority",
    "include_check",
    "random_seed",
    "data_use_instance",
  ];
  for (const key of refused) {
    it(`${key} makes the group invalid, naming the key`, () => {
      const r = validateGroup({
        metadata: { name: "g", namespace: "kao" },
        spec: { interface: "eth0", verbatimConfig: { [key]: "1" } },
      });
      assert.equal(r.ok, false);
      assert.equal(r.errors[0]!.field, `spec.verbatimConfig["${key}"]`);
      assert.equal(r.errors[0]!.reason, "InvalidVerbatimConfig");
    });
  }
  it("file and program keys say so; allowed keys with bad values name the value", () => {
    const r = validateGroup({
      metadata: { name: "g", namespace: "kao" },
      spec: {
        interface: "eth0",
        verbatimConfig: {
          reload_time_file: "/x",
          vrrp_garp_master_repeat: "0",
          vrrp_mcast_group4: "198.18.0.1",
          router_id: "a b",
        },
      },
    });
    assert.equal(r.ok, false);
    const text = r.errors.map((e) => `${e.field}: ${e.message}`).join("\n");
    assert.match(
      text,
      /reload_time_file would make keepalived run a program or read another file, or write one/,
    );
    assert.match(text, /vrrp_garp_master_repeat must be a whole number from 1 to 255/);
    assert.match(text, /vrrp_mcast_group4 must be an IPv4 multicast address/);
    assert.match(text, /router_id must be one word/);
  });
  it('allowed keys pass; a flag given as "true" is written bare', () => {
    const r = validateGroup({
      metadata: { name: "g", namespace: "kao" },
      spec: {
        interface: "eth0",
        verbatimConfig: { vrrp_check_unicast_src: "true", vrrp_garp_interval: "0.001", router_id: "lb-1" },
      },
    });
    assert.ok(r.ok);
    assert.deepEqual(r.model.verbatimGlobal, [
      ["router_id", "lb-1"],
      ["vrrp_check_unicast_src", ""],
      ["vrrp_garp_interval", "0.001"],
    ]);
  });
  it("thousands of refused keys: five errors and one summary", () => {
    const config = Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`vrrp_x${i}`, "1"]));
    const r = validateGroup({
      metadata: { name: "g", namespace: "kao" },
      spec: { interface: "eth0", verbatimConfig: config },
    });
    assert.equal(r.ok, false);
    assert.equal(r.errors.length, 6);
    assert.match(r.errors[5]!.message, /^1995 more keys are refused/);
  });
});
