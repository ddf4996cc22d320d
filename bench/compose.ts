// One report from the rows of this run and, with --merge, the rows of an earlier report that this run did
// not repeat: so that a slow testbed can be measured a few rows at a time.
import { ROW_IDS } from "./args.js";
import type { Machine } from "./machine.js";
import { plotData, type BenchReport, type RowResult } from "./report.js";

export class MergeError extends Error {}

const SAME_MACHINE: (keyof Machine)[] = ["cpu", "cores", "kernel", "keepalived"];

export function composeReport(
  rows: RowResult[],
  machine: Machine,
  command: string,
  previous?: BenchReport,
): BenchReport {
  let all = rows;
  let commands = [command];
  if (previous !== undefined) {
    const differs = SAME_MACHINE.filter((k) => previous.machine[k] !== machine[k]);
    if (differs.length > 0)
      throw new MergeError(
        `the earlier report was measured on another machine (${differs.map((k) => `${k}: ${String(previous.machine[k])} here ${String(machine[k])}`).join("; ")}): run every row here instead of --merge`,
      );
    const ids = new Set(rows.map((r) => r.id));
    all = [...previous.rows.filter((r) => !ids.has(r.id)), ...rows];
    commands = [...previous.commands.filter((c) => c !== command), command];
  }
  all = [...all].sort((a, b) => a.number - b.number);
  const byTime = [...all].sort((a, b) => a.at.localeCompare(b.at));
  const first = byTime[0];
  const last = byTime.at(-1);
  const complete = ROW_IDS.every((id) => all.some((r) => r.id === id));
  return {
    mode: all.some((r) => r.quick) ? "quick" : complete ? "full" : "rows",
    date: new Date().toISOString(),
    seconds: all.reduce((s, r) => s + r.seconds, 0),
    machine,
    load: { start: first?.load.start ?? [], end: last?.load.end ?? [] },
    commands,
    rows: all,
    plots: plotData(all),
  };
}
