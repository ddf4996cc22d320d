// Scale benchmark on the real control plane: the scale suite (test/scale/scale.test.ts) at the full
// size, 10,000 Services and 100 Node objects (or SCALE_SERVICES / SCALE_NODES; SCALE_GROUPS splits them over
// that many groups, default 1), run once; prints the figures the suite records (convergence, controller RSS,
// object sizes, bytes per change, apply → node plan p95) as a table. Never fails on time; it fails only when
// the suite's counted invariants do. Takes several minutes on two cores: run it on a quiet machine. Run after a
// build: node dist/bench/scale.js
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../src/lab/processes.js";

const services = process.env.SCALE_SERVICES ?? "10000";
const nodes = process.env.SCALE_NODES ?? "100";
const groups = process.env.SCALE_GROUPS ?? "1";
const started = performance.now();
const run = spawnSync(
  process.execPath,
  ["--test", "--test-reporter=spec", join(repoRoot(), "dist/test/scale/scale.test.js")],
  {
    cwd: repoRoot(),
    env: { ...process.env, SCALE_SERVICES: services, SCALE_NODES: nodes, SCALE_GROUPS: groups },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  },
);
const lines = `${run.stdout}\n${run.stderr}`.split("\n");
const figures = lines.filter(
  (l) =>
    l.trimStart().startsWith("# ") &&
    !/^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /.test(l.trim()),
);
console.log(`| ${services} Services, ${nodes} nodes, ${groups} group(s) | |`);
console.log("| --- | --- |");
for (const f of figures) console.log(`| ${f.trim().slice(2).replace(/\|/g, "/")} | |`);
console.log(
  `| suite | ${run.status === 0 ? "passed" : "FAILED"} in ${((performance.now() - started) / 1000).toFixed(0)} s |`,
);
if (run.status !== 0) {
  console.log(
    lines
      .filter((l) => /✖|Error|assert/.test(l))
      .slice(0, 30)
      .join("\n"),
  );
  process.exitCode = 1;
}
