// Row 11, changes at scale: the scale suite (test/scale/scale.test.ts) on the real control plane with 10,000
// Services, 100 Node objects and 20 groups (the size): 10,000 Services created at once, a controller
// restart, then 50 Services applied one at a time, each timed from the apply to its VIP in its holder's node
// plan. The suite asserts its counted invariants (one distinct IP each, exact shares, nothing changed by the
// restart or the applies); this row records its figures. Run on a quiet machine: it takes several minutes.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../../src/lab/processes.js";
import { measure, type Measure } from "../report.js";
import type { BenchRow } from "../row.js";

/** What the suite writes to $SCALE_FIGURES (see scale.test.ts). */
interface Figures {
  createdMs: number;
  /** The same creates on an API server of their own, with no controller (SCALE_BARE). */
  bareCreatedMs: number;
  convergedMs: number;
  /** Reconciles, and CPU seconds of the API server and of the controller, from the first create to convergence. */
  passesToConverge: number;
  apiserverCpuS: number;
  controllerCpuS: number;
  /** The controller's RSS read every second from the first create to convergence: the largest. */
  rssPeakMiB: number;
  rssCreatedMiB: number;
  rssSettledMiB: number;
  rssRestartedMiB: number;
  rssAppliedMiB: number;
  planBytes: number[];
  applyToPlanMs: number[];
  /** The part of each before the API server answered the apply (the controller hears of it about then). */
  applyAnsweredMs: number[];
  reconcileMs: number[];
  plannerMs: number[];
  decisionMs: number[];
  objectsPerChange: number;
  kibPerChange: number;
}

interface Size {
  services: number;
  nodes: number;
  groups: number;
  /** Seconds the controller is left idle after the burst before its memory is read again. */
  settleS: number;
}

/** Runs the suite at `size`; its figures, or an error with the end of its output. */
async function runSuite(size: Size, progress: (line: string) => void): Promise<Figures> {
  const dir = await mkdtemp(join(tmpdir(), "kao-changes-"));
  try {
    const file = join(dir, "figures.json");
    // Inside a test (the quick bench runs in one), node --test would only warn and run nothing.
    const { NODE_TEST_CONTEXT: _inTest, ...env } = process.env;
    const child = spawn(
      process.execPath,
      ["--test", "--test-reporter=spec", join(repoRoot(), "dist/test/scale/scale.test.js")],
      {
        cwd: repoRoot(),
        env: {
          ...env,
          SCALE_SERVICES: String(size.services),
          SCALE_NODES: String(size.nodes),
          SCALE_GROUPS: String(size.groups),
          SCALE_FIGURES: file,
          SCALE_SETTLE_S: String(size.settleS),
          SCALE_BARE: "1",
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let tail = "";
    const keep = (s: string): void => {
      tail = (tail + s).slice(-8_000);
      for (const line of s.split("\n")) if (line.trimStart().startsWith("# ")) progress(line.trim());
    };
    child.stdout.setEncoding("utf8").on("data", keep);
    child.stderr.setEncoding("utf8").on("data", keep);
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    if (code !== 0) throw new Error(`the scale suite failed (exit code ${code}):\n${tail}`);
    if (!existsSync(file)) throw new Error(`the scale suite wrote no figures to ${file}:\n${tail}`);
    return JSON.parse(await readFile(file, "utf8")) as Figures;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function measures(f: Figures, size: Size): Measure[] {
  const at = `${size.services} Services, ${size.nodes} nodes, ${size.groups} groups`;
  const m = (what: string, unit: string, values: number[]): Measure =>
    measure(`${at}: ${what}`, "ours", unit, values);
  return [
    m("Service apply → its VIP in its holder's node plan", "ms", f.applyToPlanMs),
    m("of which the API server answering the apply", "ms", f.applyAnsweredMs),
    m("one reconcile during the applies, whole (plan, decide, write)", "ms", f.reconcileMs),
    m("one reconcile during the applies, planner (core/)", "ms", f.plannerMs),
    m("one reconcile during the applies, decision", "ms", f.decisionMs),
    m("node plan objects written per change", "objects", [f.objectsPerChange]),
    m("node plan bytes written per change", "KiB", [f.kibPerChange]),
    m("largest node plan object", "KiB", [Math.max(...f.planBytes) / 1024]),
    m("created at once (POST, 32 at a time) → every VIP in a node plan", "s", [f.convergedMs / 1000]),
    m("of which the API server taking the creates (the last one answered)", "s", [f.createdMs / 1000]),
    m("the same creates on an API server alone, no controller (the floor)", "s", [f.bareCreatedMs / 1000]),
    m("created at once: reconciles until every VIP is in a node plan", "passes", [f.passesToConverge]),
    m("created at once: API server CPU until then", "s", [f.apiserverCpuS]),
    m("created at once: controller CPU until then", "s", [f.controllerCpuS]),
    m("controller RSS during the creation, read every second: the largest", "MiB", [f.rssPeakMiB]),
    m("controller RSS right after the creation", "MiB", [f.rssCreatedMiB]),
    m(`controller RSS ${size.settleS} s after the creation, idle`, "MiB", [f.rssSettledMiB]),
    m("controller RSS after a restart", "MiB", [f.rssRestartedMiB]),
    m("controller RSS after the 50 applies", "MiB", [f.rssAppliedMiB]),
  ];
}

export const changes: BenchRow = {
  id: "changes",
  title: "Changes at scale (real control plane)",
  async run(ctx) {
    const size: Size = ctx.quick
      ? { services: 300, nodes: 20, groups: 4, settleS: 5 }
      : { services: 10_000, nodes: 100, groups: 20, settleS: 45 };
    const f = await runSuite(size, (line) => {
      ctx.progress(line);
    });
    return {
      ran: `test/scale/scale.test.ts with SCALE_SERVICES=${size.services} SCALE_NODES=${size.nodes} SCALE_GROUPS=${size.groups}: Node objects only (no agents), the controller with its production leader-election timers; ${f.applyToPlanMs.length} Services applied one at a time after a restart${ctx.quick ? " (quick run)" : ""}`,
      measures: measures(f, size),
      notes: [
        `The suite's invariants held: every Service got exactly one distinct IP, every node plan holds exactly its share, and neither the restart nor the applies changed an IP, a placement or a router ID.`,
      ],
    };
  },
};
