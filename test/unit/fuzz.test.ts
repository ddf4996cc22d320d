// Property-based fuzzing (fast-check, seeded) of the group and Service parsers, the planner and the renderer,
// through the same replay as the hostile corpus: any input gives either a diagnostic naming object and field,
// or configs that `keepalived --config-test` accepts without a word and in which no input opened a directive;
// the world's other group is never affected. A property marked knownDefect must still fail: when a fix makes
// it hold, this test fails until the marker is removed.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import {
  anyJson,
  at,
  confuse,
  groupNumbers,
  groupStrings,
  groupVerbatim,
  nodeFacts,
  password,
  serviceStrings,
  serviceVerbatim,
} from "../hostile/arbitraries.js";
import { renderedVips } from "../hostile/configShape.js";
import { CachedConfigTest } from "../hostile/configTest.js";
import { loadWorld, plainCase, type HostileCase } from "../hostile/corpus.js";
import { universal, type Baseline } from "../hostile/judge.js";
import { playCase } from "../hostile/replay.js";

const SEED = 11;
/** keepalived calls a property may make before its configs are only checked for shape (all of them once one fails). */
const CONFIG_TESTS = 80;

type Parts = Partial<Pick<HostileCase, "group" | "services" | "nodes" | "password">>;
type Json = Parameters<typeof at>[1];

interface FuzzProperty {
  name: string;
  arbitrary: fc.Arbitrary<Parts>;
  runs: number;
  /** IPs that must never be rendered as a VIP. */
  forbidden?: string[];
  knownDefect?: string;
}

const GROUP_PATHS = [
  ["metadata"],
  ["metadata", "name"],
  ["metadata", "namespace"],
  ["spec"],
  ["spec", "interface"],
  ["spec", "interfaceFromIP"],
  ["spec", "nodeSelector"],
  ["spec", "verbatimConfig"],
  ["spec", "blacklistRouterIDs"],
  ["spec", "routerIDRange"],
  ["spec", "routerIDRange", "min"],
  ["spec", "addressPools"],
  ["spec", "addressPools", "0"],
  ["spec", "allowedCIDRs"],
  ["spec", "passwordAuth"],
  ["spec", "vrrp"],
  ["spec", "vrrp", "version"],
  ["spec", "vrrp", "garp"],
  ["spec", "unicastEnabled"],
  ["spec", "spreadVIPs"],
  ["spec", "routerIDScope"],
  ["status"],
  ["status", "routerIDs"],
];
const annotation = (name: string): string => `keepalived-operator.redhat-cop.io/${name}`;
const SERVICE_PATHS = [
  ["metadata"],
  ["metadata", "name"],
  ["metadata", "namespace"],
  ["metadata", "annotations"],
  ...[
    "keepalivedgroup",
    "spreadvips",
    "verbatimconfig",
    "loadbalancer-ips",
    "allow-shared-ip",
    "address-pool",
  ].map((a) => ["metadata", "annotations", annotation(a)]),
  ["metadata", "labels"],
  ["spec"],
  ["spec", "type"],
  ["spec", "externalIPs"],
  ["spec", "loadBalancerIP"],
  ["spec", "ports"],
  ["spec", "ipFamilies"],
  ["spec", "ipFamilyPolicy"],
  ["spec", "externalTrafficPolicy"],
  ["spec", "healthCheckNodePort"],
  ["status"],
  ["status", "loadBalancer", "ingress"],
];
const node = (name: string, address: string): Json => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name, labels: { lb: "yes" } },
  status: { addresses: [{ type: "InternalIP", address }] },
});

const NODE_ADDRESSES = ["198.18.0.21", "198.18.0.22", "198.18.0.23"];
const NETWORK_AND_BROADCAST = ["198.18.0.0", "198.18.0.255", "198.18.100.0", "198.18.100.255"];
/** A Service whose externalIP is one of `ips`, in a group whose allowedCIDRs cover the nodes' network too. */
const externalIP = (ips: string[]): fc.Arbitrary<Parts> =>
  fc.constantFrom(...ips).map((ip) => ({
    group: { spec: { allowedCIDRs: ["198.18.0.0/24", "198.18.100.0/24"] } },
    services: [{ spec: { type: "ClusterIP", externalIPs: [ip] } }],
  }));

const PASSWORD_GROUP: Json = {
  spec: { vrrp: { version: 2 }, passwordAuth: { secretRef: { name: "vrrp-password" } } },
};

