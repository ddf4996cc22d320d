// `render` on wrongly typed YAML: every file gives exit 0, or exit 2 with a message naming the file, the object
// or the field; never a stack trace (#11, defect 13). Run in-process through the CLI's main, like the bin script.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { main } from "../../src/cli/main.js";
import { interfaceFromIP } from "../../src/cli/render.js";

const dir = mkdtempSync(join(tmpdir(), "kao-cli-hostile-"));
let n = 0;
const file = (text: string): string => {
  const path = join(dir, `f${n++}.yaml`);
  writeFileSync(path, text);
  return path;
};

const GROUP_HEAD = "apiVersion: redhatcop.redhat.io/v1alpha1\nkind: KeepalivedGroup\n";
const group = (spec: string, metadata = "{name: g, namespace: kao}") =>
  `${GROUP_HEAD}metadata: ${metadata}\nspec: ${spec}\n`;
const ANNOTATION = "keepalived-operator.redhat-cop.io/keepalivedgroup";
const service = (body: string) =>
  `kind: Service\nmetadata: {name: s, namespace: demo, annotations: {${ANNOTATION}: kao/g}}\n${body}\n`;
const OK_GROUP = group("{interface: eth0, allowedCIDRs: [198.18.0.0/24]}");
const OK_SERVICE = service("spec: {type: LoadBalancer, externalIPs: [198.18.0.10]}");

interface Case {
  name: string;
  group?: string;
  services?: string;
  nodes?: string;
}

