// The original operator's configuration as the bench renders it: the template's semantics, and a file that
// real keepalived accepts.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { configTestProblems } from "../../src/agent/config.js";
import { ORIGINAL_GROUP, originalServices, renderOriginalConf } from "../../bench/original.js";

const services = originalServices([
  { name: "web", vips: ["198.18.0.200"] },
  { name: "api", vips: ["198.18.0.201", "198.18.0.202"] },
]);

describe("the original's keepalived.conf (bench/original.ts)", () => {
  const conf = renderOriginalConf(ORIGINAL_GROUP, services);

  it("has one vrrp_instance per Service, named <namespace>/<name>, with its router ID and IPs", () => {
    assert.deepEqual(
      [...conf.matchAll(/^vrrp_instance (\S+) \{$/gm)].map((m) => m[1]),
      ["default/web", "default/api"],
    );
    assert.deepEqual(
      [...conf.matchAll(/virtual_router_id (\d+)/g)].map((m) => Number(m[1])),
      [1, 2],
    );
    assert.match(conf, /virtual_ipaddress \{\n\s+198\.18\.0\.201\n\s+198\.18\.0\.202\n\s+\}/);
  });

  it("leaves priority, vrrp_version, advert_int and garp_master_delay to keepalived's defaults", () => {
    for (const keyword of ["priority", "vrrp_version", "advert_int", "garp_master_delay", "state"])
      assert.doesNotMatch(conf, new RegExp(`^\\s*${keyword}\\b`, "m"), keyword);
  });

  it("passes keepalived --config-test", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kao-original-"));
    try {
      const file = join(dir, "keepalived.conf");
      await writeFile(file, conf);
      const problems = await new Promise<string[]>((resolve) => {
        execFile("keepalived", ["--config-test", "-f", file, "-l"], (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
          resolve(configTestProblems(`${stdout}\n${stderr}`, code));
        });
      });
      assert.deepEqual(problems, []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
