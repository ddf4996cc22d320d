// Handback: the node an instance prefers comes back (its agent restarted) while a peer holds the instance. It
// does not take the instance at once, which would reset the connections open on the peer: it starts as BACKUP
// with a preempt_delay (render/keepalivedConf.ts `returning`) and asks the peers, over their agents' HTTP
// port, to hand it back. The peer that is MASTER drains the instance's VIPs (drain.ts) and answers; the
// returning node then drops the delay and takes the instance over: a drained move. A peer that cannot answer
// (an older agent, a firewall) costs only the delay: keepalived preempts by itself when it ends.
// The decisions are pure; askHandback() is the one request.
import { request } from "node:http";
import type { PlanGroupV1, PlanInstanceV1, PlanV1 } from "../api/plan.js";
import { parseIP } from "../core/ip.js";
import { instancesForNode } from "../render/membership.js";

/**
 * Drained moves need sub-second adverts: the VIP moves about 3 adverts after the drain starts, and until then
 * new connections wait for TCP to send their SYN again (1 s). With VRRPv2's whole seconds they would wait
 * twice, so such groups move undrained, as before.
 */
export function drainedMoves(group: PlanGroupV1): boolean {
  return group.vrrp.advertIntervalMs <= 250;
}

/** Whether the preferred node of the instance would take it from a peer at once (no nopreempt, no delay). */
function preemptsAtOnce(group: PlanGroupV1, instance: PlanInstanceV1): boolean {
  const settings = new Map(instance.settings);
  return (
    group.vrrp.preempt &&
    group.vrrp.preemptDelaySeconds === 0 &&
    !settings.has("nopreempt") &&
    !settings.has("preempt_delay")
  );
}

/**
 * The instances a node starting up waits for instead of taking: those it is the preferred node of, that have
 * peers, that would preempt at once, and that it does not hold already (an adopted keepalived). Pure.
 */
export function returningInstances(plan: PlanV1, node: string, masters: ReadonlySet<string>): string[] {
  if (!drainedMoves(plan.group)) return [];
  return instancesForNode(plan, node)
    .filter(
      (i) =>
        i.priorities[0]?.node === node &&
        i.priorities.length > 1 &&
        preemptsAtOnce(plan.group, i) &&
        !masters.has(i.name),
    )
    .map((i) => i.name);
}

/** An address as the HTTP server reports it, canonical (an IPv4 client of a dual-stack socket is ::ffff:…). */
export function canonicalRemote(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  return parseIP(v4 ?? address)?.text;
}

export interface HandbackAnswer {
  status: 200 | 403 | 404 | 409;
  reason: string;
  /** The VIPs to drain before answering (status 200 only). */
  vips: string[];
}

/**
 * What a node answers a handback request for `instanceName` from `remote`: 200 and the VIPs to drain when it
 * holds the instance and the request comes from the instance's preferred node (its address in the plan), a
 * specific refusal otherwise. Pure.
 */
export function handbackAnswer(
  plan: PlanV1 | undefined,
  node: string,
  instanceName: string,
  remote: string | undefined,
  masters: ReadonlySet<string>,
): HandbackAnswer {
  const no = (status: HandbackAnswer["status"], reason: string): HandbackAnswer => ({
    status,
    reason,
    vips: [],
  });
  if (plan === undefined) return no(409, `node ${node} has no plan yet`);
  const instance = instancesForNode(plan, node).find((i) => i.name === instanceName);
  if (instance === undefined)
    return no(404, `instance ${JSON.stringify(instanceName)} is not on node ${node}`);
  const preferred = instance.priorities[0]?.node ?? "";
  if (preferred === node) return no(409, `node ${node} is the preferred node of ${instance.name}`);
  const addresses = Object.values(plan.nodes.find((n) => n.name === preferred)?.addresses ?? {});
  const from = canonicalRemote(remote);
  if (from === undefined || !addresses.includes(from))
    return no(
      403,
      `${remote ?? "(unknown)"} is not an address of ${preferred}, the preferred node of ${instance.name}`,
    );
  if (!masters.has(instance.name)) return no(409, `node ${node} does not hold ${instance.name}`);
  return { status: 200, reason: `handing ${instance.name} back to ${preferred}`, vips: instance.vips };
}

/** Where to ask for a handback: each other member of the instance, by rank, at its address of the instance's family. */
export function handbackTargets(
  plan: PlanV1,
  node: string,
  instance: PlanInstanceV1,
): { node: string; address: string; local: string | undefined }[] {
  const own = plan.nodes.find((n) => n.name === node)?.addresses ?? {};
  return instance.priorities.flatMap((p) => {
    if (p.node === node) return [];
    const addrs = plan.nodes.find((n) => n.name === p.node)?.addresses ?? {};
    const family = addrs[instance.family] !== undefined ? instance.family : instance.family === 4 ? 6 : 4;
    const address = addrs[family];
    return address === undefined ? [] : [{ node: p.node, address, local: own[family] }];
  });
}

/** POST /handback?instance=… to a peer's agent; its status and first line, or the error. */
export function askHandback(
  target: { address: string; local: string | undefined },
  port: number,
  instance: string,
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const host = target.address.includes(":") ? `[${target.address}]` : target.address;
    const req = request(
      `http://${host}:${port}/handback?instance=${encodeURIComponent(instance)}`,
      {
        method: "POST",
        agent: false,
        timeout: timeoutMs,
        ...(target.local === undefined ? {} : { localAddress: target.local }),
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (s: string) => {
          if (body.length < 1000) body += s;
        });
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, body: body.trim() });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on("error", (err) => {
      resolve({ status: 0, body: err.message });
    });
    req.end();
  });
}
