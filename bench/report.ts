// What a bench run found, and its two readings: the table printed on the terminal and docs/benchmarks.md.
// Each row holds measures; a measure of ours is compared with the original's measure of the same quantity
// (ours ÷ original, of the medians).
import type { RowId } from "./args.js";
import type { Machine } from "./machine.js";
import { summarize, type Summary } from "./stats.js";

export interface Measure {
  /** The quantity, e.g. "client outage (longest gap between replies)". */
  what: string;
  /** Whose configuration: "original", "ours, Default timing (1000 ms adverts)", … */
  config: string;
  unit: string;
  /** The original's configuration, the baseline of the ratio. */
  original?: boolean;
  values: number[];
  summary: Summary;
  /** ours ÷ original of the medians (p50), for the same `what`; absent where the original has no figure. */
  ratio?: number;
}

export interface RowResult {
  id: RowId;
  number: number;
  title: string;
  /** What was run: trials, Services, nodes, settings. */
  ran: string;
  measures: Measure[];
  notes: string[];
  seconds: number;
  /** When the row started (ISO 8601), and the load averages (1/5/15 min) at its start and end. */
  at: string;
  load: { start: number[]; end: number[] };
  quick: boolean;
  /** The row's data for the plots. */
  plots: Partial<PlotData>;
  /** The row failed: why (the other rows still ran). */
  error?: string;
}

export interface TimelineLane {
  config: string;
  gapMs: number;
  /** Reply times relative to the cut, in ms. */
  replies: number[];
}

export interface PlotData {
  timeline: TimelineLane[];
  gaps: { config: string; values: number[] }[];
  scale: { services: number; planMs: number }[];
}

export interface BenchReport {
  /** full: every row of a full run; quick: some row ran --quick; rows: a full run of some rows. */
  mode: "full" | "quick" | "rows";
  /** When the report was written (ISO 8601); each row has its own start. */
  date: string;
  seconds: number;
  machine: Machine;
  /** Load averages at the start of the earliest row and the end of the latest. */
  load: { start: number[]; end: number[] };
  /** The commands whose rows the report holds (several after --merge). */
  commands: string[];
  rows: RowResult[];
  plots: PlotData;
}

/** The plots' data of all rows, in row order. */
export function plotData(rows: readonly RowResult[]): PlotData {
  return {
    timeline: rows.flatMap((r) => r.plots.timeline ?? []),
    gaps: rows.flatMap((r) => r.plots.gaps ?? []),
    scale: rows.flatMap((r) => r.plots.scale ?? []),
  };
}

export function measure(
  what: string,
  config: string,
  unit: string,
  values: number[],
  original = false,
): Measure {
  return { what, config, unit, values, summary: summarize(values), ...(original ? { original } : {}) };
}

/**
 * Fills in ours ÷ original for every measure whose quantity the original also has; where the original has
 * several measures of it, the first (the row puts the one most favourable to the original first).
 */
export function withRatios(measures: Measure[]): Measure[] {
  return measures.map((m) => {
    if (m.original === true) return m;
    const base = measures.find((o) => o.original === true && o.what === m.what);
    if (base === undefined || !(base.summary.p50 > 0) || !Number.isFinite(m.summary.p50)) return m;
    return { ...m, ratio: m.summary.p50 / base.summary.p50 };
  });
}

const WHOLE_UNITS = new Set([
  "ms",
  "pings",
  "changes",
  "VIPs",
  "samples",
  "bytes",
  "Services",
  "trials",
  "nodes",
]);

export function formatValue(v: number, unit: string): string {
  if (!Number.isFinite(v)) return "—";
  if (WHOLE_UNITS.has(unit)) return String(Math.round(v));
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export function formatRatio(r: number | undefined): string {
  if (r === undefined) return "";
  if (r === 0) return "0×";
  return `${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toPrecision(2)}×`;
}

const HEADER = ["#", "row", "measure", "configuration", "n", "p50", "p95", "max", "unit", "ours ÷ original"];

/** One line per measure; a row's number and title only on its first line. */
function cells(report: BenchReport): string[][] {
  const lines: string[][] = [];
  for (const row of report.rows) {
    if (row.error !== undefined) {
      lines.push([String(row.number), row.title, `FAILED: ${row.error.split("\n")[0] ?? ""}`]);
      continue;
    }
    row.measures.forEach((m, i) => {
      const first = i === 0 || row.measures[i - 1]?.what !== m.what;
      lines.push([
        i === 0 ? String(row.number) : "",
        i === 0 ? row.title : "",
        first ? m.what : "",
        m.config,
        String(m.summary.n),
        formatValue(m.summary.p50, m.unit),
        formatValue(m.summary.p95, m.unit),
        formatValue(m.summary.max, m.unit),
        m.unit,
        formatRatio(m.ratio),
      ]);
    });
  }
  return lines;
}

const NUMERIC = new Set([0, 4, 5, 6, 7, 9]);

/** The table for the terminal: columns padded, numbers right-aligned. */
export function renderTable(report: BenchReport): string {
  const rows = [HEADER, ...cells(report)];
  const widths = HEADER.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  const line = (r: string[]): string =>
    r
      .map((cell, c) => (NUMERIC.has(c) ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(HEADER), ...cells(report).map(line)].join("\n");
}

/** The same table in Markdown. */
export function renderMarkdownTable(report: BenchReport): string {
  const esc = (s: string): string => s.replaceAll("|", "\\|");
  const align = HEADER.map((_, c) => (NUMERIC.has(c) ? "---:" : "---"));
  return [HEADER, align, ...cells(report)].map((r) => `| ${r.map(esc).join(" | ")} |`).join("\n");
}
