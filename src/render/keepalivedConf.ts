// PlanV1 + one node's facts → that node's keepalived.conf. Pure and byte-for-byte deterministic.
// The plan was checked by parsePlan (or built by core/); the renderer checks again the few values that
// arrive from the node itself (interface name, password, notify FIFO) so that nothing can open a directive
// of its own. Written as a row of steps: node facts, global_defs, health scripts, one block per instance.
import type { PlanGroupV1, PlanInstanceV1, PlanV1 } from "../api/plan.js";
import { isLinkLocal } from "../core/anchors.js";
import { familyBits, parseIP } from "../core/ip.js";
import { HANDOVER_PRIORITY } from "../core/plan.js";
import { configValueProblem, interfaceNameProblem } from "../core/validate.js";
import { instancesForNode } from "./membership.js";

export interface NodeContext {
  node: string;
  /** The interface carrying the VIPs on this node (spec.interface, or resolved from spec.interfaceFromIP). */
  interface: string;
  /** VRRP password read from the group's Secret (VRRPv2 PASS authentication). */
  password?: string;
  /** Announce the lowest priority everywhere, so peers take the VIPs before this node stops. */
  handover?: boolean;
  /** The agent's FIFO for keepalived's state changes (vrrp_notify_fifo); absent outside the agent. */
  notifyFifo?: string;
  /**
   * Instances this node is the preferred node of, and waits for, instead of taking them at once: it starts as
   * BACKUP with `preempt_delay` RETURN_DELAY_SECONDS, so the node holding them can drain them first
   * (agent/handback.ts). Only instances that preempt at once otherwise (returningInstances()).
   */
  returning?: ReadonlySet<string>;
}

/** How long a returning node waits for the holder's handback before it takes its instances anyway. */
export const RETURN_DELAY_SECONDS = 10;

export class RenderError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "RenderError";
  }
}

/** keepalived keeps at most 8 bytes of a PASS password (and warns, failing --config-test, when cut). */
export const PASSWORD_LENGTH = 8;

/**
 * The password as keepalived will use it: its longest prefix of whole characters (code points) that fits in
 * PASSWORD_LENGTH bytes of UTF-8. Every node cuts the same way, so peers agree, and the config never holds a
 * broken character or a password keepalived would cut again.
 */
export function keepalivedPassword(password: string): string {
  let out = "";
  let bytes = 0;
  for (const ch of password) {
    const cp = ch.codePointAt(0) ?? 0;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes > PASSWORD_LENGTH) break;
    out += ch;
  }
  return out;
}

export function passwordProblem(password: string): string | undefined {
  if (password.length === 0) return "is empty";
  if (/\s/.test(password)) return "contains white space";
  return configValueProblem(password);
}

/** Paths written into global_defs: no white space or syntax characters, so they stay one token. */
const SAFE_PATH = /^\/[A-Za-z0-9_./-]{1,200}$/;

const INDENT = "    ";
type Lines = string[];

/** `head {`, the body one level deeper, `}`. */
function block(head: string, body: Lines): Lines {
  return [`${head} {`, ...body.map((l) => `${INDENT}${l}`), "}"];
}

function advertInterval(ms: number): string {
  return ms % 1000 === 0 ? String(ms / 1000) : (ms / 1000).toFixed(2).replace(/0$/, "");
}

function withPrefix(ip: string): string {
  const parsed = parseIP(ip);
  return parsed === undefined ? ip : `${parsed.text}/${familyBits(parsed.family)}`;
}

/** Joins words into lines of at most `width` characters: keepalived splits longer lines, even comments. */
function wrap(words: readonly string[], width: number): string[] {
  const lines: string[] = [];
  for (const w of words) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 1 + w.length <= width) lines[lines.length - 1] = `${last} ${w}`;
    else lines.push(w);
  }
  return lines;
}

export function healthScriptName(instance: PlanInstanceV1): string {
  return `${instance.name}_health`;
}

