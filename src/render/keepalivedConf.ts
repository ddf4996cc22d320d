// GroupPlan + one node's facts → that node's keepalived.conf. Pure and byte-for-byte deterministic.
// Every value written here was validated by core/; the renderer checks again the few that arrive from the
// node itself (interface name, password) so that nothing can open a directive of its own.
import { familyBits, parseIP } from "../core/ip.js";
import type { GroupPlan, VirtualRouter } from "../core/plan.js";
import { HANDOVER_PRIORITY } from "../core/plan.js";
import { configValueProblem, interfaceNameProblem } from "../core/validate.js";

export interface NodeContext {
  node: string;
  /** The interface carrying the VIPs on this node (spec.interface, or resolved from spec.interfaceFromIP). */
  interface: string;
  /** VRRP password read from the group's Secret (VRRPv2 PASS authentication). */
  password?: string;
  /** Announce the lowest priority everywhere, so peers take the VIPs before this node stops. */
  handover?: boolean;
}

export class RenderError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "RenderError";
  }
}

/** keepalived uses at most 8 characters of a PASS password. */
export const PASSWORD_LENGTH = 8;

export function passwordProblem(password: string): string | undefined {
  if (password.length === 0) return "is empty";
  if (/\s/.test(password)) return "contains white space";
  return configValueProblem(password);
}

const INDENT = "    ";

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

export function healthScriptName(instance: VirtualRouter): string {
  return `${instance.name}_health`;
}

