import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KeepalivedGroupSpec } from "../../src/api/types.js";
import { validateGroup } from "../../src/core/group.js";
import { TIMING_ADVERT_MS } from "../../src/core/vrrp.js";

const group = (spec: KeepalivedGroupSpec, name = "g") => ({ metadata: { name, namespace: "ns" }, spec });

describe("validateGroup: defaults", () => {
  it("the seed's group gets VRRPv3, Default timing, preemption, spreading, our image unless set", () => {
    const r = validateGroup(
      group({ interface: "ens3", nodeSelector: { "node-role.kubernetes.io/loadbalancer": "" } }),
    );
    assert.ok(r.ok);
    assert.equal(r.model.vrrp.version, 3);
    assert.equal(r.model.vrrp.advertIntervalMs, TIMING_ADVERT_MS.Default);
    assert.equal(r.model.vrrp.preempt, true);
    assert.equal(r.model.spreadVIPs, true);
    assert.equal(r.model.routerIdScope, "Cluster");
    assert.deepEqual(r.model.routerIdRange, { min: 1, max: 255 });
    assert.match(r.model.image, /keepalived-operator/);
    assert.deepEqual(r.model.tolerations, [{ operator: "Exists" }]);
  });
  it("the original's keepalived image is replaced by the agent image, with a warning", () => {
    const r = validateGroup(
      group({ interface: "ens3", image: "registry.redhat.io/openshift4/ose-keepalived-ipfailover" }),
    );
    assert.ok(r.ok);
    assert.match(r.model.image, /keepalived-operator/);
    assert.equal(r.warnings[0]?.field, "spec.image");
    const own = validateGroup(group({ interface: "ens3", image: "registry.example/agent:1" }));
    assert.ok(own.ok);
    assert.equal(own.model.image, "registry.example/agent:1");
  });
  it("passwordAuth selects VRRPv2 and the default key 'password'", () => {
    const r = validateGroup(group({ interface: "eth0", passwordAuth: { secretRef: { name: "pw" } } }));
    assert.ok(r.ok);
    assert.equal(r.model.vrrp.version, 2);
    assert.deepEqual(r.model.password, { secretName: "pw", secretKey: "password" });
  });
  it("Fast timing is its profile's interval; an explicit interval wins", () => {
    const fast = validateGroup(group({ interface: "eth0", vrrp: { timing: "Fast" } }));
    assert.ok(fast.ok);
    assert.equal(fast.model.vrrp.advertIntervalMs, TIMING_ADVERT_MS.Fast);
    const explicit = validateGroup(
      group({ interface: "eth0", vrrp: { timing: "Fast", advertIntervalMilliseconds: 250 } }),
    );
    assert.ok(explicit.ok);
    assert.equal(explicit.model.vrrp.advertIntervalMs, 250);
  });
  it("accepts router IDs as numbers or numeric strings, and both spellings of legacy fields", () => {
    const r = validateGroup(
      group({
        interface: "eth0",
        blacklistRouterIDs: [1, "2"],
        DaemonsetPodPriorityClassName: "high",
        daemonsetAnnotations: { a: "b" },
      }),
    );
    assert.ok(r.ok);
    assert.deepEqual([...r.model.blacklist], [1, 2]);
    assert.equal(r.model.priorityClassName, "high");
    assert.deepEqual(r.model.podAnnotations, { a: "b" });
    assert.deepEqual(
      r.warnings.map((w) => w.reason),
      ["DeprecatedField", "DeprecatedField"],
    );
  });
});

