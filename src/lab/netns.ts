// A network lab in namespaces: a switch namespace with a bridge, N node namespaces and a client namespace,
// each joined to the bridge by a veth. Addresses from 198.18.0.0/24 and 2001:db8::/64 only. Test labs carry
// a per-run prefix (kao<pid>-<n>) and are removed on cleanup, on exit, and by the next run if a crashed one
// left namespaces behind; the local lab (`lab up`) passes its own prefix and outlives the process.
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { parseIpAddrJson } from "../agent/addresses.js";
import { parseIP } from "../core/ip.js";
import { repoRoot } from "./processes.js";

const execFileP = promisify(execFile);

export const NODE_IP = (i: number): string => `198.18.0.${11 + i}`;
export const NODE_IP6 = (i: number): string => `2001:db8::${(11 + i).toString(16)}`;
export const CLIENT_IP = "198.18.0.100";
export const CLIENT_IP6 = "2001:db8::100";
/** The interface name inside every node namespace. */
export const NODE_IFACE = "eth0";

export interface LabNode {
  name: string;
  ns: string;
  ip: string;
  ip6: string;
  /** The bridge-side end of the node's veth, in the switch namespace: set it down to cut the node off. */
  switchPort: string;
}

export interface Lab {
  prefix: string;
  switchNs: string;
  clientNs: string;
  nodes: LabNode[];
  /** A private directory for plan files and agent state, removed on cleanup. */
  dir: string;
  cleanup(): Promise<void>;
}

let labCounter = 0;
const liveLabs = new Set<string>();
const RUN_PREFIX = `kao${process.pid}-`;

async function ip(...args: string[]): Promise<string> {
  const { stdout } = await execFileP("ip", args);
  return stdout;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Namespaces named kao<pid>-… whose process is gone: left by a crashed run. */
function staleNamespaces(): string[] {
  return listNamespaces().filter((name) => {
    const m = /^kao(\d+)-/.exec(name);
    return m !== null && !pidAlive(Number(m[1]));
  });
}

/** Deletes network namespaces (and with them their veths and bridge), ending the processes inside first. */
export function deleteNamespacesSync(names: string[]): void {
  for (const name of names) {
    // Processes still inside would keep the network alive; end those of this namespace only.
    try {
      const pids = execFileSync("ip", ["netns", "pids", name], { encoding: "utf8" })
        .split("\n")
        .filter((p) => p !== "");
      for (const pid of pids) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // gone
        }
      }
    } catch {
      // namespace already gone
    }
    try {
      execFileSync("ip", ["netns", "del", name], { stdio: "ignore" });
    } catch {
      // already gone
    }
  }
}

process.on("exit", () => {
  deleteNamespacesSync([...liveLabs]);
});

export interface LabOptions {
  /** Names the namespaces; default kao<pid>-<n>-. A lab with its own prefix is not removed on exit. */
  prefix?: string;
  /** Where plan files and agent state go; default a new temp directory. Removed on cleanup either way. */
  dir?: string;
}

/** Names of the network namespaces that exist now. */
export function listNamespaces(): string[] {
  const out = execFileSync("ip", ["-j", "netns", "list"], { encoding: "utf8" });
  return (JSON.parse(out === "" ? "[]" : out) as { name: string }[]).map((n) => n.name);
}

/** A lab whose namespaces already exist (recorded by the process that created it). */
export function attachLab(lab: Omit<Lab, "cleanup">): Lab {
  const all = [lab.switchNs, lab.clientNs, ...lab.nodes.map((n) => n.ns)];
  return {
    ...lab,
    cleanup: async () => {
      deleteNamespacesSync(all);
      await rm(lab.dir, { recursive: true, force: true });
    },
  };
}

