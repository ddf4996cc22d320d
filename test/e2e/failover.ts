// One hard-failover trial: cut the VIP holder off the bridge while the client pings the VIP, measure the
// client's outage, then reconnect the node and wait until the VIP has settled again. Shared by the e2e
// test and bench/failover.ts.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { holdersOf, setSwitchPort, sleep, startPing, waitFor, type Lab, type PingResult } from "./netns.js";

const execFileP = promisify(execFile);

export interface FailoverTrial extends PingResult {
  from: string;
  to: string;
}

export async function settledHolder(lab: Lab, vip: string, timeoutMs = 30_000): Promise<string> {
  // Settled: one holder, the same across three samples, and the client reaches it.
  let last: string | undefined;
  let same = 0;
  const holder = await waitFor(
    `${vip} settled on one node`,
    async () => {
      const h = await holdersOf(lab, vip);
      if (h.length === 1 && h[0] === last) same++;
      else same = 0;
      last = h.length === 1 ? h[0] : undefined;
      return same >= 3 ? last : undefined;
    },
    timeoutMs,
    100,
  );
  await waitFor(
    `${vip} to answer ping`,
    async () => {
      try {
        await execFileP("ip", ["netns", "exec", lab.clientNs, "ping", "-n", "-c", "1", "-W", "1", vip]);
        return true;
      } catch {
        return undefined;
      }
    },
    timeoutMs,
  );
  return holder;
}

export async function failoverTrial(lab: Lab, vip: string): Promise<FailoverTrial> {
  const from = await settledHolder(lab, vip);
  const node = lab.nodes.find((n) => n.name === from);
  if (node === undefined) throw new Error(`no node ${from}`);
  const ping = startPing(lab, vip, 10);
  await sleep(500);
  await setSwitchPort(lab, node, false);
  const to = await waitFor(
    `another node to take ${vip}`,
    async () => {
      const h = (await holdersOf(lab, vip)).filter((n) => n !== from);
      return h.length === 1 ? h[0] : undefined;
    },
    30_000,
    10,
  );
  // Let the client's replies resume and run a while, so the gap is closed and measured.
  await sleep(1500);
  const result = await ping.stop();
  await setSwitchPort(lab, node, true);
  // The reconnected node has the higher priority and takes the VIP back; start the next trial from there.
  await waitFor(
    `${from} to take ${vip} back`,
    async () => {
      const h = await holdersOf(lab, vip);
      return h.length === 1 && h[0] === from ? true : undefined;
    },
    30_000,
    50,
  );
  await settledHolder(lab, vip);
  return { ...result, from, to };
}
