import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  GROUP_ANNOTATION,
  LOAD_BALANCER_IPS_ANNOTATION,
  SPREAD_VIPS_ANNOTATION,
  VERBATIM_CONFIG_ANNOTATION,
} from "../../src/api/names.js";
import type { ServiceObject } from "../../src/core/objects.js";
import { parseService } from "../../src/core/service.js";
import { INSTANCE_VERBATIM_ALLOW_LIST, parseInstanceVerbatim } from "../../src/core/verbatim.js";

const svc = (
  annotations: Record<string, string>,
  spec: ServiceObject["spec"] = { type: "LoadBalancer" },
  ingress: string[] = [],
): ServiceObject => ({
  metadata: { name: "s", namespace: "n", annotations },
  spec,
  status: { loadBalancer: { ingress: ingress.map((ip) => ({ ip })) } },
});
const G = { [GROUP_ANNOTATION]: "kao/g" };

describe("parseService", () => {
  it("ignores Services that are not ours", () => {
    assert.equal(parseService(svc({})).kind, "ignored");
    assert.equal(parseService(svc(G, { type: "ClusterIP" })).kind, "ignored");
    assert.equal(
      parseService(svc(G, { type: "LoadBalancer", loadBalancerClass: "metallb.io/metallb" })).kind,
      "ignored",
    );
    assert.equal(parseService(svc(G, { type: "ClusterIP", externalIPs: ["198.18.0.1"] })).kind, "claim");
    assert.equal(
      parseService(
        svc(G, { type: "LoadBalancer", loadBalancerClass: "keepalived-operator.redhat-cop.io/keepalived" }),
      ).kind,
      "claim",
    );
  });
  it("refuses, never ignores, a Service that may be ours but whose deciding fields have the wrong type", () => {
    const fieldsOf = (raw: unknown): string[] => {
      const r = parseService(raw as ServiceObject);
      return r.kind === "invalid" ? r.diagnostics.map((d) => d.field) : [r.kind];
    };
    const lb = { type: "LoadBalancer" };
    assert.deepEqual(fieldsOf({ metadata: null, spec: lb }), ["metadata"]);
    assert.deepEqual(fieldsOf({ spec: lb }), ["metadata"]);
    assert.deepEqual(fieldsOf({ metadata: { name: "s", annotations: "x" }, spec: lb }), [
      "metadata.annotations",
    ]);
    assert.deepEqual(fieldsOf({ metadata: { name: "s", annotations: G }, spec: "LoadBalancer" }), ["spec"]);
    assert.deepEqual(fieldsOf(svc(G, { type: "ClusterIP", externalIPs: [5] as unknown as string[] })), [
      "spec.externalIPs[0]",
    ]);
    // Not ours whatever the dropped value was: no group annotation, or a type that is not ours.
    assert.deepEqual(fieldsOf(svc({}, { type: "ClusterIP", externalIPs: [5] as unknown as string[] })), [
      "ignored",
    ]);
    assert.deepEqual(fieldsOf({ metadata: { name: "s", annotations: "x" }, spec: { type: "ClusterIP" } }), [
      "ignored",
    ]);
  });
  it("VIPs are status ∪ externalIPs, canonical, de-duplicated and sorted", () => {
    const r = parseService(
      svc(G, { type: "LoadBalancer", externalIPs: ["2001:DB8::1", "198.18.0.9", "198.18.0.2"] }, [
        "198.18.0.9",
        "198.18.0.1",
      ]),
    );
    assert.equal(r.kind, "claim");
    assert.deepEqual(
      r.claim.vips.map((v) => v.text),
      ["198.18.0.1", "198.18.0.2", "198.18.0.9", "2001:db8::1"],
    );
  });
  for (const bad of ["kao", "kao/g/x", "KAO/g", "kao/", "/g", "kao/g\n}", ""]) {
    it(`malformed group annotation ${JSON.stringify(bad)} is a warning, not a crash`, () => {
      const r = parseService(svc({ [GROUP_ANNOTATION]: bad }));
      assert.equal(r.kind, "invalid");
      assert.equal(r.diagnostics[0]?.reason, "InvalidGroupAnnotation");
      const d = r.diagnostics[0];
      assert.ok(d);
      assert.match(d.field, /keepalivedgroup/);
    });
  }
  it("a bad IP is reported and the others kept", () => {
    const r = parseService(
      svc(G, { type: "LoadBalancer", externalIPs: ["nope", "198.18.0.1", "127.0.0.1", "198.18.0.2\n}"] }),
    );
    assert.equal(r.kind, "claim");
    assert.deepEqual(
      r.claim.vips.map((v) => v.text),
      ["198.18.0.1"],
    );
    assert.deepEqual(
      r.diagnostics.map((d) => d.field),
      ["spec.externalIPs[0]", "spec.externalIPs[2]", "spec.externalIPs[3]"],
    );
  });
  it("requests: at most one IP per family; the later one is reported", () => {
    const r = parseService(
      svc(
        { ...G, [LOAD_BALANCER_IPS_ANNOTATION]: "198.18.0.7, 2001:db8::7,198.18.0.8" },
        {
          type: "LoadBalancer",
          loadBalancerIP: "198.18.0.6",
        },
      ),
    );
    assert.equal(r.kind, "claim");
    assert.deepEqual(
      r.claim.requested.map((v) => v.text),
      ["198.18.0.6", "2001:db8::7"],
    );
    assert.deepEqual(
      r.diagnostics.map((d) => [d.field, d.reason]),
      [
        [`metadata.annotations[${LOAD_BALANCER_IPS_ANNOTATION}]`, "InvalidIP"],
        [`metadata.annotations[${LOAD_BALANCER_IPS_ANNOTATION}]`, "InvalidIP"],
      ],
    );
  });
  const families: [string, NonNullable<ServiceObject["spec"]>, number[], boolean][] = [
    ["default: IPv4 only", { type: "LoadBalancer" }, [4], false],
    [
      "SingleStack keeps the first listed",
      { type: "LoadBalancer", ipFamilies: ["IPv6", "IPv4"] },
      [6],
      false,
    ],
    [
      "PreferDualStack adds the other family",
      { type: "LoadBalancer", ipFamilies: ["IPv6"], ipFamilyPolicy: "PreferDualStack" },
      [6, 4],
      false,
    ],
    [
      "RequireDualStack needs all",
      { type: "LoadBalancer", ipFamilies: ["IPv4", "IPv6"], ipFamilyPolicy: "RequireDualStack" },
      [4, 6],
      true,
    ],
    ["the requested IP's family", { type: "LoadBalancer", loadBalancerIP: "2001:db8::9" }, [6], false],
  ];
  for (const [name, spec, expected, all] of families) {
    it(`families: ${name}`, () => {
      const r = parseService(svc(G, spec));
      assert.equal(r.kind, "claim");
      assert.deepEqual(r.claim.families, expected);
      assert.equal(r.claim.requireAllFamilies, all);
    });
  }
  it("a spreadvips value other than true or false is reported and read as false", () => {
    const r = parseService(svc({ ...G, [SPREAD_VIPS_ANNOTATION]: "yes" }));
    assert.equal(r.kind, "claim");
    assert.equal(r.claim.spreadVIPs, false);
    assert.equal(r.diagnostics[0]?.reason, "InvalidAnnotation");
  });
  it("spreadvips and verbatimconfig", () => {
    const r = parseService(
      svc({
        ...G,
        [SPREAD_VIPS_ANNOTATION]: "true",
        [VERBATIM_CONFIG_ANNOTATION]: '{"garp_master_refresh":"60","notify_master":"/bin/sh -c id"}',
      }),
    );
    assert.equal(r.kind, "claim");
    assert.equal(r.claim.spreadVIPs, true);
    assert.deepEqual(r.claim.instanceSettings, [["garp_master_refresh", "60"]]);
    assert.match(r.diagnostics[0]?.message ?? "", /"notify_master" is not allowed/);
  });
});

