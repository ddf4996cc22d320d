// The bench's command line, parsed without side effects: which rows, how many trials, what to write.

export const ROW_IDS = [
  "failover",
  "crash",
  "handover",
  "propagation",
  "reload",
  "spread",
  "scale",
  "controller-failover",
  "new-vip",
  "stress",
  "changes",
] as const;
export type RowId = (typeof ROW_IDS)[number];

export interface BenchArgs {
  quick: boolean;
  json: boolean;
  rows: RowId[];
  /** Overrides every row's number of trials. */
  trials?: number;
  /** Overrides every duration-based row's duration (the stress row), in seconds. */
  seconds?: number;
  /** Where the report and plots go; undefined: nowhere (see writeTarget). */
  out?: string;
  /** Keep the rows of the report already there that this run does not repeat. */
  merge: boolean;
}

export const USAGE = `usage: npm run bench -- [--quick] [--json] [--only <row>]... [--trials N] [--seconds S]
       [--out <dir>] [--merge]

Runs the benchmarks on the network-namespace testbed and a real control plane (as root), prints one table
(--json: the JSON instead) and writes benchmarks.md, benchmarks.json and the plots to --out. A full run of
every row writes to docs/ unless --out says otherwise; --quick and --only runs write only with --out or --merge.
  --quick        a short smoke run of every row (fewer trials and Services; each row says what it ran)
  --only <row>   run this row (repeat or separate with commas): ${ROW_IDS.join(", ")}, or 1-${ROW_IDS.length}
  --trials N     trials of every trial-based row
  --seconds S    how long every duration-based row runs (stress: S seconds of stress-ng per configuration;
                 full run 600, --quick 5)
  --out <dir>    where to write (default docs/)
  --merge        keep the rows of the benchmarks.json already there that this run does not repeat, e.g.
                 to measure a busy machine a few rows at a time (same machine only)`;

export class ArgsError extends Error {}

function rowId(word: string): RowId {
  const byNumber = /^[1-9][0-9]*$/.test(word) ? ROW_IDS[Number(word) - 1] : undefined;
  const id = byNumber ?? ROW_IDS.find((r) => r === word);
  if (id === undefined)
    throw new ArgsError(
      `--only ${JSON.stringify(word)}: use one of ${ROW_IDS.join(", ")} or 1-${ROW_IDS.length}`,
    );
  return id;
}

function wholeNumber(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new ArgsError(`${flag} ${JSON.stringify(v)}: use a whole number ≥ 1`);
  return n;
}

export function parseBenchArgs(argv: readonly string[]): BenchArgs | "help" {
  const args: BenchArgs = { quick: false, json: false, rows: [], merge: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new ArgsError(`${a} needs a value`);
      return v;
    };
    if (a === "--help" || a === "-h") return "help";
    else if (a === "--quick") args.quick = true;
    else if (a === "--json") args.json = true;
    else if (a === "--merge") args.merge = true;
    else if (a === "--only") args.rows.push(...value().split(",").map(rowId));
    else if (a === "--trials") args.trials = wholeNumber(a, value());
    else if (a === "--seconds") args.seconds = wholeNumber(a, value());
    else if (a === "--out") args.out = value();
    else throw new ArgsError(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
  }
  return args;
}

/** Every row, in their numbered order, when none was named. */
export function selectedRows(args: BenchArgs): RowId[] {
  return args.rows.length === 0 ? [...ROW_IDS] : ROW_IDS.filter((r) => args.rows.includes(r));
}

/** Where to write: --out, or docs/ for a full run of every row or with --merge; undefined: print only. */
export function writeTarget(args: BenchArgs, docsDir: string): string | undefined {
  if (args.out !== undefined) return args.out;
  return args.merge || (!args.quick && args.rows.length === 0) ? docsDir : undefined;
}