/** Checks what the node supplies; returns the password as keepalived will use it, if the group has one. */
function checkNodeFacts(g: PlanGroupV1, ctx: NodeContext): string | undefined {
  if (ctx.notifyFifo !== undefined && !SAFE_PATH.test(ctx.notifyFifo)) {
    throw new RenderError(
      "--state-dir",
      `notify FIFO path ${JSON.stringify(ctx.notifyFifo)} must be absolute, without spaces or quotes; choose another --state-dir`,
    );
  }
  const ifaceProblem = interfaceNameProblem(ctx.interface);
  if (ifaceProblem !== undefined)
    throw new RenderError("interface", `${JSON.stringify(ctx.interface)} ${ifaceProblem}`);
  if (g.password === undefined) return undefined;
  const secret = `Secret ${g.namespace}/${g.password.secretName} key ${g.password.secretKey}`;
  if (ctx.password === undefined)
    throw new RenderError("spec.passwordAuth", `no password was read from ${secret}`);
  const problem = passwordProblem(ctx.password);
  if (problem !== undefined) {
    throw new RenderError(
      "spec.passwordAuth",
      `the password in ${secret} ${problem}; use 1-8 printable characters without quotes, braces, '#', '!' or '\\'`,
    );
  }
  return keepalivedPassword(ctx.password);
}

function globalDefs(g: PlanGroupV1, ctx: NodeContext, mine: readonly PlanInstanceV1[]): Lines {
  const body: Lines = [];
  if (ctx.notifyFifo !== undefined) body.push(`vrrp_notify_fifo ${ctx.notifyFifo}`);
  if (!g.verbatimGlobal.some(([key]) => key === "router_id")) body.push(`router_id ${g.name}`);
  body.push(`vrrp_version ${g.vrrp.version}`);
  if (mine.some((i) => i.healthCheckNodePort !== undefined))
    body.push("enable_script_security", "script_user root");
  for (const [key, value] of g.verbatimGlobal) body.push(value === "" ? key : `${key} ${value}`);
  return block("global_defs", body);
}

function healthScript(instance: PlanInstanceV1): Lines {
  return block(`vrrp_script ${healthScriptName(instance)}`, [
    // kube-proxy answers 200 on the health check node port only where the Service has a ready local endpoint.
    `script "/usr/bin/curl --fail --silent --max-time 1 --output /dev/null http://127.0.0.1:${instance.healthCheckNodePort ?? 0}/healthz"`,
    "interval 1",
    "timeout 2",
    "rise 1",
    "fall 2",
  ]);
}

/** state … priority: who starts as MASTER and with which priority. */
function identity(plan: PlanV1, ctx: NodeContext, instance: PlanInstanceV1): Lines {
  const g = plan.group;
  const settings = new Map(instance.settings);
  const rank = instance.priorities.findIndex((p) => p.node === ctx.node);
  const nopreempt = settings.has("nopreempt") || !g.vrrp.preempt;
  const preemptDelay = Number(settings.get("preempt_delay") ?? g.vrrp.preemptDelaySeconds);
  const priority =
    ctx.handover === true ? HANDOVER_PRIORITY : (instance.priorities[rank]?.priority ?? HANDOVER_PRIORITY);
  const returning = ctx.returning?.has(instance.name) === true;
  // The preferred node starts as MASTER, so a new instance answers at once instead of after 3 adverts.
  const master = rank === 0 && ctx.handover !== true && !nopreempt && preemptDelay === 0 && !returning;
  return [
    `state ${master ? "MASTER" : "BACKUP"}`,
    `interface ${ctx.interface}`,
    ...(instance.family === 6 ? ["native_ipv6"] : []),
    `virtual_router_id ${instance.routerId}`,
    `priority ${priority}`,
  ];
}

/** Advert, preemption and gratuitous ARP timing: the group's, unless the instance's settings say otherwise. */
function timing(g: PlanGroupV1, instance: PlanInstanceV1, returning: boolean): Lines {
  const settings = new Map(instance.settings);
  const v = g.vrrp;
  const out: Lines = [];
  if (!settings.has("advert_int")) out.push(`advert_int ${advertInterval(v.advertIntervalMs)}`);
  if (settings.has("nopreempt") || !v.preempt) {
    if (!settings.has("nopreempt")) out.push("nopreempt");
  } else if (returning && !settings.has("preempt_delay")) {
    out.push(`preempt_delay ${Math.max(RETURN_DELAY_SECONDS, v.preemptDelaySeconds)}`);
  } else if (v.preemptDelaySeconds > 0 && !settings.has("preempt_delay")) {
    out.push(`preempt_delay ${v.preemptDelaySeconds}`);
  }
  if (!settings.has("garp_master_delay")) out.push(`garp_master_delay ${v.garpMasterDelaySeconds}`);
  if (!settings.has("garp_master_repeat")) out.push(`garp_master_repeat ${v.garpMasterRepeat}`);
  if (v.garpMasterRefreshSeconds > 0 && !settings.has("garp_master_refresh")) {
    out.push(`garp_master_refresh ${v.garpMasterRefreshSeconds}`);
  }
  return out;
}