export async function createLab(nodeCount: number, opts: LabOptions = {}): Promise<Lab> {
  deleteNamespacesSync(staleNamespaces());
  const persistent = opts.prefix !== undefined;
  const prefix = opts.prefix ?? `${RUN_PREFIX}${++labCounter}-`;
  const switchNs = `${prefix}sw`;
  const clientNs = `${prefix}client`;
  const nodes: LabNode[] = Array.from({ length: nodeCount }, (_, i) => ({
    name: `node-${i + 1}`,
    ns: `${prefix}n${i + 1}`,
    ip: NODE_IP(i),
    ip6: NODE_IP6(i),
    switchPort: `p${i + 1}`,
  }));
  const all = [switchNs, clientNs, ...nodes.map((n) => n.ns)];
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), prefix)));
  if (opts.dir !== undefined) await mkdir(dir, { recursive: true, mode: 0o700 });
  const cleanup = async (): Promise<void> => {
    deleteNamespacesSync(persistent ? all : all.filter((n) => liveLabs.has(n)));
    for (const n of all) liveLabs.delete(n);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const ns of all) {
      await ip("netns", "add", ns);
      if (!persistent) liveLabs.add(ns);
      await ip("-n", ns, "link", "set", "lo", "up");
    }
    await ip("-n", switchNs, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0");
    await ip("-n", switchNs, "link", "set", "br0", "up");
    const join = async (ns: string, iface: string, port: string, v4: string, v6: string): Promise<void> => {
      await ip("link", "add", iface, "netns", ns, "type", "veth", "peer", "name", port, "netns", switchNs);
      await ip("-n", switchNs, "link", "set", port, "master", "br0", "up");
      await ip("-n", ns, "addr", "add", `${v4}/24`, "dev", iface);
      await ip("-n", ns, "addr", "add", `${v6}/64`, "dev", iface, "nodad");
      await ip("-n", ns, "link", "set", iface, "up");
    };
    // veth names are created directly inside the namespaces, so nothing ever appears in the host's.
    for (const n of nodes) await join(n.ns, NODE_IFACE, n.switchPort, n.ip, n.ip6);
    await join(clientNs, NODE_IFACE, "pc", CLIENT_IP, CLIENT_IP6);
    // keepalived sends IPv6 adverts from the link-local address, which is tentative for up to 2 s after link
    // up (DAD): meanwhile every advert fails ("send advert error 22") and all nodes turn MASTER at once.
    for (const ns of [clientNs, ...nodes.map((n) => n.ns)]) {
      await waitFor(`the link-local address in ${ns} to pass DAD`, async () => {
        const addrs = ipv6Addresses(await ip("-n", ns, "-6", "-j", "addr", "show", "dev", NODE_IFACE));
        return addrs.some((a) => a.scope === "link") && !addrs.some(isTentative) ? true : undefined;
      });
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { prefix, switchNs, clientNs, nodes, dir, cleanup };
}

/** Addresses on eth0 of a node namespace. */
export async function nodeAddresses(node: LabNode): Promise<string[]> {
  return parseIpAddrJson(await ip("-n", node.ns, "-j", "addr", "show", "dev", NODE_IFACE)).map((a) => a.ip);
}

export interface Ipv6Address {
  ip: string;
  scope: string;
  /** iproute2's address flags that are set: nodad, tentative, dadfailed, deprecated, … */
  flags: string[];
}

/** Parses `ip -6 -j addr` output, keeping the flags that parseIpAddrJson drops. */
function ipv6Addresses(text: string): Ipv6Address[] {
  const links = JSON.parse(text === "" ? "[]" : text) as { addr_info?: Record<string, unknown>[] }[];
  return links.flatMap((l) =>
    (l.addr_info ?? [])
      .filter((a) => a.family === "inet6" && typeof a.local === "string")
      .map((a) => ({
        ip: parseIP(String(a.local))?.text ?? String(a.local),
        scope: typeof a.scope === "string" ? a.scope : "",
        flags: Object.keys(a)
          .filter((k) => a[k] === true)
          .sort(),
      })),
  );
}

/** Still in (or failed) duplicate address detection: the kernel will not send from or answer for it. */
export function isTentative(a: Ipv6Address): boolean {
  return a.flags.includes("tentative") || a.flags.includes("dadfailed");
}

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

/** Which nodes hold each of the given VIPs right now. */
export async function vipHolders(lab: Lab, vips: string[]): Promise<Map<string, string[]>> {
  const held = await Promise.all(
    lab.nodes.map(async (n) => ({ node: n.name, addrs: new Set(await nodeAddresses(n)) })),
  );
  return new Map(vips.map((v) => [v, held.filter((h) => h.addrs.has(v)).map((h) => h.node)]));
}

export async function holdersOf(lab: Lab, vip: string): Promise<string[]> {
  return (await vipHolders(lab, [vip])).get(vip) ?? [];
}

/** Cuts a node off the network (its port on the bridge down), as a dead link or a dead host would. */
export async function setSwitchPort(lab: Lab, node: LabNode, up: boolean): Promise<void> {
  await ip("-n", lab.switchNs, "link", "set", node.switchPort, up ? "up" : "down");
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface AgentProcess {
  node: LabNode;
  child: ChildProcess;
  /** Parsed JSON log lines of the agent, in order. */
  logs: Record<string, unknown>[];
  stateDir: string;
  exited: Promise<number | null>;
}

/** Starts `keepalived-operator agent` inside the node's namespace. */
export function startAgent(lab: Lab, node: LabNode, planFile: string, extra: string[] = []): AgentProcess {
  const stateDir = join(lab.dir, node.name);
  const child = spawn(
    "ip",
    [
      "netns",
      "exec",
      node.ns,
      process.execPath,
      join(repoRoot(), "bin/keepalived-operator.js"),
      "agent",
      "--plan-file",
      planFile,
      "--node",
      node.name,
      "--interface",
      NODE_IFACE,
      "--state-dir",
      stateDir,
      "--metrics-address",
      "127.0.0.1:9650",
      ...extra,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  return watchAgent(child, node, stateDir, node.name);
}

/** Collects a started agent's JSON log lines (echoed with KAO_E2E_VERBOSE=1) and its exit. */
export function watchAgent(
  child: ChildProcess,
  node: LabNode,
  stateDir: string,
  label: string,
): AgentProcess {
  const logs: Record<string, unknown>[] = [];
  if (child.stderr !== null) {
    createInterface({ input: child.stderr }).on("line", (line) => {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: "raw", line });
      }
      if (process.env.KAO_E2E_VERBOSE === "1") process.stderr.write(`[${label}] ${line}\n`);
    });
  }
  const exited = new Promise<number | null>((r) =>
    child.on("exit", (code) => {
      r(code);
    }),
  );
  return { node, child, logs, stateDir, exited };
}

/** SIGTERM and wait; SIGKILL if it does not exit in time. */
export async function stopAgent(a: AgentProcess, timeoutMs = 15_000): Promise<number | null> {
  if (a.child.exitCode !== null || a.child.signalCode !== null) return a.child.exitCode;
  a.child.kill("SIGTERM");
  const timer = setTimeout(() => a.child.kill("SIGKILL"), timeoutMs);
  const code = await a.exited;
  clearTimeout(timer);
  return code;
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

export interface PingResult {
  sent: number;
  received: number;
  lost: number;
  duplicates: number;
  /** Longest time between two consecutive replies, in ms (the outage a client saw). */
  maxGapMs: number;
}

/** Pings from the client namespace every `intervalMs` until stop() is called. */
export function startPing(lab: Lab, target: string, intervalMs = 10): { stop: () => Promise<PingResult> } {
  const child = spawn(
    "ip",
    [
      "netns",
      "exec",
      lab.clientNs,
      "ping",
      target.includes(":") ? "-6" : "-4",
      "-n",
      "-D",
      "-W",
      "1",
      "-i",
      String(intervalMs / 1000),
      target,
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const seqs = new Set<number>();
  let duplicates = 0;
  let lastReply: number | undefined;
  let maxGapMs = 0;
  let sent = 0;
  createInterface({ input: child.stdout }).on("line", (line) => {
    const reply = /^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)/.exec(line);
    if (reply !== null) {
      const t = Number(reply[1]) * 1000;
      if (line.includes("DUP!")) duplicates++;
      else seqs.add(Number(reply[2]));
      if (lastReply !== undefined) maxGapMs = Math.max(maxGapMs, t - lastReply);
      lastReply = t;
    }
    const summary = /(\d+) packets transmitted/.exec(line);
    if (summary !== null) sent = Number(summary[1]);
  });
  const done = new Promise<void>((r) =>
    child.on("exit", () => {
      r();
    }),
  );
  return {
    stop: async () => {
      child.kill("SIGINT");
      await done;
      return {
        sent,
        received: seqs.size,
        lost: Math.max(0, sent - seqs.size),
        duplicates,
        maxGapMs: Math.round(maxGapMs),
      };
    },
  };
}

/**
 * Samples which nodes hold `vip` every `everyMs` until stop(); reports the longest time it was seen on
 * two nodes at once.
 */
export function watchDoubleOwners(
  lab: Lab,
  vip: string,
  everyMs = 20,
): { stop: () => Promise<{ maxDoubleMs: number; samples: number }> } {
  let running = true;
  let maxDoubleMs = 0;
  let samples = 0;
  const loop = (async () => {
    let since: number | undefined;
    while (running) {
      const t = Date.now();
      const holders = await holdersOf(lab, vip);
      samples++;
      if (holders.length > 1) {
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
      return { maxDoubleMs, samples };
    },
  };
}

/** Resident memory of a process, in KiB (VmRSS). */
export async function rssKiB(pid: number): Promise<number> {
  const { readFile } = await import("node:fs/promises");
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? "0");
}
