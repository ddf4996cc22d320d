// The CLI as a user runs it: the real bin script, real files, exit codes and messages.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

const run = (...args: string[]) =>
  spawnSync(process.execPath, ["bin/keepalived-operator.js", ...args], { encoding: "utf8" });
const dir = mkdtempSync(join(tmpdir(), "kao-cli-"));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe("keepalived-operator render", () => {
  it("renders the README example", () => {
    const r = run(
      "render",
      "--group",
      "examples/keepalivedgroup.yaml",
      "--services",
      "examples/demo-service.yaml",
      "--nodes",
      "examples/nodes.yaml",
      "--node",
      "master-2",
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /virtual_ipaddress_excluded \{\n {8}172\.21\.6\.50\/32/);
  });
  it("reads a List and JSON", () => {
    const services = file(
      "list.json",
      JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [
          {
            kind: "Service",
            metadata: {
              name: "a",
              namespace: "x",
              annotations: {
                "keepalived-operator.redhat-cop.io/keepalivedgroup":
                  "keepalived-operator/keepalivedgroup-workers",
              },
            },
            spec: { type: "LoadBalancer" },
            status: { loadBalancer: { ingress: [{ ip: "198.18.0.7" }] } },
          },
        ],
      }),
    );
    const r = run(
      "render",
      "--group",
      "examples/keepalivedgroup.yaml",
      "--services",
      services,
      "--node",
      "n1",
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /198\.18\.0\.7\/32/);
  });
  const bad: [string, string[], RegExp][] = [
    ["missing --group", ["--services", "examples/demo-service.yaml"], /--group <file> is required/],
    [
      "unreadable file",
      ["--group", "/nonexistent.yaml", "--services", "examples/demo-service.yaml"],
      /cannot read \/nonexistent\.yaml/,
    ],
    [
      "broken YAML",
      ["--group", file("broken.yaml", "kind: [\n"), "--services", "examples/demo-service.yaml"],
      /not valid YAML or JSON/,
    ],
    [
      "invalid group",
      [
        "--group",
        file("g.yaml", "kind: KeepalivedGroup\nmetadata: {name: g}\nspec: {interface: 'eth0 }'}\n"),
        "--services",
        "examples/demo-service.yaml",
      ],
      /spec\.interface: "eth0 }" must be a network interface name/,
    ],
    ["unknown option", ["--grup", "x"], /unknown option --grup/],
  ];
  for (const [name, args, message] of bad) {
    it(`${name}: exit 2 and a message naming the problem`, () => {
      const r = run("render", ...args);
      assert.equal(r.status, 2);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, "");
    });
  }
  it("warns about a bad Service on stderr but still renders the others", () => {
    const services = file(
      "svcs.yaml",
      "kind: Service\nmetadata: {name: a, namespace: x, annotations: {keepalived-operator.redhat-cop.io/keepalivedgroup: keepalived-operator/keepalivedgroup-workers}}\nspec: {type: LoadBalancer, externalIPs: [nope, 198.18.0.9]}\nstatus: {loadBalancer: {ingress: [{ip: 198.18.0.8}]}}\n",
    );
    const r = run(
      "render",
      "--group",
      "examples/keepalivedgroup.yaml",
      "--services",
      services,
      "--node",
      "n1",
    );
    assert.equal(r.status, 0);
    assert.match(r.stderr, /Service x\/a: spec\.externalIPs\[0\]: "nope" is not an IP address/);
    assert.match(
      r.stderr,
      /Service x\/a: spec\.externalIPs\[1\]: 198\.18\.0\.9 is outside the addresses KeepalivedGroup keepalived-operator\/keepalivedgroup-workers allows \(none is configured\)/,
    );
    assert.match(r.stdout, /198\.18\.0\.8\/32/);
    assert.doesNotMatch(r.stdout, /198\.18\.0\.9/);
  });
  it("unknown command exits 2 with usage", () => {
    const r = run("frobnicate");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown command "frobnicate"/);
  });
});