/** Unicast adverts: this node's address of the instance's family and its peers'. */
function unicast(plan: PlanV1, ctx: NodeContext, instance: PlanInstanceV1): Lines {
  if (!plan.group.unicast) return [];
  const addressOf = (node: string): string | undefined =>
    plan.nodes.find((n) => n.name === node)?.addresses[instance.family];
  const src = addressOf(ctx.node);
  const peers = instance.priorities
    .filter((p) => p.node !== ctx.node)
    .map((p) => addressOf(p.node))
    .filter((a) => a !== undefined);
  // A node alone in its group (every instance exists on every node, core/vrrp.ts) has no peer to name:
  // keepalived refuses a unicast keyword without peers, and naming the node itself makes it hear its own
  // adverts as a rival's. So a lone node's instance has no unicast lines and keepalived sends its adverts by
  // multicast, as the original operator's template does; the first peer to join switches it to unicast.
  if (peers.length === 0) return [];
  return [...(src === undefined ? [] : [`unicast_src_ip ${src}`]), ...block("unicast_peer", peers)];
}

/**
 * The anchor goes into adverts; the VIPs are excluded, so adding one never changes what peers compare. The
 * anchor is link-local (core/anchors.ts); a plan of an earlier release names one of the VIPs instead.
 */
function addresses(instance: PlanInstanceV1): Lines {
  const excluded = instance.vips.filter((v) => v !== instance.anchor);
  const anchor = parseIP(instance.anchor);
  const scope = anchor?.family === 4 && isLinkLocal(anchor) ? " scope link" : "";
  return [
    ...block("virtual_ipaddress", [`${withPrefix(instance.anchor)}${scope}`]),
    ...(excluded.length > 0 ? block("virtual_ipaddress_excluded", excluded.map(withPrefix)) : []),
  ];
}

/** keepalived keywords that take no value. */
const FLAGS = new Set(["nopreempt", "dont_track_primary", "skip_check_adv_addr", "accept", "no_accept"]);

function vrrpInstance(
  plan: PlanV1,
  ctx: NodeContext,
  instance: PlanInstanceV1,
  password: string | undefined,
): Lines {
  return [
    ...wrap(instance.services, 100).map((chunk) => `# Services: ${chunk}`),
    ...block(`vrrp_instance ${instance.name}`, [
      ...identity(plan, ctx, instance),
      ...timing(plan.group, instance, ctx.returning?.has(instance.name) === true),
      ...unicast(plan, ctx, instance),
      ...(password === undefined ? [] : block("authentication", ["auth_type PASS", `auth_pass ${password}`])),
      ...addresses(instance),
      ...(instance.healthCheckNodePort === undefined
        ? []
        : block("track_script", [healthScriptName(instance)])),
      ...instance.settings.map(([key, value]) => (FLAGS.has(key) ? key : `${key} ${value}`)),
    ]),
  ];
}

/** Renders the configuration of one node. Instances the node does not take part in are left out. */
export function renderKeepalivedConf(plan: PlanV1, ctx: NodeContext): string {
  const g = plan.group;
  const password = checkNodeFacts(g, ctx);
  const mine = instancesForNode(plan, ctx.node);
  const sections: Lines[] = [
    [
      `# keepalived.conf of node ${ctx.node} for KeepalivedGroup ${g.key}.`,
      "# Written by keepalived-operator; edits are overwritten.",
      ...globalDefs(g, ctx, mine),
    ],
    ...mine.filter((i) => i.healthCheckNodePort !== undefined).map(healthScript),
    ...mine.map((i) => vrrpInstance(plan, ctx, i, password)),
  ];
  return `${sections.map((s) => s.join("\n")).join("\n\n")}\n`;
}