const CASES: Case[] = [
  {
    name: "group annotation is a number",
    services: `kind: Service\nmetadata: {name: s, annotations: {${ANNOTATION}: 5}}\nspec: {type: LoadBalancer}`,
  },
  {
    name: "matchExpressions is null",
    group: group(
      "{interface: eth0, addressPools: [{name: p, addresses: [198.18.0.0/28], serviceSelector: {matchExpressions: null}}]}",
    ),
  },
  {
    name: "matchExpressions is 5",
    group: group(
      "{interface: eth0, addressPools: [{name: p, addresses: [198.18.0.0/28], serviceSelector: {matchExpressions: 5}}]}",
    ),
  },
  {
    name: "matchExpressions is [null]",
    group: group(
      "{interface: eth0, addressPools: [{name: p, addresses: [198.18.0.0/28], serviceSelector: {matchExpressions: [null]}}]}",
    ),
  },
  {
    name: "values is 5",
    group: group(
      "{interface: eth0, addressPools: [{name: p, addresses: [198.18.0.0/28], namespaceSelector: {matchExpressions: [{key: a, operator: In, values: 5}]}}]}",
    ),
  },
  {
    name: "operator is wrong",
    group: group(
      "{interface: eth0, addressPools: [{name: p, addresses: [198.18.0.0/28], serviceSelector: {matchExpressions: [{key: a, operator: Near}]}}]}",
    ),
  },
  {
    name: "matchLabels is a list",
    group: group(
      "{interface: eth0, addressPools: [{name: p, addresses: [198.18.0.0/28], serviceSelector: {matchLabels: [a]}}]}",
    ),
  },
  { name: "nodeSelector is 5", group: group("{interface: eth0, nodeSelector: 5}") },
  { name: "nodeSelector value is a number", group: group("{interface: eth0, nodeSelector: {a: 1}}") },
  { name: "group metadata is 5", group: `${GROUP_HEAD}metadata: 5\nspec: {interface: eth0}\n` },
  { name: "group metadata is null", group: `${GROUP_HEAD}metadata: null\nspec: {interface: eth0}\n` },
  { name: "group name is a number", group: group("{interface: eth0}", "{name: 5}") },
  { name: "spec is a list", group: `${GROUP_HEAD}metadata: {name: g, namespace: kao}\nspec: [a]\n` },
  { name: "interface is a number", group: group("{interface: 5}") },
  { name: "interfaceFromIP is a map", group: group("{interfaceFromIP: {a: b}}") },
  { name: "blacklistRouterIDs is a map", group: group("{interface: eth0, blacklistRouterIDs: {a: 1}}") },
  {
    name: "blacklistRouterIDs holds null",
    group: group("{interface: eth0, blacklistRouterIDs: [null, 1.5]}"),
  },
  { name: "vrrp is a string", group: group("{interface: eth0, vrrp: fast}") },
  { name: "vrrp.version is a string", group: group("{interface: eth0, vrrp: {version: '3'}}") },
  {
    name: "vrrp.garp.masterRepeat is huge",
    group: group("{interface: eth0, vrrp: {garp: {masterRepeat: 99999999}}}"),
  },
  { name: "addressPools holds null", group: group("{interface: eth0, addressPools: [null]}") },
  {
    name: "a pool name is a number",
    group: group("{interface: eth0, addressPools: [{name: 5, addresses: [198.18.0.0/28]}]}"),
  },
  { name: "a pool has no addresses", group: group("{interface: eth0, addressPools: [{name: p}]}") },
  { name: "passwordAuth is empty", group: group("{interface: eth0, passwordAuth: {}}") },
  { name: "secretRef is null", group: group("{interface: eth0, passwordAuth: {secretRef: null}}") },
  { name: "verbatimConfig is a list", group: group("{interface: eth0, verbatimConfig: [a, b]}") },
  {
    name: "verbatimConfig value is a number",
    group: group("{interface: eth0, verbatimConfig: {router_id: 5}}"),
  },
  { name: "allowedCIDRs is 5", group: group("{interface: eth0, allowedCIDRs: 5}") },
  { name: "routerIDRange.min is a string", group: group("{interface: eth0, routerIDRange: {min: '1'}}") },
  { name: "routerIDScope is a number", group: group("{interface: eth0, routerIDScope: 2}") },
  {
    name: "dedicatedInstancesPerNamespace is a string",
    group: group("{interface: eth0, dedicatedInstancesPerNamespace: x}"),
  },
  { name: "agent.tolerations is 5", group: group("{interface: eth0, agent: {tolerations: 5}}") },
  { name: "interfaceFromIP is loopback", group: group("{interfaceFromIP: 127.0.0.1}") },
  { name: "group status.routerIDs is a list", group: `${OK_GROUP}status: {routerIDs: [1]}\n` },
  { name: "Service spec is 5", services: service("spec: 5") },
  {
    name: "externalIPs is a string",
    services: service("spec: {type: LoadBalancer, externalIPs: 198.18.0.10}"),
  },
  { name: "externalIPs holds a map", services: service("spec: {type: LoadBalancer, externalIPs: [{a: 1}]}") },
  {
    name: "ports hold strings",
    services: service("spec: {type: LoadBalancer, externalIPs: [198.18.0.10], ports: [{port: '80'}, 5]}"),
  },
  {
    name: "ingress holds a number",
    services: service("spec: {type: LoadBalancer}\nstatus: {loadBalancer: {ingress: [5, {ip: 7}]}}"),
  },
  {
    name: "annotations is a list",
    services: "kind: Service\nmetadata: {name: s, annotations: [a]}\nspec: {type: LoadBalancer}",
  },
  {
    name: "Service name is a number",
    services: `kind: Service\nmetadata: {name: 5, annotations: {${ANNOTATION}: kao/g}}\nspec: {type: LoadBalancer}`,
  },
  {
    name: "Service metadata is a string",
    services: "kind: Service\nmetadata: abc\nspec: {type: LoadBalancer}",
  },
  {
    name: "verbatimconfig value is an object",
    services: `kind: Service\nmetadata: {name: s, annotations: {${ANNOTATION}: kao/g, keepalived-operator.redhat-cop.io/verbatimconfig: '{"accept": {}, "advert_int": null}'}}\nspec: {type: LoadBalancer, externalIPs: [198.18.0.10]}`,
  },
  {
    name: "spreadvips annotation is a boolean",
    services: `kind: Service\nmetadata: {name: s, annotations: {${ANNOTATION}: kao/g, keepalived-operator.redhat-cop.io/spreadvips: true}}\nspec: {type: LoadBalancer, externalIPs: [198.18.0.10]}`,
  },
  { name: "loadBalancerIP is a number", services: service("spec: {type: LoadBalancer, loadBalancerIP: 5}") },
  {
    name: "ipFamilies is a map",
    services: service("spec: {type: LoadBalancer, externalIPs: [198.18.0.10], ipFamilies: {a: b}}"),
  },
  { name: "a List item is a number", services: "kind: List\nitems: [5]" },
  { name: "a document is a scalar", services: "hello" },
  { name: "node addresses is 5", nodes: "kind: Node\nmetadata: {name: n1}\nstatus: {addresses: 5}" },
  {
    name: "node labels is a number",
    nodes:
      "kind: Node\nmetadata: {name: n1, labels: 7}\nstatus: {addresses: [{type: InternalIP, address: 198.18.0.2}]}",
  },
  {
    name: "node address is a number",
    nodes: "kind: Node\nmetadata: {name: n1}\nstatus: {addresses: [{type: InternalIP, address: 5}, null]}",
  },
];

