// The bench harness works: one `--quick` run of every row (real keepalived in network namespaces, a real
// control plane) produces numbers for each row. Timing decides nothing here; the figures are not checked.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ROW_IDS } from "../../bench/args.js";
import type { BenchReport } from "../../bench/report.js";

const RUN = join(import.meta.dirname, "..", "..", "bench", "run.js");

test("npm run bench -- --quick: every row produces numbers", { timeout: 1_200_000 }, async () => {
  const out = await mkdtemp(join(tmpdir(), "kao-bench-"));
  try {
    const child = spawn(process.execPath, [RUN, "--quick", "--json", "--out", out], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => {
      stderr = (stderr + s).slice(-20_000);
      if (process.env.KAO_E2E_VERBOSE === "1") process.stderr.write(s);
    });
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    let report: BenchReport;
    try {
      report = JSON.parse(stdout) as BenchReport;
    } catch {
      assert.fail(`the bench printed no JSON (exit code ${code}); the end of its progress:\n${stderr}`);
    }
    assert.deepEqual(
      report.rows.map((r) => r.id),
      [...ROW_IDS],
    );
    for (const row of report.rows) {
      assert.equal(row.error, undefined, `row ${row.number} (${row.title}) failed: ${row.error}`);
      const counted = row.measures.filter((m) => m.summary.n > 0);
      assert.ok(counted.length > 0, `row ${row.number} (${row.title}) measured nothing`);
      for (const m of row.measures) {
        assert.ok(
          m.values.every(Number.isFinite),
          `row ${row.number}, ${m.what} (${m.config}): ${JSON.stringify(m.values)}`,
        );
      }
    }
    assert.equal(code, 0, `the bench exited with ${code}`);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