const PROPERTIES: FuzzProperty[] = [
  {
    name: "group: hostile strings in interface, names, selectors, blacklist, pools and allowed ranges",
    arbitrary: groupStrings.map((group) => ({ group: group })),
    runs: 250,
  },
  {
    name: "group: verbatimConfig keys and values",
    arbitrary: groupVerbatim.map((group) => ({ group: group })),
    runs: 200,
  },
  {
    name: "group: VRRP, gratuitous ARP and router ID numbers of every size",
    arbitrary: groupNumbers.map((group) => ({ group: group })),
    runs: 200,
  },
  {
    name: "Service: hostile strings in annotations, externalIPs, loadBalancerIP, status and names",
    arbitrary: fc
      .array(serviceStrings, { minLength: 1, maxLength: 2 })
      .map((services) => ({ services: services as Json[] })),
    runs: 250,
  },
  {
    name: "Service: verbatimconfig with allow-listed keys and values of every kind",
    arbitrary: serviceVerbatim.map((s) => ({ services: [s as Json] })),
    runs: 200,
  },
  {
    name: "Service: a node's address is never a VIP, even inside allowedCIDRs",
    arbitrary: externalIP(NODE_ADDRESSES),
    runs: 30,
    forbidden: NODE_ADDRESSES,
  },
  {
    name: "Service: the network and broadcast addresses of an allowed CIDR are never VIPs",
    arbitrary: externalIP(NETWORK_AND_BROADCAST),
    runs: 30,
    forbidden: NETWORK_AND_BROADCAST,
  },
  {
    name: "group: any JSON value in any field",
    arbitrary: confuse(GROUP_PATHS).map(({ path, value }) => ({ group: at(path, value) })),
    runs: 300,
  },
  {
    name: "Service: any JSON value in any field",
    arbitrary: confuse(SERVICE_PATHS).map(({ path, value }) => ({ services: [at(path, value)] })),
    runs: 300,
  },
  {
    name: "renderer: node names and addresses as comments, instance names and unicast peers",
    arbitrary: nodeFacts.map((f) => ({
      group: { spec: { unicastEnabled: true } },
      nodes: f.names.map((n) => node(n, f.address)),
    })),
    runs: 200,
  },
  {
    name: "renderer: the VRRP password",
    arbitrary: password.map((p) => ({ group: PASSWORD_GROUP, password: p })),
    runs: 200,
  },
];

describe("fuzzing the parsers, the planner and the renderer", () => {
  const world = loadWorld();
  let tester: CachedConfigTest;
  let baseline: Baseline;
  before(async () => {
    tester = new CachedConfigTest();
    baseline = {
      announced: (await playCase(world, plainCase("world"))).announced,
      bystanders: world.bystanders,
    };
  });
  after(() => {
    tester.close();
  });

  async function problems(parts: Parts, forbidden: readonly string[]): Promise<string[]> {
    const o = await playCase(world, plainCase("fuzz", parts));
    const hostileRendered = o.configs.some((c) => c.origin.startsWith("planCluster kao/hostile "));
    const hostileError = o.diagnostics.some(
      (d) => d.object.startsWith("KeepalivedGroup") && d.severity === "Error",
    );
    const out = universal(o, baseline, !hostileRendered || hostileError, tester);
    if (!hostileRendered && o.diagnostics.length === 0 && o.crashes.length === 0)
      out.push("the group renders nothing, and no diagnostic says why");
    for (const ip of forbidden) {
      const where = o.configs.filter((c) => renderedVips(c.text).includes(ip)).map((c) => c.origin);
      if (where.length > 0) out.push(`${ip} is rendered as a VIP (${where.join(", ")})`);
    }
    return out;
  }

  for (const p of PROPERTIES) {
    const title = p.knownDefect === undefined ? p.name : `${p.name} (known defect ${p.knownDefect})`;
    it(title, { timeout: 120_000 }, async (t) => {
      tester.budget = tester.calls + CONFIG_TESTS;
      tester.unlimited = false;
      const property = fc.asyncProperty(p.arbitrary, async (parts) => {
        const found = await problems(parts, p.forbidden ?? []);
        if (found.length === 0) return;
        tester.unlimited = true;
        throw new Error(found.slice(0, 6).join("\n"));
      });
      if (p.knownDefect === undefined) {
        await fc.assert(property, { seed: SEED, numRuns: p.runs });
        t.diagnostic(`${p.runs} runs, ${tester.calls} keepalived calls so far`);
        return;
      }
      const result = await fc.check(property, { seed: SEED, numRuns: p.runs, endOnFailure: true });
      assert.ok(
        result.failed,
        `"${p.name}" holds for ${p.runs} runs now: remove its knownDefect marker ("${p.knownDefect}")`,
      );
      const example = JSON.stringify(result.counterexample);
      const why =
        result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
      t.diagnostic(
        `still fails after ${result.numRuns} run(s): ${example.slice(0, 400)} → ${why.split("\n").slice(0, 3).join(" / ").slice(0, 600)}`,
      );
    });
  }

  it("the arbitraries reach every kind of JSON value", () => {
    const kinds = new Set(
      fc
        .sample(anyJson, { seed: SEED, numRuns: 300 })
        .map((v) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v)),
    );
    assert.deepEqual([...kinds].sort(), ["array", "boolean", "null", "number", "object", "string"]);
  });
});
