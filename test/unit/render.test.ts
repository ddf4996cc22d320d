// Golden keepalived.conf files, each accepted by the real keepalived without a single warning.
// Regenerate with UPDATE_GOLDEN=1 npm test.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { planCluster, type GroupPlan } from "../../src/core/plan.js";
import type { PlanV1 } from "../../src/api/plan.js";
import { keepalivedPassword, renderKeepalivedConf, RenderError } from "../../src/render/keepalivedConf.js";
import { parsePlan, planV1, serializeGroupPlan } from "../../src/render/planCodec.js";
import { ConfigTester } from "../support/keepalived.js";
import { loadSnapshot, REPO } from "../support/fixtures.js";

const UPDATE = process.env.UPDATE_GOLDEN === "1";
const GOLDEN = join(REPO, "test/golden");
const FIXTURES = "test/fixtures/render";

/** The plan as an agent reads it: written by the controller's encoder, read back by the agent's parser. */
const wire = (plan: GroupPlan): PlanV1 => parsePlan(serializeGroupPlan(plan), "plan.json");

describe("keepalived.conf golden files", () => {
  let tester: ConfigTester;
  before(() => {
    tester = new ConfigTester();
    mkdirSync(GOLDEN, { recursive: true });
  });
  after(() => {
    tester.close();
  });

  for (const file of readdirSync(join(REPO, FIXTURES))
    .filter((f) => f.endsWith(".yaml"))
    .sort()) {
    const name = file.replace(/\.yaml$/, "");
    it(name, () => {
      const plan = planCluster(loadSnapshot(join(FIXTURES, file)));
      const model = plan.groups[0];
      assert.ok(model, "fixture has a valid group");
      const group = wire(model);
      assert.ok(group.nodes.length > 0);
      for (const node of group.nodes) {
        const ctx: Parameters<typeof renderKeepalivedConf>[1] = { node: node.name, interface: "eth0" };
        if (group.group.password !== undefined) ctx.password = "s3cr3t-and-longer";
        const conf = renderKeepalivedConf(group, ctx);
        assert.equal(renderKeepalivedConf(group, ctx), conf, "rendering is deterministic");
        assert.equal(renderKeepalivedConf(planV1(model), ctx), conf, "the wire round trip changes nothing");
        const goldenPath = join(GOLDEN, `${name}.${node.name}.conf`);
        if (UPDATE || !existsSync(goldenPath)) writeFileSync(goldenPath, conf);
        assert.equal(
          conf,
          readFileSync(goldenPath, "utf8"),
          `${goldenPath} differs; rerun with UPDATE_GOLDEN=1 if intended`,
        );
        const result = tester.check(conf, `${name}.${node.name}.conf`);
        assert.deepEqual(result.output, [], `keepalived printed warnings for ${goldenPath}`);
        assert.equal(result.exitCode, 0);
      }
    });
  }

  it("the seed's demo Service renders the expected instance", () => {
    const plan = planCluster(loadSnapshot(join(FIXTURES, "seed-demo.yaml")));
    const group = wire(plan.groups[0]!);
    assert.deepEqual(
      group.nodes.map((n) => n.name),
      ["master-1", "master-2"],
      "worker-0 lacks the loadbalancer label",
    );
    const instance = group.instances.find((i) => i.vips.includes("172.21.6.50"));
    assert.ok(instance);
    assert.ok(![1, 2].includes(instance.routerId), "blacklisted router IDs are not used");
    const holder = instance.priorities[0]!.node;
    const conf = renderKeepalivedConf(group, { node: holder, interface: "ens3" });
    assert.match(conf, /vrrp_version 3/);
    assert.match(
      conf,
      new RegExp(`vrrp_instance ${instance.name} \\{\\n    state MASTER\\n    interface ens3\\n`),
    );
    // The anchor, derived from the router ID, is what adverts name; the VIP is excluded from them.
    assert.match(
      conf,
      new RegExp(
        `virtual_ipaddress \\{\\n {8}169\\.254\\.240\\.${instance.routerId}/32 scope link\\n {4}\\}\\n {4}virtual_ipaddress_excluded \\{\\n {8}172\\.21\\.6\\.50/32\\n`,
      ),
    );
    assert.match(conf, /router_id keepalivedgroup-workers/);
    const other = group.nodes.find((n) => n.name !== holder)!.name;
    assert.match(
      renderKeepalivedConf(group, { node: other, interface: "ens3" }),
      /state BACKUP\n[^}]*priority 240\n/,
    );
  });

  it("300 Services in one group: one config keepalived accepts, no router ID repeated", () => {
    const snapshot = loadSnapshot(join(FIXTURES, "seed-demo.yaml"));
    snapshot.services = Array.from({ length: 300 }, (_, i) => ({
      metadata: {
        name: `svc-${i}`,
        namespace: `ns-${i % 7}`,
        creationTimestamp: `2024-01-01T00:${String(Math.floor(i / 60)).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}Z`,
        annotations: {
          "keepalived-operator.redhat-cop.io/keepalivedgroup": "keepalived-operator/keepalivedgroup-workers",
        },
      },
      spec: { type: "LoadBalancer" },
      status: { loadBalancer: { ingress: [{ ip: `198.18.${100 + Math.floor(i / 250)}.${(i % 250) + 1}` }] } },
    }));
    const plan = planCluster(snapshot);
    const group = wire(plan.groups[0]!);
    const vips = group.instances.flatMap((i) => i.vips);
    assert.equal(vips.length, 300);
    assert.equal(new Set(vips).size, 300);
    const ids = group.instances.map((i) => i.routerId);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(plan.services.every((s) => s.diagnostics.length === 0 && s.announced.length === 1));
    for (const node of group.nodes) {
      const result = tester.check(
        renderKeepalivedConf(group, { node: node.name, interface: "eth0" }),
        "big.conf",
      );
      assert.deepEqual(result.output, []);
    }
  });
});

