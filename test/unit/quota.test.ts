// Instances of their own per namespace and group (#11, defect 10): one namespace cannot take every router ID.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GROUP_ANNOTATION, VERBATIM_CONFIG_ANNOTATION } from "../../src/api/names.js";
import type { KeepalivedGroup, KeepalivedGroupSpec } from "../../src/api/types.js";
import type { ServiceObject } from "../../src/core/objects.js";
import { planCluster, type ClusterPlan } from "../../src/core/plan.js";

const at = (second: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, second)).toISOString();

function svc(
  name: string,
  opts: { ns?: string; group?: string; created?: number; ips: string[]; local?: boolean; verbatim?: object },
): ServiceObject {
  const annotations: Record<string, string> = { [GROUP_ANNOTATION]: opts.group ?? "kao/a" };
  if (opts.verbatim !== undefined) annotations[VERBATIM_CONFIG_ANNOTATION] = JSON.stringify(opts.verbatim);
  return {
    metadata: { name, namespace: opts.ns ?? "greedy", creationTimestamp: at(opts.created ?? 0), annotations },
    spec: {
      type: "LoadBalancer",
      externalIPs: opts.ips,
      ...(opts.local === true ? { externalTrafficPolicy: "Local" } : {}),
    },
  };
}

function grp(
  name: string,
  created: number,
  spec: KeepalivedGroupSpec = {},
  status?: KeepalivedGroup["status"],
): KeepalivedGroup {
  return {
    metadata: { name, namespace: "kao", creationTimestamp: at(created) },
    spec: {
      interface: "eth0",
      nodeSelector: { [name]: "1" },
      allowedCIDRs: ["198.18.0.0/16", "2001:db8::/64"],
      ...spec,
    },
    ...(status === undefined ? {} : { status }),
  };
}

const nodes = [
  { metadata: { name: "a1", labels: { a: "1" } } },
  { metadata: { name: "b1", labels: { b: "1" } } },
];
const of = (p: ClusterPlan, key: string) => p.services.find((s) => s.key === key)!;
const reasons = (p: ClusterPlan, key: string) => of(p, key).diagnostics.map((d) => d.reason);
const dedicated = (p: ClusterPlan, group: string) =>
  p.groups.find((g) => g.group.name === group)!.instances.filter((i) => i.key.startsWith("service/"));

describe("dedicated instances per namespace", () => {
  it("253 Services with verbatimconfig in one namespace: 16 get instances, a newer group still announces", () => {
    const greedy = Array.from({ length: 253 }, (_, i) =>
      svc(`s${String(i).padStart(3, "0")}`, {
        created: i % 60,
        ips: [`198.18.${1 + Math.floor(i / 200)}.${(i % 200) + 1}`],
        verbatim: { accept: "" },
      }),
    );
    const plan = planCluster({
      groups: [grp("a", 0), grp("b", 1)],
      nodes,
      services: [...greedy, svc("web", { ns: "other", group: "kao/b", ips: ["198.18.9.1"] })],
    });
    assert.equal(dedicated(plan, "a").length, 16);
    const over = plan.services.filter((s) =>
      s.diagnostics.some((d) => d.reason === "DedicatedInstanceQuotaExceeded"),
    );
    assert.equal(over.length, 237);
    assert.ok(over.every((s) => s.announced.length === 0));
    const a = plan.groups.find((g) => g.group.name === "a")!;
    const condition = a.diagnostics.filter((d) => d.reason === "DedicatedInstanceQuotaExceeded");
    assert.equal(condition.length, 1, "one group diagnostic: the Degraded condition");
    assert.match(
      condition[0]!.message,
      /Services of 1 namespace\(s\) are over the quota of 16 .*greedy \(237: /,
    );
    assert.deepEqual(
      of(plan, "other/web").announced.map((x) => x.ip),
      ["198.18.9.1"],
    );
    assert.deepEqual(reasons(plan, "other/web"), []);
  });
  it("older Services first: a newer one never takes the instance of an older one", () => {
    const spec = { dedicatedInstancesPerNamespace: 2 };
    const first = planCluster({
      groups: [grp("a", 0, spec)],
      nodes,
      services: [
        svc("old", { created: 5, ips: ["198.18.0.5"], verbatim: { accept: "" } }),
        svc("mid", { created: 6, ips: ["198.18.0.6"], local: true }),
      ],
    });
    const ids = first.groups[0]!.routerIDs;
    const second = planCluster({
      groups: [grp("a", 0, spec, { routerIDs: ids })],
      nodes,
      services: [
        svc("new", { created: 9, ips: ["198.18.0.9"], verbatim: { nopreempt: "" } }),
        svc("mid", { created: 6, ips: ["198.18.0.6"], local: true }),
        svc("old", { created: 5, ips: ["198.18.0.5"], verbatim: { accept: "" } }),
      ],
    });
    for (const [key, id] of Object.entries(ids)) assert.equal(second.groups[0]!.routerIDs[key], id, key);
    assert.deepEqual(reasons(second, "greedy/new"), ["DedicatedInstanceQuotaExceeded"]);
    assert.match(of(second, "greedy/new").diagnostics[0]!.message, /already has 2 of the 2 VRRP instances/);
    assert.equal(
      of(second, "greedy/new").diagnostics[0]!.field,
      `metadata.annotations[${VERBATIM_CONFIG_ANNOTATION}]`,
    );
    assert.equal(of(first, "greedy/mid").diagnostics.length, 0);
  });
  it("a dual-stack Service counts twice; another namespace has a quota of its own; Local counts too", () => {
    const plan = planCluster({
      groups: [grp("a", 0, { dedicatedInstancesPerNamespace: 2 })],
      nodes,
      services: [
        svc("dual", { created: 1, ips: ["198.18.0.1", "2001:db8::1"], verbatim: { accept: "" } }),
        svc("single", { created: 2, ips: ["198.18.0.2"], local: true }),
        svc("theirs", { ns: "calm", created: 3, ips: ["198.18.0.3"], local: true }),
        svc("pooled", { created: 4, ips: ["198.18.0.4"] }),
      ],
    });
    assert.deepEqual(reasons(plan, "greedy/single"), ["DedicatedInstanceQuotaExceeded"]);
    assert.equal(of(plan, "greedy/single").diagnostics[0]!.field, "spec.externalTrafficPolicy");
    assert.equal(of(plan, "greedy/dual").announced.length, 2);
    assert.equal(of(plan, "calm/theirs").announced.length, 1);
    assert.equal(
      of(plan, "greedy/pooled").announced.length,
      1,
      "Services without an instance of their own are not counted",
    );
  });
  it("quota 0 refuses every dedicated Service; a Service whose only setting the group drops is pooled, not counted", () => {
    const plan = planCluster({
      groups: [grp("a", 0, { dedicatedInstancesPerNamespace: 0 })],
      nodes,
      services: [
        svc("ttl", { created: 1, ips: ["198.18.0.1"], verbatim: { unicast_ttl: "5" } }),
        svc("acc", { created: 2, ips: ["198.18.0.2"], verbatim: { accept: "" } }),
      ],
    });
    assert.deepEqual(reasons(plan, "greedy/ttl"), ["RejectedVerbatimConfig"]);
    assert.equal(of(plan, "greedy/ttl").announced.length, 1);
    assert.deepEqual(reasons(plan, "greedy/acc"), ["DedicatedInstanceQuotaExceeded"]);
    assert.equal(dedicated(plan, "a").length, 0);
  });
});
