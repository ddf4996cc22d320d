// `npm run bench`: runs the rows on the network-namespace testbed and the real control plane, prints one
// table (or the JSON), and writes docs/benchmarks.md, docs/benchmarks.json and the plots. Never fails on
// time: a row that breaks is reported as failed and the others still run (exit code 1 then).
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot } from "../src/lab/processes.js";
import {
  ArgsError,
  parseBenchArgs,
  ROW_IDS,
  selectedRows,
  USAGE,
  writeTarget,
  type BenchArgs,
  type RowId,
} from "./args.js";
import { composeReport, MergeError } from "./compose.js";
import { loadAverage, machine } from "./machine.js";
import { renderMarkdown } from "./markdown.js";
import { renderTable, withRatios, type BenchReport, type RowResult } from "./report.js";
import type { BenchRow } from "./row.js";
import { controllerFailover } from "./rows/controllerFailover.js";
import { crash } from "./rows/crash.js";
import { handover } from "./rows/handover.js";
import { hardFailover } from "./rows/hardFailover.js";
import { newVip } from "./rows/newVip.js";
import { propagation } from "./rows/propagation.js";
import { reload } from "./rows/reload.js";
import { scale } from "./rows/scale.js";
import { changes } from "./rows/changes.js";
import { spread } from "./rows/spread.js";
import { stress } from "./rows/stress.js";
import { plots } from "./svg.js";
import { Testbed } from "./testbed.js";

const ROWS: Record<RowId, BenchRow> = {
  failover: hardFailover,
  crash,
  handover,
  propagation,
  reload,
  spread,
  scale,
  "controller-failover": controllerFailover,
  "new-vip": newVip,
  stress,
  changes,
};

// The testbed rows first (row 6 quotes row 5's measurement of the original), then the control-plane rows,
// the 10k Services late (they stay in the API server), and CPU stress last: the load average it leaves
// behind would sit next to every later row's timings.
const RUN_ORDER: RowId[] = [
  "failover",
  "crash",
  "handover",
  "reload",
  "spread",
  "new-vip",
  "propagation",
  "controller-failover",
  "scale",
  "changes",
  "stress",
];

async function runRow(testbed: Testbed, id: RowId): Promise<RowResult> {
  const row = ROWS[id];
  const number = ROW_IDS.indexOf(id) + 1;
  const ctx = testbed.context(id);
  const started = Date.now();
  const load = { start: loadAverage(), end: [] as number[] };
  const base = { id, number, title: row.title, at: new Date(started).toISOString(), quick: testbed.quick };
  ctx.progress(`${number}. ${row.title}: starting (load average ${load.start.join(" ")})`);
  try {
    const out = await row.run(ctx);
    const seconds = (Date.now() - started) / 1000;
    ctx.progress(`done in ${seconds.toFixed(0)} s`);
    return {
      ...base,
      ran: out.ran,
      measures: withRatios(out.measures),
      notes: out.notes ?? [],
      seconds,
      load: { ...load, end: loadAverage() },
      plots: out.plots ?? {},
    };
  } catch (err) {
    const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    ctx.progress(`FAILED: ${error}`);
    const seconds = (Date.now() - started) / 1000;
    return {
      ...base,
      ran: "",
      measures: [],
      notes: [],
      seconds,
      load: { ...load, end: loadAverage() },
      plots: {},
      error,
    };
  }
}

async function previousReport(target: string): Promise<BenchReport | undefined> {
  try {
    return JSON.parse(await readFile(join(target, "benchmarks.json"), "utf8")) as BenchReport;
  } catch {
    return undefined;
  }
}

async function write(target: string, report: BenchReport): Promise<void> {
  await mkdir(target, { recursive: true });
  const svgs = plots(report.plots);
  for (const [file, svg] of svgs) await writeFile(join(target, file), svg);
  await writeFile(join(target, "benchmarks.json"), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(target, "benchmarks.md"), renderMarkdown(report, [...svgs.keys()]));
  process.stderr.write(`wrote benchmarks.md, benchmarks.json and ${svgs.size} plot(s) to ${target}\n`);
}

async function bench(args: BenchArgs): Promise<number> {
  const selected = selectedRows(args);
  const testbed = new Testbed(args.quick, args.trials, args.seconds);
  const results: RowResult[] = [];
  try {
    for (const id of RUN_ORDER.filter((r) => selected.includes(r))) results.push(await runRow(testbed, id));
  } finally {
    await testbed.cleanup();
  }
  const target = writeTarget(args, join(repoRoot(), "docs"));
  const previous = args.merge && target !== undefined ? await previousReport(target) : undefined;
  const command = [
    "npm run bench",
    ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : []),
  ].join(" ");
  const report = composeReport(results, await machine(), command, previous);
  if (target !== undefined) await write(target, report);
  process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : `${renderTable(report)}\n`);
  return results.some((r) => r.error !== undefined) ? 1 : 0;
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ArgsError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (args === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write(
      "the bench creates network namespaces and runs keepalived: run it as root (sudo npm run bench)\n",
    );
    return 2;
  }
  try {
    return await bench(args);
  } catch (err) {
    if (err instanceof MergeError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
}

process.exit(await main());