/** Renders the configuration of one node. Instances the node does not take part in are left out. */
export function renderKeepalivedConf(plan: GroupPlan, ctx: NodeContext): string {
  const g = plan.group;
  const ifaceProblem = interfaceNameProblem(ctx.interface);
  if (ifaceProblem !== undefined)
    throw new RenderError("interface", `${JSON.stringify(ctx.interface)} ${ifaceProblem}`);
  let password: string | undefined;
  if (g.password !== undefined) {
    if (ctx.password === undefined) {
      throw new RenderError(
        "spec.passwordAuth",
        `no password was read from Secret ${g.namespace}/${g.password.secretName} key ${g.password.secretKey}`,
      );
    }
    const problem = passwordProblem(ctx.password);
    if (problem !== undefined) {
      throw new RenderError(
        "spec.passwordAuth",
        `the password in Secret ${g.namespace}/${g.password.secretName} key ${g.password.secretKey} ${problem}; use 1-8 printable characters without quotes, braces, '#', '!' or '\\'`,
      );
    }
    password = ctx.password.slice(0, PASSWORD_LENGTH);
  }
  const member = plan.nodes.find((n) => n.name === ctx.node);
  const mine = plan.instances.filter(
    (i) => i.vips.length > 0 && i.priorities.some((p) => p.node === ctx.node),
  );
  const out: string[] = [];
  const line = (depth: number, text: string): void => {
    out.push(`${INDENT.repeat(depth)}${text}`);
  };
  line(0, `# keepalived.conf of node ${ctx.node} for KeepalivedGroup ${g.key}.`);
  line(0, "# Written by keepalived-operator; edits are overwritten.");
  line(0, "global_defs {");
  const verbatim = new Map(g.verbatimGlobal);
  if (!verbatim.has("router_id")) line(1, `router_id ${g.name}`);
  line(1, `vrrp_version ${g.vrrp.version}`);
  const scripts = mine.filter((i) => i.healthCheckNodePort !== undefined);
  if (scripts.length > 0) {
    line(1, "enable_script_security");
    line(1, "script_user root");
  }
  for (const [key, value] of g.verbatimGlobal) line(1, value === "" ? key : `${key} ${value}`);
  line(0, "}");

  for (const instance of scripts) {
    out.push("");
    line(0, `vrrp_script ${healthScriptName(instance)} {`);
    // kube-proxy answers 200 on the health check node port only where the Service has a ready local endpoint.
    line(
      1,
      `script "/usr/bin/curl --fail --silent --max-time 1 --output /dev/null http://127.0.0.1:${instance.healthCheckNodePort ?? 0}/healthz"`,
    );
    line(1, "interval 1");
    line(1, "timeout 2");
    line(1, "rise 1");
    line(1, "fall 2");
    line(0, "}");
  }

  for (const instance of mine) {
    const settings = new Map(instance.settings);
    const rank = instance.priorities.findIndex((p) => p.node === ctx.node);
    const nopreempt = settings.has("nopreempt") || !g.vrrp.preempt;
    const preemptDelay = Number(settings.get("preempt_delay") ?? g.vrrp.preemptDelaySeconds);
    const priority =
      ctx.handover === true ? HANDOVER_PRIORITY : (instance.priorities[rank]?.priority ?? HANDOVER_PRIORITY);
    // The preferred node starts as MASTER, so a new instance answers at once instead of after 3 adverts.
    const master = rank === 0 && ctx.handover !== true && !nopreempt && preemptDelay === 0;
    out.push("");
    for (const chunk of wrap(instance.services, 100)) line(0, `# Services: ${chunk}`);
    line(0, `vrrp_instance ${instance.name} {`);
    line(1, `state ${master ? "MASTER" : "BACKUP"}`);
    line(1, `interface ${ctx.interface}`);
    if (instance.family === 6) line(1, "native_ipv6");
    line(1, `virtual_router_id ${instance.routerId}`);
    line(1, `priority ${priority}`);
    if (!settings.has("advert_int")) line(1, `advert_int ${advertInterval(g.vrrp.advertIntervalMs)}`);
    if (nopreempt) {
      if (!settings.has("nopreempt")) line(1, "nopreempt");
    } else if (g.vrrp.preemptDelaySeconds > 0 && !settings.has("preempt_delay")) {
      line(1, `preempt_delay ${g.vrrp.preemptDelaySeconds}`);
    }
    if (!settings.has("garp_master_delay")) line(1, `garp_master_delay ${g.vrrp.garpMasterDelaySeconds}`);
    if (!settings.has("garp_master_repeat")) line(1, `garp_master_repeat ${g.vrrp.garpMasterRepeat}`);
    if (g.vrrp.garpMasterRefreshSeconds > 0 && !settings.has("garp_master_refresh")) {
      line(1, `garp_master_refresh ${g.vrrp.garpMasterRefreshSeconds}`);
    }
    if (g.unicast) {
      const src = member?.addresses[instance.family];
      if (src !== undefined) line(1, `unicast_src_ip ${src}`);
      line(1, "unicast_peer {");
      for (const p of instance.priorities) {
        if (p.node === ctx.node) continue;
        const addr = plan.nodes.find((n) => n.name === p.node)?.addresses[instance.family];
        if (addr !== undefined) line(2, addr);
      }
      line(1, "}");
    }
    if (password !== undefined) {
      line(1, "authentication {");
      line(2, "auth_type PASS");
      line(2, `auth_pass ${password}`);
      line(1, "}");
    }
    line(1, "virtual_ipaddress {");
    line(2, withPrefix(instance.anchor));
    line(1, "}");
    const excluded = instance.vips.filter((v) => v !== instance.anchor);
    if (excluded.length > 0) {
      line(1, "virtual_ipaddress_excluded {");
      for (const vip of excluded) line(2, withPrefix(vip));
      line(1, "}");
    }
    if (instance.healthCheckNodePort !== undefined) {
      line(1, "track_script {");
      line(2, healthScriptName(instance));
      line(1, "}");
    }
    for (const [key, value] of instance.settings) {
      if (
        key === "nopreempt" ||
        key === "dont_track_primary" ||
        key === "skip_check_adv_addr" ||
        key === "accept" ||
        key === "no_accept"
      ) {
        line(1, key);
      } else line(1, `${key} ${value}`);
    }
    line(0, "}");
  }
  return `${out.join("\n")}\n`;
}
