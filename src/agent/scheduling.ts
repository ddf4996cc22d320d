// keepalived's VRRP process under real-time scheduling when the plan asks for it (sub-second adverts, see
// core/vrrp.ts): set from outside with chrt, SCHED_RR with reset-on-fork so the scripts it runs stay
// ordinary. Not keepalived's own vrrp_rt_priority: keepalived 2.2.7 resets RLIMIT_RTTIME to 0 on every
// reload and cannot raise it again, so the kernel kills its VRRP process at the next tick ("has
// rlimit_rttime been exceeded?"), and every instance restarts. chrt leaves the limits alone.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import type { Logger } from "../lib/log.js";

const execFileP = promisify(execFile);

/** SCHED_RR priority: above every ordinary process, below the kernel's own real-time threads. */
export const VRRP_RT_PRIORITY = 10;

/** chrt's arguments that give `pid` the wanted policy. Pure. */
export function chrtArgs(pid: number, realtime: boolean): string[] {
  return realtime
    ? ["--rr", "--reset-on-fork", "--pid", String(VRRP_RT_PRIORITY), String(pid)]
    : ["--other", "--pid", "0", String(pid)];
}

/** What the kernel shows about a process that could not be made real-time. */
export interface SchedulingFacts {
  /** Whether the agent has CAP_SYS_NICE in its effective set (undefined: unreadable). */
  sysNice: boolean | undefined;
  /** The real-time budget of the process's cgroup v1 cpu controller, when there is one to read. */
  rtBudget?: { file: string; runtimeUs: number };
}

/** Why chrt failed, and what fixes it. Pure. */
export function schedulingFailure(facts: SchedulingFacts): { cause: string; fix: string } {
  if (facts.sysNice === false)
    return {
      cause: "the agent lacks the SYS_NICE capability",
      fix: "give the agent the SYS_NICE capability (the DaemonSet written by the controller has it)",
    };
  if (facts.rtBudget !== undefined && facts.rtBudget.runtimeUs === 0)
    return {
      cause: `the kernel gives the Pod's cgroup no real-time CPU time (${facts.rtBudget.file} is 0: cgroup v1 with real-time group scheduling)`,
      fix: "run the node on cgroup v2, or on a kernel without CONFIG_RT_GROUP_SCHED, or give the Pods' cgroups a cpu.rt_runtime_us budget; VIPs are served meanwhile with ordinary scheduling",
    };
  return {
    cause: "unknown (the agent has SYS_NICE and no cgroup real-time limit was found)",
    fix: "check the node's security policy (seccomp, SELinux) for sched_setscheduler; VIPs are served meanwhile with ordinary scheduling",
  };
}

/** Capability bit of CAP_SYS_NICE in /proc/<pid>/status's CapEff. */
const CAP_SYS_NICE = 23n;

async function schedulingFacts(pid: number): Promise<SchedulingFacts> {
  const status = await readFile("/proc/self/status", "utf8").catch(() => "");
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  const sysNice = capEff === undefined ? undefined : ((BigInt(`0x${capEff}`) >> CAP_SYS_NICE) & 1n) === 1n;
  const cgroups = await readFile(`/proc/${pid}/cgroup`, "utf8").catch(() => "");
  const path = cgroups
    .split("\n")
    .map((line) => line.split(":"))
    .find((f) => f.length >= 3 && (f[1] ?? "").split(",").includes("cpu"))?.[2];
  const candidates = [
    ...(path === undefined ? [] : [`/sys/fs/cgroup/cpu,cpuacct${path}`, `/sys/fs/cgroup/cpu${path}`]),
    // In a container, the controller's mount shows the container's own cgroup at its root.
    "/sys/fs/cgroup/cpu,cpuacct",
    "/sys/fs/cgroup/cpu",
  ].map((dir) => `${dir.replace(/\/$/, "")}/cpu.rt_runtime_us`);
  for (const file of candidates) {
    const text = await readFile(file, "utf8").catch(() => undefined);
    if (text !== undefined && /^-?\d+\s*$/.test(text))
      return { sysNice, rtBudget: { file, runtimeUs: Number(text) } };
  }
  return { sysNice };
}

export class VrrpScheduling {
  /** The policy last set (or found impossible to set) for a VRRP process. */
  private applied: { pid: number; realtime: boolean } | undefined;

  constructor(
    private readonly vrrpPidFile: string,
    private readonly log: Logger,
  ) {}

  /** Gives the running VRRP process the policy the plan asks for, once per process and change. */
  async ensure(realtime: boolean): Promise<void> {
    const pid = Number((await readFile(this.vrrpPidFile, "utf8").catch(() => "")).trim());
    if (!Number.isInteger(pid) || pid <= 0) return;
    if (this.applied?.pid === pid && this.applied.realtime === realtime) return;
    // A new process starts with ordinary scheduling.
    const fresh = this.applied?.pid !== pid;
    this.applied = { pid, realtime };
    if (fresh && !realtime) return;
    try {
      await execFileP("chrt", chrtArgs(pid, realtime));
      this.log.info("keepalived's VRRP process scheduling set", {
        pid,
        policy: realtime ? `SCHED_RR ${VRRP_RT_PRIORITY}` : "SCHED_OTHER",
      });
    } catch (err) {
      const { cause, fix } = schedulingFailure(await schedulingFacts(pid));
      this.log.warn("cannot set keepalived's VRRP process scheduling; under CPU load VIPs may move", {
        pid,
        error: (err as Error).message.split("\n")[0],
        cause,
        fix,
      });
    }
  }
}
