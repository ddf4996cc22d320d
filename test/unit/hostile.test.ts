// Replays the hostile corpus (test/hostile/cases/*.yaml) through the render CLI, the planner, the renderer
// and the real `keepalived --config-test`. A case marked knownDefect must still fail: when a fix makes it
// pass, this test fails until the marker is removed. HOSTILE_REPORT=<file> writes what each case did.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { CachedConfigTest } from "../hostile/configTest.js";
import { loadCases, loadWorld, type HostileCase } from "../hostile/corpus.js";
import { judge, type Baseline } from "../hostile/judge.js";
import { playCase } from "../hostile/replay.js";

const world = loadWorld();
const cases = loadCases();
const BENIGN: HostileCase = {
  id: "world/benign",
  about: "the world with no case: everything announced, nothing said",
  services: [],
  nodes: [],
  expect: "accepted",
  forbiddenVips: [],
  vips: ["198.18.100.10", "198.18.200.1"],
  lines: [],
};

interface ReportEntry {
  id: string;
  knownDefect?: string;
  failures: string[];
  render: string[];
}

describe("hostile corpus", () => {
  let tester: CachedConfigTest;
  let baseline: Baseline;
  const report: ReportEntry[] = [];
  before(async () => {
    tester = new CachedConfigTest();
    baseline = { announced: (await playCase(world, BENIGN)).announced, bystanders: world.bystanders };
  });
  after(() => {
    tester.close();
    const out = process.env.HOSTILE_REPORT;
    if (out !== undefined && out !== "") writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  });

  it("holds at least 200 cases", () => {
    assert.ok(cases.length >= 200, `only ${cases.length} cases`);
  });

  it("the world without a case passes every check and announces every bystander", async () => {
    const o = await playCase(world, BENIGN);
    assert.deepEqual(judge(BENIGN, o, baseline, tester), []);
    for (const b of world.bystanders) assert.ok((o.announced.get(b) ?? []).length > 0, `${b} is announced`);
  });

  for (const c of cases) {
    it(
      c.knownDefect === undefined ? c.id : `${c.id} (known defect ${c.knownDefect})`,
      { timeout: 60_000 },
      async () => {
        const o = await playCase(world, c);
        const failures = judge(c, o, baseline, tester);
        const entry: ReportEntry = {
          id: c.id,
          failures,
          render: o.cli.map(
            (r) =>
              `${r.node}: ${r.crash ?? `exit ${r.exitCode}`}: ${r.stderr.split("\n")[0]?.slice(0, 300) ?? ""}`,
          ),
        };
        if (c.knownDefect !== undefined) entry.knownDefect = c.knownDefect;
        report.push(entry);
        if (c.knownDefect === undefined) {
          assert.deepEqual(failures, [], `${c.id}: ${c.about}`);
        } else {
          assert.ok(
            failures.length > 0,
            `${c.id} passes every check now: remove its knownDefect marker ("${c.knownDefect}")`,
          );
        }
      },
    );
  }
});
