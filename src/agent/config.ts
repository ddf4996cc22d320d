// The reading of keepalived's config test: which of its output lines make a config unfit to run. Pure.

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