async function render(c: Case): Promise<{ code: number; stdout: string; stderr: string; files: string[] }> {
  const files = [file(c.group ?? OK_GROUP), file(c.services ?? OK_SERVICE)];
  const args = [
    "render",
    "--group",
    files[0]!,
    "--services",
    files[1]!,
    "--node",
    "n1",
    "--interface",
    "eth0",
  ];
  if (c.nodes !== undefined) {
    files.push(file(c.nodes));
    args.push("--nodes", files[2]!);
  }
  let stdout = "";
  let stderr = "";
  const io = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
  };
  const code = await main(args, io);
  return { code, stdout, stderr, files };
}

describe("render on wrongly typed input", () => {
  for (const c of CASES) {
    it(`${c.name}: exit 0, or exit 2 naming the file, object or field`, async () => {
      const r = await render(c);
      assert.ok(r.code === 0 || r.code === 2, `exit ${r.code}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /^\s+at /m, "no stack trace");
      if (r.code === 0) {
        assert.match(r.stdout, /^# keepalived\.conf of node n1/);
        return;
      }
      assert.equal(r.stdout, "");
      const names = r.files.some((f) => r.stderr.includes(f));
      assert.ok(names || /(spec|metadata|status)[.[\]\w]*:/.test(r.stderr), r.stderr);
    });
  }
  it("every wrongly typed value is named: matchExpressions 5, a number annotation", async () => {
    const pools = await render(CASES[2]!);
    assert.equal(pools.code, 2);
    assert.match(
      pools.stderr,
      /spec\.addressPools\[0\]\.serviceSelector\.matchExpressions: must be a list, not a whole number \(5\)/,
    );
    const annotation = await render(CASES[0]!);
    assert.equal(annotation.code, 0);
    assert.match(
      annotation.stderr,
      /metadata\.annotations\[keepalived-operator\.redhat-cop\.io\/keepalivedgroup\]: must be a string, not a whole number \(5\)/,
    );
    const loopback = await render(CASES.find((c) => c.name === "interfaceFromIP is loopback")!);
    assert.equal(loopback.code, 2);
    assert.match(loopback.stderr, /spec\.interfaceFromIP: "127\.0\.0\.1" is a loopback address/);
  });
  it("the bin script: exit 2 and one message, no stack", () => {
    const r = spawnSync(
      process.execPath,
      [
        "bin/keepalived-operator.js",
        "render",
        "--group",
        file(CASES[2]!.group!),
        "--services",
        file(OK_SERVICE),
        "--node",
        "n1",
      ],
      { encoding: "utf8" },
    );
    assert.equal(r.status, 2);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
    assert.match(r.stderr, /^keepalived-operator render: the KeepalivedGroup is invalid:/);
  });
  it("interfaceFromIP: a route that lands on lo (an address of this host) is an error naming the field", async () => {
    await assert.rejects(
      interfaceFromIP("198.18.0.1", () => Promise.resolve("lo")),
      /^CliError: spec\.interfaceFromIP: the route to 198\.18\.0\.1 on this host is the loopback interface lo/,
    );
    await assert.rejects(
      interfaceFromIP("198.18.0.1", () => Promise.resolve(undefined)),
      /spec\.interfaceFromIP: no route to 198\.18\.0\.1/,
    );
    assert.equal(await interfaceFromIP("198.18.0.1", () => Promise.resolve("eth0")), "eth0");
  });
});
