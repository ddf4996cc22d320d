// docs/benchmarks.md: the machine, the table, what each row ran, the plots and the original's configuration.
import { labVip } from "../src/lab/plans.js";
import { ORIGINAL_GROUP, originalServices, renderOriginalConf } from "./original.js";
import { renderMarkdownTable, type BenchReport } from "./report.js";

const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(" / ");

const MODES: Record<BenchReport["mode"], string> = {
  full: "a full run of every row",
  quick: "includes --quick rows: a smoke run, not figures to quote",
  rows: "not every row has run",
};

export function renderMarkdown(report: BenchReport, plotFiles: string[]): string {
  const m = report.machine;
  const out = [
    "# Benchmarks",
    "",
    `Written by ${report.commands.map((c) => `\`${c}\``).join(", then ")} on ${report.date.slice(0, 10)} (${MODES[report.mode]}; ${Math.round(report.seconds)} s of rows). Do not edit by hand: run the command again.`,
    "Timing never decides a test; these figures are measured, not asserted.",
    "",
    "| CPU | cores | kernel | keepalived | Node.js | load average (1/5/15 min) at start | at end |",
    "| --- | ---: | --- | --- | --- | --- | --- |",
    `| ${m.cpu} | ${m.cores} | ${m.kernel} | ${m.keepalived} | ${m.node} | ${load(report.load.start)} | ${load(report.load.end)} |`,
    "",
    'The testbed: network namespaces for 3 nodes (5 in the planner\'s spread) and a client on one bridge (src/lab/netns.ts), real keepalived in each node namespace, and a real etcd + kube-apiserver (src/lab/controlplane.ts). "Ours" is this operator\'s agents and controller; "original" is plain keepalived on the configuration the original operator\'s template gives (below). The ratio is ours ÷ original of the medians.',
    "",
    renderMarkdownTable(report),
    "",
    "## What each row ran",
    "",
  ];
  for (const row of report.rows) {
    const at = `${row.at.slice(0, 16).replace("T", " ")} UTC, ${Math.round(row.seconds)} s, load ${row.load.start[0] ?? "?"} → ${row.load.end[0] ?? "?"}${row.quick ? ", --quick" : ""}`;
    out.push(`${row.number}. **${row.title}** (${at}). ${row.ran}.`);
    if (row.error !== undefined) out.push(`   FAILED: ${row.error.split("\n")[0] ?? ""}`);
    for (const note of row.notes) out.push(`   ${note}`);
    out.push("");
  }
  if (plotFiles.length > 0) {
    out.push("## Plots", "");
    for (const f of plotFiles) out.push(`![${f}](${f})`, "");
  }
  out.push(
    "## The original's configuration",
    "",
    "Rendered by bench/original.ts from the semantics of the original operator's template (no code copied): one `vrrp_instance` per Service named `<namespace>/<name>`, no `priority` (100 on every node), no `vrrp_version` (VRRPv2), no `advert_int` (1 s), keepalived's default `garp_master_delay` (5 s), the same file on every node. For one Service:",
    "",
    "```",
    renderOriginalConf(ORIGINAL_GROUP, originalServices([{ name: "web", vips: [labVip(0)] }])).trimEnd(),
    "```",
    "",
    "## Running it",
    "",
    "```sh",
    "sudo npm run bench                          # every row; writes docs/benchmarks.md, .json and the plots",
    "sudo npm run bench -- --quick               # a short smoke run of every row (prints only)",
    "sudo npm run bench -- --only failover --trials 50 --out /tmp/b",
    "sudo npm run bench -- --only stress --seconds 60 --out /tmp/b   # 60 s of stress-ng per configuration",
    "sudo npm run bench -- --json                # the JSON instead of the table",
    "```",
    "",
  );
  return out.join("\n");
}
