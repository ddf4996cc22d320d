// The VRRP history of a lab, read from what every agent logged off keepalived's notify FIFO: every state
// each node entered, per instance. Tests count over it (MASTER entries per failover, state changes during
// churn or CPU stress); the benchmarks print the same counts. Also the machine's load and a CPU stress run.
import { spawn } from "node:child_process";
import { loadavg } from "node:os";
import { createInterface } from "node:readline";
import type { AgentProcess } from "./agents.js";
import type { Lab } from "./netns.js";

export interface StateEntry {
  node: string;
  instance: string;
  state: string;
  /** The agent's log time, ms since the epoch. */
  at: number;
}

/** Where each agent's log stands now: pass it to `statesSince` to read only what comes after. */
export function logMarks(agents: ReadonlyMap<string, AgentProcess>): Map<string, number> {
  return new Map([...agents].map(([node, a]) => [node, a.logs.length]));
}

/** Every state entered since `marks` (all of them without), on every node, in log order per node. */
export function statesSince(
  agents: ReadonlyMap<string, AgentProcess>,
  marks?: ReadonlyMap<string, number>,
): StateEntry[] {
  return [...agents].flatMap(([node, a]) =>
    a.logs
      .slice(marks?.get(node) ?? 0)
      .flatMap((l) =>
        l.msg === "vrrp state"
          ? [{ node, instance: String(l.instance), state: String(l.state), at: Date.parse(String(l.time)) }]
          : [],
      ),
  );
}

/** `node:instance:STATE` lines, for messages. */
export function describeStates(entries: readonly StateEntry[]): string {
  return entries.map((e) => `${e.node}:${e.instance}:${e.state}`).join(" ") || "none";
}

/** Nodes that entered MASTER for `instance`, once per entry. */
export function masterEntries(entries: readonly StateEntry[], instance: string): string[] {
  return entries.filter((e) => e.instance === instance && e.state === "MASTER").map((e) => e.node);
}

/** The 1-minute load average, for the figures printed next to timings. */
export function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
}

/**
 * Runs `stress-ng --cpu 16 --vm 2` (both CPUs saturated, memory churning) for `seconds`; resolves when it
 * has ended. Fails when stress-ng is missing (scripts/setup.sh installs it).
 */
export function cpuStress(seconds: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "stress-ng",
      ["--cpu", "16", "--vm", "2", "--vm-bytes", "256M", "--timeout", `${seconds}s`, "--quiet"],
      { stdio: "ignore" },
    );
    child.on("error", (err) => {
      reject(new Error(`stress-ng could not start (${err.message}); run scripts/setup.sh`));
    });
    child.on("exit", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`stress-ng exited with ${String(code)}`));
    });
  });
}

/** A change of the client's neighbour (ARP/NDP) entry for one address, as the kernel reported it. */
export interface NeighbourChange {
  /** ms since the epoch. */
  at: number;
  lladdr: string;
  /** NUD states as reported (STALE, REACHABLE, DELAY…): an unsolicited NA or gratuitous ARP leaves STALE. */
  states: string[];
}

/**
 * Records every change of the client's neighbour entry for `target` while it runs (`ip -ts monitor
 * neigh` in the client's namespace): when a gratuitous ARP or unsolicited NA moved it, to the microsecond.
 */
export function watchNeighbour(lab: Lab, target: string): { changes: NeighbourChange[]; stop: () => void } {
  const child = spawn("ip", ["-n", lab.clientNs, "-ts", "monitor", "neigh"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  const changes: NeighbourChange[] = [];
  createInterface({ input: child.stdout }).on("line", (line) => {
    // [2026-11-27T00:52:21.061094] 198.18.0.220 dev eth0 lladdr 02:00:00:00:00:01 REACHABLE (local time)
    const m = /^\[([\d-]+T[\d:.]+)\] (\S+) dev \S+ lladdr (\S+)(.*)$/.exec(line);
    if (m?.[2] !== target) return;
    const states = (m[4] ?? "").split(/\s+/).filter((w) => /^[A-Z]+$/.test(w));
    changes.push({ at: new Date(m[1] ?? "").getTime(), lladdr: m[3] ?? "", states });
  });
  return {
    changes,
    stop: () => {
      child.kill();
    },
  };
}

/**
 * ms from `node` entering MASTER (its agent's log of the notify FIFO) to the client's neighbour entry first
 * naming `mac` after it; undefined when it never did.
 */
export function neighbourDelay(
  entries: readonly StateEntry[],
  changes: readonly NeighbourChange[],
  node: string,
  instance: string,
  mac: string,
): number | undefined {
  const master = entries.find((e) => e.node === node && e.instance === instance && e.state === "MASTER");
  if (master === undefined) return undefined;
  // The agent logs the FIFO line a moment after keepalived acted: allow for it.
  const moved = changes.find((c) => c.lladdr === mac && c.at >= master.at - 50);
  return moved === undefined ? undefined : moved.at - master.at;
}
