// A keepalived left running by an earlier agent of this state directory (the agent SIGKILLed or OOM-killed):
// found through the pid files keepalived writes there and recognised through /proc, so that a restarted
// agent adopts it rather than start a second one beside it. The decisions are pure; the reads are below.
import { readFile, stat } from "node:fs/promises";
import { basename } from "node:path";
import type { KeepalivedPaths } from "./keepalived.js";

/** Whether /proc's cmdline and stat of a process show a live keepalived started on `configPath`. Pure. */
export function isKeepalivedOf(
  cmdline: string,
  statText: string,
  binary: string,
  configPath: string,
): boolean {
  const argv = cmdline.split("\0").filter((a) => a !== "");
  // The state letter follows the command name, which is in parentheses and may itself hold any character.
  const state = statText.slice(statText.lastIndexOf(")") + 2).split(" ")[0];
  if (state === undefined || state === "" || state === "Z" || state === "X") return false;
  return basename(argv[0] ?? "") === basename(binary) && argv.includes(`--use-file=${configPath}`);
}

/** The pid a pid file holds, if it is a plausible one. Pure. */
export function parsePidFile(text: string): number | undefined {
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

/** True while `pid` is a live keepalived started on our config file (a recycled pid is someone else). */
export async function isOurKeepalived(pid: number, paths: KeepalivedPaths, binary: string): Promise<boolean> {
  try {
    const [cmdline, statText] = await Promise.all([
      readFile(`/proc/${pid}/cmdline`, "utf8"),
      readFile(`/proc/${pid}/stat`, "utf8"),
    ]);
    return isKeepalivedOf(cmdline, statText, binary, paths.config);
  } catch {
    return false;
  }
}

async function sameNetns(pid: number, netnsPath: string): Promise<boolean> {
  try {
    const [a, b] = await Promise.all([stat(`/proc/${pid}/ns/net`), stat(netnsPath)]);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

export interface LeftKeepalived {
  pid: number;
  /** Adoptable: the main process, in the network namespace this agent runs keepalived in. */
  adoptable: boolean;
}

/**
 * keepalived processes of this state directory that no agent supervises: the main one (pid file) and, if the
 * main one is gone, its VRRP child. Only a main process in our network namespace can be adopted.
 */
export async function leftKeepalived(
  paths: KeepalivedPaths,
  binary: string,
  netnsPath: string,
): Promise<LeftKeepalived[]> {
  const pidIn = async (file: string): Promise<number | undefined> => {
    const pid = parsePidFile(await readFile(file, "utf8").catch(() => ""));
    return pid !== undefined && pid !== process.pid && (await isOurKeepalived(pid, paths, binary))
      ? pid
      : undefined;
  };
  const main = await pidIn(paths.pid);
  if (main !== undefined) return [{ pid: main, adoptable: await sameNetns(main, netnsPath) }];
  const vrrp = await pidIn(paths.vrrpPid);
  return vrrp === undefined ? [] : [{ pid: vrrp, adoptable: false }];
}
