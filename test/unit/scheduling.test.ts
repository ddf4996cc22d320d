// The agent's real-time scheduling of keepalived's VRRP process, on a real process: SCHED_RR when the plan
// asks for it, ordinary again when it no longer does, and nothing done twice for the same process.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { schedulingFailure, VrrpScheduling } from "../../src/agent/scheduling.js";
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

test("a cgroup with no real-time budget: the warning names the cgroup's file and the fix, not SYS_NICE", async () => {
  // cgroup v1 with real-time group scheduling (this machine's kernel): a new cpu cgroup starts with
  // cpu.rt_runtime_us 0, as the kubelet's Pod cgroups do, and sched_setscheduler(SCHED_RR) fails with EPERM.
  const cgroup = `/sys/fs/cgroup/cpu/kao-rt-test-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), "kao-sched-"));
  mkdirSync(cgroup);
  const standIn = spawn("sleep", ["30"], { stdio: "ignore" });
  const lines: string[] = [];
  try {
    assert.equal(readFileSync(`${cgroup}/cpu.rt_runtime_us`, "utf8").trim(), "0");
    writeFileSync(`${cgroup}/cgroup.procs`, `${standIn.pid!}\n`);
    const pidFile = join(dir, "vrrp.pid");
    writeFileSync(pidFile, `${standIn.pid!}\n`);
    await new VrrpScheduling(pidFile, jsonLogger({ write: (s: string) => lines.push(s) })).ensure(true);
    assert.match(policy(standIn.pid!), /SCHED_OTHER/);
    assert.equal(lines.length, 1);
    const line = JSON.parse(lines[0]!) as { cause: string; fix: string };
    assert.match(line.cause, new RegExp(`${cgroup}/cpu\\.rt_runtime_us is 0`));
    assert.match(line.fix, /cgroup v2/);
  } finally {
    standIn.kill();
    await new Promise((r) => standIn.once("exit", r));
    rmdirSync(cgroup);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("schedulingFailure: missing SYS_NICE first, then a zero real-time budget, else says it does not know", () => {
  assert.match(schedulingFailure({ sysNice: false, rtBudget: { file: "f", runtimeUs: 0 } }).fix, /SYS_NICE/);
  assert.match(
    schedulingFailure({ sysNice: true, rtBudget: { file: "/x/cpu.rt_runtime_us", runtimeUs: 0 } }).cause,
    /\/x\/cpu\.rt_runtime_us is 0/,
  );
  assert.match(
    schedulingFailure({ sysNice: true, rtBudget: { file: "f", runtimeUs: 950000 } }).cause,
    /unknown/,
  );
  assert.match(schedulingFailure({ sysNice: undefined }).fix, /seccomp/);
});
