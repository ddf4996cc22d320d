// This node's keepalived.conf: the renderer's text plus the agent's own global_defs (its notify FIFO), and
// the reading of keepalived's config test. Pure.
import type { GroupPlan } from "../core/plan.js";
import { renderKeepalivedConf, type NodeContext } from "../render/keepalivedConf.js";

/** Paths the agent puts into global_defs: no white space or syntax characters, so they stay one token. */
const SAFE_PATH = /^\/[A-Za-z0-9_./-]{1,200}$/;

/**
 * Renders the node's config and adds `vrrp_notify_fifo`, through which keepalived reports state changes.
 * Throws RenderError for plans the renderer refuses.
 */
export function nodeConfig(plan: GroupPlan, ctx: NodeContext, notifyFifo: string): string {
  if (!SAFE_PATH.test(notifyFifo)) {
    throw new Error(
      `notify FIFO path ${JSON.stringify(notifyFifo)} must be absolute, without spaces or quotes; choose another --state-dir`,
    );
  }
  const text = renderKeepalivedConf(plan, ctx);
  const marker = "global_defs {\n";
  const at = text.indexOf(marker);
  if (at === -1) throw new Error("the rendered keepalived.conf has no global_defs block");
  const end = at + marker.length;
  return `${text.slice(0, end)}    vrrp_notify_fifo ${notifyFifo}\n${text.slice(end)}`;
}

// keepalived reports most config problems as log lines and still exits 0, so any of these words rejects a config.
const WARNING_PATTERNS = [
  /unknown keyword/i,
  /warning/i,
  /rounding/i,
  /exceeds/i,
  /no vip/i,
  /invalid/i,
  /error/i,
  /non-existent/i,
  /doesn't exist/i,
  /not supported/i,
  /ignoring/i,
  /missing/i,
  /unable/i,
  /cannot|can't/i,
  /truncat/i,
  /out of range/i,
  /deprecated/i,
];

/** The lines of `keepalived --config-test` output that make the config unfit to run; empty means accepted. */
export function configTestProblems(output: string, exitCode: number | null): string[] {
  const lines = output
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const problems = lines.filter((l) => WARNING_PATTERNS.some((p) => p.test(l)));
  if (exitCode !== 0) {
    if (problems.length === 0)
      problems.push(lines.at(-1) ?? `keepalived --config-test exited with ${String(exitCode)}`);
    problems.push(`keepalived --config-test exited with ${String(exitCode)}`);
  }
  return problems;
}
