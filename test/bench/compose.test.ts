// Reports merged from runs of a few rows each (--merge): rows of the new run replace the same rows of the
// earlier report, the others stay, and a report from another machine is refused.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { composeReport, MergeError } from "../../bench/compose.js";
import type { Machine } from "../../bench/machine.js";
import { measure, type RowResult } from "../../bench/report.js";

const here: Machine = {
  cpu: "cpu",
  cores: 2,
  kernel: "Linux 6",
  keepalived: "Keepalived v2.2.7",
  node: "v20",
};

function row(id: RowResult["id"], number: number, at: string, value: number): RowResult {
  return {
    id,
    number,
    title: id,
    ran: "",
    measures: [measure("x", "ours", "ms", [value])],
    notes: [],
    seconds: 10,
    at,
    load: { start: [number], end: [number + 0.5] },
    quick: false,
    plots: id === "failover" ? { gaps: [{ config: "ours", values: [value] }] } : {},
  };
}

describe("composeReport", () => {
  const first = composeReport(
    [row("failover", 1, "2026-01-01T00:00:00Z", 100), row("crash", 2, "2026-01-01T00:10:00Z", 5)],
    here,
    "npm run bench -- --only failover,crash --merge",
  );

  it("keeps the rows a merged run does not repeat and replaces those it does", () => {
    const merged = composeReport(
      [row("failover", 1, "2026-01-02T00:00:00Z", 200)],
      here,
      "npm run bench -- --only failover --merge",
      first,
    );
    assert.deepEqual(
      merged.rows.map((r) => [r.id, r.measures[0]?.values[0]]),
      [
        ["failover", 200],
        ["crash", 5],
      ],
    );
    assert.deepEqual(merged.plots.gaps, [{ config: "ours", values: [200] }]);
    assert.deepEqual(
      merged.load,
      { start: [2], end: [1.5] },
      "from the earliest row's start to the latest's end",
    );
    assert.equal(merged.mode, "rows");
    assert.equal(merged.commands.length, 2);
  });

  it("refuses an earlier report measured on another machine", () => {
    assert.throws(
      () => composeReport([], { ...here, cpu: "other" }, "npm run bench -- --merge", first),
      (err: unknown) => err instanceof MergeError && /cpu: cpu here other/.test(err.message),
    );
  });
});