describe("validateGroup: errors name the field and the fix", () => {
  const cases: [string, KeepalivedGroupSpec, string, RegExp][] = [
    ["no interface", {}, "spec", /spec\.interface nor spec\.interfaceFromIP/],
    [
      "hostile interface",
      { interface: "eth0\n}\nglobal_defs {" },
      "spec.interface",
      /network interface name/,
    ],
    ["bad interfaceFromIP", { interfaceFromIP: "not-an-ip" }, "spec.interfaceFromIP", /not an IP address/],
    ["router ID 0", { interface: "e", blacklistRouterIDs: [0] }, "spec.blacklistRouterIDs[0]", /1 to 255/],
    [
      "router ID text",
      { interface: "e", blacklistRouterIDs: ["abc"] },
      "spec.blacklistRouterIDs[0]",
      /1 to 255/,
    ],
    [
      "range inverted",
      { interface: "e", routerIDRange: { min: 20, max: 10 } },
      "spec.routerIDRange",
      /min <= max/,
    ],
    [
      "v3 with password",
      { interface: "e", vrrp: { version: 3 }, passwordAuth: { secretRef: { name: "s" } } },
      "spec.passwordAuth",
      /VRRP version 2/,
    ],
    ["v2 sub-second", { interface: "e", vrrp: { version: 2, timing: "Fast" } }, "spec.vrrp", /whole seconds/],
    [
      "interval not centiseconds",
      { interface: "e", vrrp: { advertIntervalMilliseconds: 105 } },
      "spec.vrrp.advertIntervalMilliseconds",
      /multiple of 10/,
    ],
    [
      "verbatim newline",
      { interface: "e", verbatimConfig: { router_id: "x\nvrrp_instance y {" } },
      'spec.verbatimConfig["router_id"]',
      /line break/,
    ],
    [
      "verbatim brace",
      { interface: "e", verbatimConfig: { router_id: "x }" } },
      'spec.verbatimConfig["router_id"]',
      /'\}'/,
    ],
    [
      "verbatim script",
      { interface: "e", verbatimConfig: { notify_fifo_script: "/bin/sh" } },
      'spec.verbatimConfig["notify_fifo_script"]',
      /run a program/,
    ],
    [
      "verbatim include key",
      { interface: "e", verbatimConfig: { include: "/etc/passwd" } },
      'spec.verbatimConfig["include"]',
      /run a program or read another file/,
    ],
    [
      "verbatim bad key",
      { interface: "e", verbatimConfig: { "a b": "c" } },
      'spec.verbatimConfig["a b"]',
      /keepalived keyword/,
    ],
    [
      "verbatim reserved",
      { interface: "e", verbatimConfig: { vrrp_version: "2" } },
      'spec.verbatimConfig["vrrp_version"]',
      /spec\.vrrp\.version/,
    ],
    [
      "bad secret name",
      { interface: "e", passwordAuth: { secretRef: { name: "A B" } } },
      "spec.passwordAuth.secretRef.name",
      /DNS subdomain/,
    ],
    [
      "bad secret key",
      { interface: "e", passwordAuth: { secretRef: { name: "s" }, secretKey: "a b" } },
      "spec.passwordAuth.secretKey",
      /not a valid Secret key/,
    ],
    ["VRRP version 4", { interface: "e", vrrp: { version: 4 as 3 } }, "spec.vrrp.version", /use 2 or 3/],
    [
      "preempt delay too long",
      { interface: "e", vrrp: { preemptDelaySeconds: 5000 } },
      "spec.vrrp.preemptDelaySeconds",
      /0 to 1000/,
    ],
    [
      "router ID range past 255",
      { interface: "e", routerIDRange: { max: 300 } },
      "spec.routerIDRange",
      /1-255/,
    ],
    [
      "pool mixing families",
      { interface: "e", addressPools: [{ name: "p", addresses: ["198.18.0.1-2001:db8::1"] }] },
      "spec.addressPools[0]",
      /mixes IPv4 and IPv6/,
    ],
    [
      "pools overlapping",
      {
        interface: "e",
        addressPools: [
          { name: "a", addresses: ["198.18.0.0/24"] },
          { name: "b", addresses: ["198.18.0.128/25"] },
        ],
      },
      "spec.addressPools[1]",
      /overlaps pool "a"/,
    ],
    [
      "allowed CIDR not a range",
      { interface: "e", allowedCIDRs: ["nope"] },
      "spec.allowedCIDRs[0]",
      /neither a CIDR/,
    ],
  ];
  it("a name or namespace that is not a DNS name", () => {
    const r = validateGroup({
      metadata: { name: "Bad_Name", namespace: "a.b" },
      spec: { interface: "eth0" },
    });
    assert.ok(!r.ok);
    assert.deepEqual(
      r.errors.map((e) => e.field),
      ["metadata.name", "metadata.namespace"],
    );
  });
  for (const [name, spec, field, message] of cases) {
    it(name, () => {
      const r = validateGroup(group(spec));
      assert.ok(!r.ok, "rejected");
      const d = r.errors.find((e) => e.field === field);
      assert.ok(d, `an error on ${field}; got ${JSON.stringify(r.errors.map((e) => e.field))}`);
      assert.match(d.message, message);
      assert.equal(d.object.kind, "KeepalivedGroup");
      assert.equal(d.object.name, "g");
    });
  }
});
