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
      this.log.warn("cannot set keepalived's VRRP process scheduling; under CPU load VIPs may move", {
        pid,
        error: (err as Error).message.split("\n")[0],
        fix: "give the agent the SYS_NICE capability (the DaemonSet written by the controller has it)",
      });
    }
  }
}
