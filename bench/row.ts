// The shape of a benchmark row: an id, a title, and a run that measures and says what it ran.
import type { RowId } from "./args.js";
import type { Measure, PlotData } from "./report.js";
import type { BenchContext } from "./testbed.js";

export interface RowOutput {
  /** What was run: trials, Services, nodes, settings. */
  ran: string;
  measures: Measure[];
  notes?: string[];
  plots?: Partial<PlotData>;
}

export interface BenchRow {
  id: RowId;
  title: string;
  run(ctx: BenchContext): Promise<RowOutput>;
}
