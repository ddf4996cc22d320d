// One hard-failover trial: cut the VIP holder off the bridge while the client pings the VIP, measure the
// client's outage, then reconnect the node and wait until the VIP has settled again. Shared by the e2e
// test, the bench's failover row and `keepalived-operator lab failover`.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { holdersOf, setSwitchPort, type Lab } from "./netns.js";
import { startPing, type PingResult } from "./ping.js";
import { sleep, waitFor } from "./wait.js";

const execFileP = promisify(execFile);

export interface FailoverTrial extends PingResult {
  from: string;
  to: string;
  /** Replies the client got after the new holder was seen: 0 means the VIP never answered again. */
  answeredAfter: number;
  /** When the holder's link was cut (ms since the epoch, just after the command returned). */
  cutAt: number;
}

export interface TrialOptions {
  /**
   * The cut node has the higher priority and takes its VIPs back on return, and the next trial starts
   * from it (default). False for configurations where all nodes are equal: the VIPs stay with the new
   * holder, and the trial ends once they are settled wherever they are.
   */
  holderReturns?: boolean;
}

/** Arguments of one `ping` of `target` that gives up after a second. */
export function pingArgs(target: string): string[] {
  return [target.includes(":") ? "-6" : "-4", "-n", "-c", "1", "-W", "1", target];
}

export async function settledHolder(
  lab: Lab,
  vip: string,
  timeoutMs = 30_000,
  planned?: string,
): Promise<string> {
  // Settled: one holder, the same across three samples, and the client reaches it. With `planned`, that
  // holder must be the planned node: while agents start, whichever keepalived runs first holds the VIP until
  // the planned node's keepalived is up and preempts it, which on a loaded machine can take seconds.
  let last: string | undefined;
  let same = 0;
  const holder = await waitFor(
    planned === undefined ? `${vip} settled on one node` : `${vip} settled on its planned node ${planned}`,
    async () => {
      const h = await holdersOf(lab, vip);
      if (h.length === 1 && h[0] === last) same++;
      else same = 0;
      last = h.length === 1 && (planned === undefined || h[0] === planned) ? h[0] : undefined;
      return same >= 3 ? last : undefined;
    },
    timeoutMs,
    100,
  );
  await waitForAnswer(lab, vip, timeoutMs);
  return holder;
}

/** Waits until the client's ping of `vip` gets an answer. */
export async function waitForAnswer(lab: Lab, vip: string, timeoutMs: number): Promise<void> {
  await waitFor(
    `${vip} to answer the client's ping`,
    async () => {
      try {
        await execFileP("ip", ["netns", "exec", lab.clientNs, "ping", ...pingArgs(vip)]);
        return true;
      } catch {
        return undefined;
      }
    },
    timeoutMs,
  );
}

/** Called once every VIP has a new holder, before the client's pings are stopped; `to` is per VIP. */
export type TakeoverHook = (from: string, to: string[]) => Promise<void>;

export async function failoverTrial(
  lab: Lab,
  vip: string,
  onTakeover?: TakeoverHook,
  options: TrialOptions = {},
): Promise<FailoverTrial> {
  const { from, cutAt, vips } = await failoverTrialOf(lab, [vip], onTakeover, options);
  const [result] = vips;
  if (result === undefined) throw new Error(`no result for ${vip}`);
  return { ...result, from, cutAt };
}

export interface VipFailover extends PingResult {
  vip: string;
  to: string;
  /** Replies the client got after the new holder was seen: 0 means the VIP never answered again. */
  answeredAfter: number;
}

/**
 * The same trial for VIPs that sit on one node (a dual-stack Service's): all are pinged at once and the
 * trial ends when each has a new holder.
 */
export async function failoverTrialOf(
  lab: Lab,
  vips: string[],
  onTakeover?: TakeoverHook,
  options: TrialOptions = {},
): Promise<{ from: string; cutAt: number; vips: VipFailover[] }> {
  const holders = [];
  for (const vip of vips) holders.push(await settledHolder(lab, vip));
  const from = holders[0];
  if (from === undefined || holders.some((h) => h !== from)) {
    throw new Error(`${vips.join(", ")} are on ${holders.join(", ")} before the trial, not on one node`);
  }
  const node = lab.nodes.find((n) => n.name === from);
  if (node === undefined) throw new Error(`no node ${from}`);
  const pinged = vips.map((vip) => ({ vip, ping: startPing(lab, vip, 10) }));
  await sleep(500);
  await setSwitchPort(lab, node, false);
  const cutAt = Date.now();
  const taken = await Promise.all(
    pinged.map(async (p) => ({
      ...p,
      to: await waitFor(
        `another node to take ${p.vip}`,
        async () => {
          const h = (await holdersOf(lab, p.vip)).filter((n) => n !== from);
          return h.length === 1 ? h[0] : undefined;
        },
        30_000,
        10,
      ),
      takenAt: Date.now(),
    })),
  );
  await onTakeover?.(
    from,
    taken.map((t) => t.to),
  );
  // Let the client's replies resume and run a while, so the gap is closed and measured.
  await sleep(1500);
  const results = await Promise.all(
    taken.map(async (t): Promise<VipFailover> => {
      const ping = await t.ping.stop();
      const answeredAfter = ping.replies.filter((at) => at > t.takenAt).length;
      return { ...ping, vip: t.vip, to: t.to, answeredAfter };
    }),
  );
  await setSwitchPort(lab, node, true);
  // The reconnected node has the higher priority and takes the VIPs back; start the next trial from there.
  for (const vip of options.holderReturns === false ? [] : vips) {
    await waitFor(
      `${from} to take ${vip} back`,
      async () => {
        const h = await holdersOf(lab, vip);
        return h.length === 1 && h[0] === from ? true : undefined;
      },
      30_000,
      50,
    );
  }
  for (const vip of vips) await settledHolder(lab, vip);
  return { from, cutAt, vips: results };
}
