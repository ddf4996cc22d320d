// GroupPlan ⇄ JSON. GroupModel holds a Set and a bigint (ParsedIP.value), which JSON cannot carry, so the
// plan that reaches an agent is written and read through this codec. Pure.
import { parseIP } from "../core/ip.js";
import type { GroupModel } from "../core/group.js";
import type { GroupPlan } from "../core/plan.js";

/** The plan is not one the agent can run; `field` names where, the message says what to fix. */
export class PlanFormatError extends Error {
  constructor(
    readonly source: string,
    readonly field: string,
    message: string,
  ) {
    super(`${source}: ${field}: ${message}`);
    this.name = "PlanFormatError";
  }
}

export function serializeGroupPlan(plan: GroupPlan): string {
  // Address pools and allowed ranges are the controller's business; agents never read them.
  const { blacklist, interfaceFromIP, pools: _pools, allowed: _allowed, ...rest } = plan.group;
  const group: Record<string, unknown> = { ...rest, blacklist: [...blacklist].sort((a, b) => a - b) };
  if (interfaceFromIP !== undefined) group.interfaceFromIP = interfaceFromIP.text;
  return `${JSON.stringify({ ...plan, group }, null, 2)}\n`;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses a plan written by serializeGroupPlan; checks the shape the renderer relies on. */
export function parseGroupPlan(text: string, source: string): GroupPlan {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new PlanFormatError(
      source,
      "(file)",
      `not valid JSON (${(err as Error).message}); write the GroupPlan as JSON`,
    );
  }
  if (!isObject(raw)) throw new PlanFormatError(source, "(file)", "must be a JSON object (a GroupPlan)");
  const g = raw.group;
  if (!isObject(g) || typeof g.key !== "string" || typeof g.name !== "string" || !isObject(g.vrrp)) {
    throw new PlanFormatError(source, "group", "missing or not a group model with key, name and vrrp");
  }
  if (typeof g.vrrp.advertIntervalMs !== "number" || (g.vrrp.version !== 2 && g.vrrp.version !== 3)) {
    throw new PlanFormatError(source, "group.vrrp", "needs version (2 or 3) and advertIntervalMs");
  }
  if (!Array.isArray(raw.nodes) || !raw.nodes.every((n) => isObject(n) && typeof n.name === "string")) {
    throw new PlanFormatError(source, "nodes", "must be a list of {name, addresses}");
  }
  if (!Array.isArray(raw.instances)) throw new PlanFormatError(source, "instances", "must be a list");
  raw.instances.forEach((i: unknown, n) => {
    const ok =
      isObject(i) &&
      typeof i.name === "string" &&
      typeof i.routerId === "number" &&
      (i.family === 4 || i.family === 6) &&
      typeof i.anchor === "string" &&
      Array.isArray(i.vips) &&
      i.vips.every((v) => typeof v === "string" && parseIP(v) !== undefined) &&
      Array.isArray(i.priorities) &&
      Array.isArray(i.settings);
    if (!ok)
      throw new PlanFormatError(
        source,
        `instances[${n}]`,
        "must have name, routerId, family, anchor, vips (IP addresses), priorities and settings",
      );
  });
  const blacklist = Array.isArray(g.blacklist)
    ? g.blacklist.filter((n): n is number => typeof n === "number")
    : [];
  const group = { ...g, blacklist: new Set(blacklist), pools: [], allowed: [] } as unknown as GroupModel;
  if (typeof g.interfaceFromIP === "string") {
    const ip = parseIP(g.interfaceFromIP);
    if (ip === undefined)
      throw new PlanFormatError(
        source,
        "group.interfaceFromIP",
        `${JSON.stringify(g.interfaceFromIP)} is not an IP address`,
      );
    group.interfaceFromIP = ip;
  } else delete (group as { interfaceFromIP?: unknown }).interfaceFromIP;
  return { ...(raw as unknown as GroupPlan), group };
}

/** The VIP → node placement recorded in a plan's text, or undefined when the text is not a plan. */
export function placementOfPlan(text: string): Record<string, string> | undefined {
  try {
    const parsed = JSON.parse(text) as { placement?: unknown };
    return isObject(parsed.placement) ? (parsed.placement as Record<string, string>) : undefined;
  } catch {
    return undefined;
  }
}

/** Every VIP of the plan, whichever node it is placed on: what a dead keepalived of this group may have left. */
export function planVips(plan: GroupPlan): string[] {
  return [...new Set(plan.instances.flatMap((i) => i.vips))].sort();
}
