// The node's interface addresses, through iproute2: what a dead keepalived left behind, and where to remove it.
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import type { PlanGroupV1 } from "../api/plan.js";
import { parseIP } from "../core/ip.js";
import { NO_PREFIX, prefixed, type CommandPrefix } from "./command.js";

const execFileP = promisify(execFile);

interface IpAddrJson {
  ifname?: string;
  addr_info?: { family?: string; local?: string; prefixlen?: number }[];
}

/** Longest a command that reads addresses may take. */
const READ_TIMEOUT_MS = 10_000;

/**
 * A command's whole standard output, however long: execFile stops at its 1 MiB maxBuffer, which `ip -j addr`
 * passes near 7,000 addresses. Rejects, naming the command, when it fails or takes too long.
 */
export function commandOutput(file: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], timeout: READ_TIMEOUT_MS });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    // Only the start of stderr is worth a message.
    child.stderr.on("data", (chunk: Buffer) => {
      if (err.length < 4096) err += chunk.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) resolve(Buffer.concat(out).toString("utf8"));
      else
        reject(
          new Error(
            `${[file, ...args].join(" ")} failed (${signal ?? `exit ${code ?? "?"}`}): ${err.trim()}`,
          ),
        );
    });
  });
}

/** Addresses on the interface as `ip/prefix`, canonical. */
export async function interfaceAddresses(
  iface: string,
  cmdPrefix: CommandPrefix = NO_PREFIX,
): Promise<{ ip: string; prefix: number }[]> {
  const stdout = await commandOutput(...prefixed(cmdPrefix, "ip", ["-j", "addr", "show", "dev", iface]));
  return parseIpAddrJson(stdout);
}

/** Parses `ip -j addr` output. Pure. */
export function parseIpAddrJson(text: string): { ip: string; prefix: number; ifname: string }[] {
  const links = JSON.parse(text === "" ? "[]" : text) as IpAddrJson[];
  const out: { ip: string; prefix: number; ifname: string }[] = [];
  for (const link of links) {
    for (const a of link.addr_info ?? []) {
      const ip = a.local === undefined ? undefined : parseIP(a.local);
      if (ip !== undefined) out.push({ ip: ip.text, prefix: a.prefixlen ?? 0, ifname: link.ifname ?? "" });
    }
  }
  return out;
}

/** VIPs of the plan found on the interface: left by a keepalived that is no longer running. Pure. */
export function leftoverVips(
  present: { ip: string; prefix: number }[],
  planVips: string[],
): { ip: string; prefix: number }[] {
  const wanted = new Set(planVips);
  return present.filter((a) => wanted.has(a.ip) && (a.prefix === 32 || a.prefix === 128));
}

/** Removes the given addresses in one `ip -batch` run (one process, however many VIPs); returns those gone. */
export async function removeAddresses(
  iface: string,
  addrs: { ip: string; prefix: number }[],
  cmdPrefix: CommandPrefix = NO_PREFIX,
): Promise<string[]> {
  if (addrs.length === 0) return [];
  const script = addrs.map((a) => `addr del ${a.ip}/${a.prefix} dev ${iface}\n`).join("");
  await new Promise<void>((resolve) => {
    // -force: keep going past addresses that are already gone.
    const child = execFile(...prefixed(cmdPrefix, "ip", ["-force", "-batch", "-"]), () => {
      resolve();
    });
    child.stdin?.end(script);
  });
  const left = new Set((await interfaceAddresses(iface, cmdPrefix)).map((a) => a.ip));
  return addrs.filter((a) => !left.has(a.ip)).map((a) => a.ip);
}

/** The interface that routes to `ip` (spec.interfaceFromIP). */
/** Removes from `iface` those of `vips` a dead keepalived left there; returns what it removed. */
export async function removeLeftoverVips(
  iface: string,
  vips: Iterable<string>,
  cmdPrefix: CommandPrefix = NO_PREFIX,
): Promise<string[]> {
  const present = await interfaceAddresses(iface, cmdPrefix).catch(() => []);
  const left = leftoverVips(present, [...vips]);
  return left.length === 0 ? [] : removeAddresses(iface, left, cmdPrefix);
}

export async function routeInterface(
  ip: string,
  cmdPrefix: CommandPrefix = NO_PREFIX,
): Promise<string | undefined> {
  try {
    const { stdout } = await execFileP(...prefixed(cmdPrefix, "ip", ["-j", "route", "get", ip]));
    return (JSON.parse(stdout) as { dev?: string }[])[0]?.dev;
  } catch {
    return undefined;
  }
}

/** The interface for the VIPs: --interface, else spec.interface, else the one routing to spec.interfaceFromIP. */
export async function vipInterface(
  group: Pick<PlanGroupV1, "interface" | "interfaceFromIP">,
  override: string | undefined,
  cmdPrefix: CommandPrefix = NO_PREFIX,
): Promise<string | undefined> {
  if (override !== undefined) return override;
  if (group.interface !== undefined) return group.interface;
  return group.interfaceFromIP === undefined ? undefined : routeInterface(group.interfaceFromIP, cmdPrefix);
}
