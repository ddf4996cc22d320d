// Drained moves. A connection open on the node that gives a VIP up cannot follow it: its state (kube-proxy's
// DNAT and SNAT in conntrack) stays behind, and the new holder resets its next packet. So before a node lets a
// VIP go on purpose (its agent stops, or it hands a VIP back to the node the plan prefers), it drops new TCP
// connections to that VIP for a moment: their SYNs are dropped and TCP sends them again 1 s later, by then to
// the new holder. The connections already open finish meanwhile, and none is open when the VIP moves.
//
// The drop is an nftables set per group (`inet kao_<hash>`, a rule at the raw prerouting hook, before
// kube-proxy's NAT), whose elements expire by themselves: a drain outlives no agent by more than its
// time to live, even an agent that is killed. Script builders are pure; `NftDrain` runs them.
import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { parseIP } from "../core/ip.js";
import type { Logger } from "../lib/log.js";
import { prefixed, type CommandPrefix } from "./command.js";

/** How long new connections are refused before the VIP moves: long enough for a request to finish. */
export const DRAIN_MS = 200;

/** The group's table: `kao_` and 10 hex digits of its key, so two groups on a node never share a set. */
export function drainTable(groupKey: string): string {
  return `kao_${createHash("sha256").update(groupKey).digest("hex").slice(0, 10)}`;
}

/** The table, its two sets and its one chain, created if missing and the chain's rules rewritten: idempotent. */
export function drainSetupScript(table: string): string {
  return [
    `add table inet ${table}`,
    `add set inet ${table} v4 { type ipv4_addr; flags timeout; }`,
    `add set inet ${table} v6 { type ipv6_addr; flags timeout; }`,
    `add chain inet ${table} prerouting { type filter hook prerouting priority -300; policy accept; }`,
    `flush chain inet ${table} prerouting`,
    `add rule inet ${table} prerouting ip daddr @v4 tcp flags & (syn | ack) == syn drop`,
    `add rule inet ${table} prerouting ip6 daddr @v6 tcp flags & (syn | ack) == syn drop`,
    `flush set inet ${table} v4`,
    `flush set inet ${table} v6`,
    "",
  ].join("\n");
}

/** Adds the VIPs (canonical addresses; anything else is skipped) for `ttlMs`. */
export function drainAddScript(table: string, vips: readonly string[], ttlMs: number): string {
  return vipLines(table, vips, "add", ` timeout ${Math.max(1, Math.ceil(ttlMs))}ms`)
    .map((l) => `${l}\n`)
    .join("");
}

/** Removes the VIPs from the sets (each on its own line: nft refuses to delete one that already expired). */
export function drainRemoveLines(table: string, vips: readonly string[]): string[] {
  return vipLines(table, vips, "delete", "");
}

function vipLines(table: string, vips: readonly string[], verb: "add" | "delete", suffix: string): string[] {
  return vips.flatMap((vip) => {
    const ip = parseIP(vip);
    return ip === undefined
      ? []
      : [`${verb} element inet ${table} ${ip.family === 4 ? "v4" : "v6"} { ${ip.text}${suffix} }`];
  });
}

/** Runs the drain scripts with `nft -f -` in the agent's network namespace (or the lab's, behind the prefix). */
export class NftDrain {
  private readonly table: string;
  private ready: Promise<string | undefined> | undefined;
  private readonly drained = new Map<string, number>();

  constructor(
    groupKey: string,
    private readonly cmdPrefix: CommandPrefix,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.table = drainTable(groupKey);
  }

  /** Sets the table up once (and empties this group's sets, left by an agent before this one). */
  setup(): Promise<string | undefined> {
    this.ready ??= nft(this.cmdPrefix, drainSetupScript(this.table)).then((error) => {
      if (error !== undefined)
        this.log.warn("cannot drain connections before a planned move (nftables); VIPs move undrained", {
          table: this.table,
          error,
        });
      return error;
    });
    return this.ready;
  }

  /** Drops new connections to the VIPs for `ttlMs`; the reason it cannot, or undefined once it does. */
  async drain(vips: readonly string[], ttlMs: number): Promise<string | undefined> {
    const setupError = await this.setup();
    if (setupError !== undefined) return setupError;
    if (vips.length === 0) return undefined;
    const error = await nft(this.cmdPrefix, drainAddScript(this.table, vips, ttlMs));
    if (error !== undefined) {
      this.log.warn("cannot drain connections before a planned move", { vips: vips.join(" "), error });
      return error;
    }
    for (const vip of vips) this.drained.set(vip, this.now() + ttlMs);
    return undefined;
  }

  /** Takes new connections to the VIPs again (this node holds them once more); only those it still drops. */
  async undrain(vips: readonly string[]): Promise<void> {
    const now = this.now();
    const live = vips.filter((v) => (this.drained.get(v) ?? 0) > now);
    for (const v of vips) this.drained.delete(v);
    for (const line of drainRemoveLines(this.table, live)) await nft(this.cmdPrefix, line + "\n");
  }
}

/** `nft -f -` with the script on its standard input; the error text, or undefined on success. */
function nft(cmdPrefix: CommandPrefix, script: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = execFile(
      ...prefixed(cmdPrefix, "nft", ["-f", "-"]),
      { timeout: 5000 },
      (err, _out, stderr) => {
        resolve(err === null ? undefined : (stderr.trim() || err.message).split("\n")[0]);
      },
    );
    // A command that exits without reading (nft missing, a refused prefix) closes the pipe: EPIPE is its
    // error to report, through the exit status above, never an uncaught one.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(script);
  });
}
