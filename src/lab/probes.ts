// Probes of a network lab (netns.ts) for the tests and the benchmarks, beyond what the lab itself needs: IPv6 flags, MACs, the
// client's neighbour table, an agent's metrics, double ownership over time, process memory.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import {
  holdersOf,
  ip,
  ipv6Addresses,
  NODE_IFACE,
  type Ipv6Address,
  type Lab,
  type LabNode,
} from "./netns.js";
import { sleep } from "./wait.js";

const execFileP = promisify(execFile);

/** The IPv6 address `vip` on eth0 of a node, with its flags; undefined when absent. */
export async function ipv6AddressOn(node: LabNode, vip: string): Promise<Ipv6Address | undefined> {
  const addrs = ipv6Addresses(await ip("-n", node.ns, "-6", "-j", "addr", "show", "dev", NODE_IFACE));
  return addrs.find((a) => a.ip === vip);
}

/** The MAC address of eth0 in a node namespace. */
export async function nodeMac(node: LabNode): Promise<string> {
  const links = JSON.parse(await ip("-n", node.ns, "-j", "link", "show", "dev", NODE_IFACE)) as {
    address?: string;
  }[];
  return links[0]?.address ?? "";
}

/** The client's neighbour (IPv6) or ARP (IPv4) entry for `target`: where its packets to it go. */
export async function clientNeighbour(
  lab: Lab,
  target: string,
): Promise<{ lladdr?: string; state: string[] } | undefined> {
  const out = await ip("-n", lab.clientNs, "-j", "neigh", "show", "to", target, "dev", NODE_IFACE);
  const entries = JSON.parse(out === "" ? "[]" : out) as { lladdr?: string; state?: string[] }[];
  const e = entries[0];
  if (e === undefined) return undefined;
  return e.lladdr === undefined ? { state: e.state ?? [] } : { lladdr: e.lladdr, state: e.state ?? [] };
}

/** Runs a command inside a namespace and returns its stdout. */
export async function nsExec(ns: string, cmd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileP("ip", ["netns", "exec", ns, cmd, ...args], { maxBuffer: 16 << 20 });
  return stdout;
}

export async function scrapeMetrics(node: LabNode, path = "/metrics"): Promise<string> {
  return nsExec(node.ns, "curl", [
    "--silent",
    "--show-error",
    "--max-time",
    "5",
    `http://127.0.0.1:9650${path}`,
  ]);
}

/**
 * Samples which nodes hold `vip` every `everyMs` until stop(); reports the longest time it was seen on
 * two nodes at once.
 */
export function watchDoubleOwners(
  lab: Lab,
  vip: string,
  everyMs = 20,
): { stop: () => Promise<{ maxDoubleMs: number; episodes: number; samples: number }> } {
  let running = true;
  let maxDoubleMs = 0;
  let episodes = 0;
  let samples = 0;
  const loop = (async () => {
    let since: number | undefined;
    while (running) {
      const t = Date.now();
      const holders = await holdersOf(lab, vip);
      samples++;
      if (holders.length > 1) {
        if (since === undefined) episodes++;
        since ??= t;
        maxDoubleMs = Math.max(maxDoubleMs, Date.now() - since);
      } else since = undefined;
      await sleep(everyMs);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { maxDoubleMs, episodes, samples };
    },
  };
}

/** Resident memory of a process, in KiB (VmRSS). */
export async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? "0");
}
