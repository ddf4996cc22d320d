// The agent's real-time scheduling of keepalived's VRRP process, on a real process: SCHED_RR when the plan
// asks for it, ordinary again when it no longer does, and nothing done twice for the same process.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { VrrpScheduling } from "../../src/agent/scheduling.js";
import { jsonLogger } from "../../src/lib/log.js";

const policy = (pid: number): string =>
  execFileSync("chrt", ["--pid", String(pid)], { encoding: "utf8" }).split("\n")[0] ?? "";

test("VrrpScheduling gives the VRRP process SCHED_RR and takes it back", async () => {
  const dir = mkdtempSync(join(tmpdir(), "kao-sched-"));
  const standIn = spawn("sleep", ["30"], { stdio: "ignore" });
  const lines: string[] = [];
  try {
    const pid = standIn.pid!;
    const pidFile = join(dir, "vrrp.pid");
    const scheduling = new VrrpScheduling(pidFile, jsonLogger({ write: (s: string) => lines.push(s) }));
    await scheduling.ensure(true);
    assert.deepEqual(lines, [], "no pid file yet: nothing to do");
    writeFileSync(pidFile, `${pid}\n`);
    await scheduling.ensure(true);
    assert.match(policy(pid), /SCHED_RR\|SCHED_RESET_ON_FORK/);
    await scheduling.ensure(true);
    assert.equal(lines.length, 1, "set once per process and change");
    await scheduling.ensure(false);
    assert.match(policy(pid), /SCHED_OTHER/);
    assert.match(lines.join(""), /"policy":"SCHED_RR 10".*"policy":"SCHED_OTHER"/s);
  } finally {
    standIn.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