describe("renderer input checks", () => {
  const plan = wire(planCluster(loadSnapshot(join(FIXTURES, "local-verbatim-auth.yaml"))).groups[0]!);
  it("refuses a hostile interface name from the node", () => {
    assert.throws(
      () =>
        renderKeepalivedConf(plan, { node: "lb-a", interface: "eth0\n}\nvrrp_script x {", password: "p" }),
      RenderError,
    );
  });
  it("refuses a password that would break out of its line", () => {
    for (const password of ["a\nb", "a }", 'a"b', "a#b", ""]) {
      assert.throws(
        () => renderKeepalivedConf(plan, { node: "lb-a", interface: "eth0", password }),
        /spec\.passwordAuth/,
      );
    }
  });
  it("keeps the whole characters of the password that fit in keepalived's 8 bytes of UTF-8", () => {
    const cut = (p: string): [string, number] => {
      const kept = keepalivedPassword(p);
      return [kept, new TextEncoder().encode(kept).length];
    };
    assert.deepEqual(cut("correct-horse"), ["correct-", 8]);
    assert.deepEqual(cut("pässwörd"), ["pässwö", 8]);
    assert.deepEqual(cut("p🔑🔑ss"), ["p🔑", 5]);
    assert.deepEqual(cut("日本語のパス"), ["日本", 6]);
    assert.deepEqual(cut("s3cret"), ["s3cret", 6]);
    const conf = renderKeepalivedConf(plan, { node: "lb-a", interface: "eth0", password: "pässwörd" });
    assert.ok(conf.split("\n").some((l) => l.trim() === "auth_pass pässwö"));
  });
  it("needs the password when the group uses one", () => {
    assert.throws(
      () => renderKeepalivedConf(plan, { node: "lb-a", interface: "eth0" }),
      /no password was read/,
    );
  });
});
