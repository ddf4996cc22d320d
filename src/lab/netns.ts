// A network lab in namespaces: a switch namespace with a bridge, N node namespaces and a client namespace,
// each joined to the bridge by a veth. Addresses from 198.18.0.0/24 and 2001:db8::/64 only. Test labs carry
// a per-run prefix (kao<pid>-<n>) and are removed on cleanup, on exit, and by the next run if a crashed one
// left namespaces behind; the local lab (`lab up`) passes its own prefix and outlives the process.
import { execFile, execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseIpAddrJson } from "../agent/addresses.js";
import { parseIP } from "../core/ip.js";
import { isAlive } from "./processes.js";
import { waitFor } from "./wait.js";

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

/** Runs `ip` (iproute2) and returns its stdout. */
export async function ip(...args: string[]): Promise<string> {
  const { stdout } = await execFileP("ip", args);
  return stdout;
}

/** Namespaces named kao<pid>-… whose process is gone: left by a crashed run. */
function staleNamespaces(): string[] {
  return listNamespaces().filter((name) => {
    const m = /^kao(\d+)-/.exec(name);
    return m !== null && !isAlive(Number(m[1]));
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

/** Every network namespace of a lab: the switch, the client and the nodes. */
export function labNamespaces(lab: Pick<Lab, "switchNs" | "clientNs" | "nodes">): string[] {
  return [lab.switchNs, lab.clientNs, ...lab.nodes.map((n) => n.ns)];
}

/** A lab whose namespaces already exist (recorded by the process that created it). */
export function attachLab(lab: Omit<Lab, "cleanup">): Lab {
  const all = labNamespaces(lab);
  return {
    ...lab,
    cleanup: async () => {
      deleteNamespacesSync(all);
      await rm(lab.dir, { recursive: true, force: true });
    },
  };
}

/** Joins a namespace's `iface` to the bridge through a veth whose other end `port` is in the switch. */
async function joinBridge(
  switchNs: string,
  ns: string,
  iface: string,
  port: string,
  addrs: { v4: string; v6: string },
): Promise<void> {
  await ip("link", "add", iface, "netns", ns, "type", "veth", "peer", "name", port, "netns", switchNs);
  await ip("-n", switchNs, "link", "set", port, "master", "br0", "up");
  await ip("-n", ns, "addr", "add", `${addrs.v4}/24`, "dev", iface);
  await ip("-n", ns, "addr", "add", `${addrs.v6}/64`, "dev", iface, "nodad");
  await ip("-n", ns, "link", "set", iface, "up");
}

/** Creates the namespaces, the bridge and the veths, and waits until every link-local address is usable. */
async function wire(
  lab: Pick<Lab, "switchNs" | "clientNs" | "nodes">,
  onCreated: (ns: string) => void,
): Promise<void> {
  const { switchNs, clientNs, nodes } = lab;
  for (const ns of labNamespaces(lab)) {
    await ip("netns", "add", ns);
    onCreated(ns);
    await ip("-n", ns, "link", "set", "lo", "up");
  }
  await ip("-n", switchNs, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0");
  await ip("-n", switchNs, "link", "set", "br0", "up");
  // veth names are created directly inside the namespaces, so nothing ever appears in the host's.
  for (const n of nodes) await joinBridge(switchNs, n.ns, NODE_IFACE, n.switchPort, { v4: n.ip, v6: n.ip6 });
  await joinBridge(switchNs, clientNs, NODE_IFACE, "pc", { v4: CLIENT_IP, v6: CLIENT_IP6 });
  // keepalived sends IPv6 adverts from the link-local address, which is tentative for up to 2 s after link
  // up (DAD): meanwhile every advert fails ("send advert error 22") and all nodes turn MASTER at once.
  for (const ns of [clientNs, ...nodes.map((n) => n.ns)]) {
    await waitFor(`the link-local address in ${ns} to pass DAD`, async () => {
      const addrs = ipv6Addresses(await ip("-n", ns, "-6", "-j", "addr", "show", "dev", NODE_IFACE));
      return addrs.some((a) => a.scope === "link") && !addrs.some(isTentative) ? true : undefined;
    });
  }
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
  const all = labNamespaces({ switchNs, clientNs, nodes });
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), prefix)));
  if (opts.dir !== undefined) await mkdir(dir, { recursive: true, mode: 0o700 });
  const cleanup = async (): Promise<void> => {
    deleteNamespacesSync(persistent ? all : all.filter((n) => liveLabs.has(n)));
    for (const n of all) liveLabs.delete(n);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await wire({ switchNs, clientNs, nodes }, (ns) => {
      if (!persistent) liveLabs.add(ns);
    });
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { prefix, switchNs, clientNs, nodes, dir, cleanup };
}

export interface Ipv6Address {
  ip: string;
  scope: string;
  /** iproute2's address flags that are set: nodad, tentative, dadfailed, deprecated, … */
  flags: string[];
}

/** Parses `ip -6 -j addr` output, keeping the flags that parseIpAddrJson drops. */
export function ipv6Addresses(text: string): Ipv6Address[] {
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

/** Addresses on eth0 of a node namespace. */
export async function nodeAddresses(node: LabNode): Promise<string[]> {
  return parseIpAddrJson(await ip("-n", node.ns, "-j", "addr", "show", "dev", NODE_IFACE)).map((a) => a.ip);
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