describe("verbatimconfig allow-list", () => {
  it("never lets through a key that runs a program or opens a block", () => {
    const hostile = {
      notify: "/bin/sh",
      notify_master: "/tmp/x",
      track_script: "{ x }",
      include: "/etc/shadow",
      virtual_ipaddress: "{ 8.8.8.8 }",
      priority: "255",
      smtp_alert: "",
      garp_master_refresh: "60\n}\nvrrp_script x { script /bin/sh",
      advert_int: "1 }",
      nopreempt: "yes",
      __proto__: "1",
    };
    const { pairs, problems } = parseInstanceVerbatim(JSON.stringify(hostile));
    assert.deepEqual(pairs, []);
    assert.equal(problems.length, Object.keys(hostile).length);
  });
  it("accepts each allowed key with a valid value", () => {
    for (const key of Object.keys(INSTANCE_VERBATIM_ALLOW_LIST)) {
      const value = [
        "nopreempt",
        "dont_track_primary",
        "skip_check_adv_addr",
        "accept",
        "no_accept",
      ].includes(key)
        ? ""
        : "2";
      assert.deepEqual(parseInstanceVerbatim(JSON.stringify({ [key]: value })).pairs, [[key, value]], key);
    }
  });
  it("rejects JSON that is not an object", () => {
    for (const text of ["[1]", "nope", "1", "null"])
      assert.equal(parseInstanceVerbatim(text).problems.length, 1, text);
  });
});
