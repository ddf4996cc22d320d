// Network-side probes and faults for a lab (src/lab/netns.ts): who holds a VIP, sampled as often as `ip`
// allows (every 10 ms between rounds); a partition between the nodes (bridge port isolation: the nodes no
// longer hear each other, the client still reaches all of them); the keepalived processes of a node.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { parseIpAddrJson } from "../../../src/agent/addresses.js";
import { ip, NODE_IFACE, type Lab, type LabNode } from "../../../src/lab/netns.js";
import { sleep } from "../../../src/lab/wait.js";
import type { HolderSample } from "./invariants.js";

const execFileP = promisify(execFile);

/** Which nodes have `vip` on their interface right now (one `ip addr` per node, in parallel). */
export async function holdersNow(lab: Lab, vip: string): Promise<string[]> {
  const held = await Promise.all(
    lab.nodes.map(async (n) => {
      const out = await ip("-n", n.ns, "-j", "addr", "show", "dev", NODE_IFACE);
      return parseIpAddrJson(out).some((a) => a.ip === vip) ? [n.name] : [];
    }),
  );
  return held.flat();
}

/** Samples the holders of `vip` every `everyMs` (between rounds) until stop(). */
export function sampleHolders(
  lab: Lab,
  vip: string,
  everyMs = 10,
): { samples: HolderSample[]; stop(): Promise<HolderSample[]> } {
  const samples: HolderSample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const at = Date.now();
      samples.push({ at, holders: await holdersNow(lab, vip) });
      await sleep(everyMs);
    }
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await loop;
      return samples;
    },
  };
}

/**
 * Isolates every node's bridge port (or lifts it): isolated ports forward nothing to each other, only to
 * the client's port, so VRRP between the nodes is cut while the client still reaches each node.
 */
export async function partitionNodes(lab: Lab, on: boolean): Promise<void> {
  for (const n of lab.nodes)
    await execFileP("bridge", [
      ...["-n", lab.switchNs, "link", "set", "dev", n.switchPort, "isolated", on ? "on" : "off"],
    ]);
}

/** Pids of the processes in a node's namespace. */
export async function namespacePids(node: LabNode): Promise<number[]> {
  const out = await ip("netns", "pids", node.ns);
  return out
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map(Number);
}

/** The command name of a process ("" once it is gone). */
export function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return 0;
  }
}

/** keepalived main processes (not the VRRP children they fork) running in a node's namespace. */
export async function keepalivedsOn(node: LabNode): Promise<number[]> {
  const pids = await namespacePids(node);
  return pids.filter((pid) => commOf(pid) === "keepalived" && commOf(parentOf(pid)) !== "keepalived").sort();
}

/** SIGKILLs every keepalived process (main and children) in a node's namespace; returns how many. */
export async function killKeepalived(node: LabNode): Promise<number> {
  const all = (await namespacePids(node)).filter((pid) => commOf(pid) === "keepalived");
  for (const pid of all) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  return all.length;
}
