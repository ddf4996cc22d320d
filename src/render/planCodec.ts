// GroupPlan → PlanV1 → text, and text → PlanV1: the one writer and the one reader of plan.json. The
// controller writes with serializeGroupPlan and reads its previous placement with placementOfPlan; agents
// read with parsePlan. Pure.
import { isLinkLocal } from "../core/anchors.js";
import { dictionary, dictionaryOf } from "../core/dictionary.js";
import { parseIP } from "../core/ip.js";
import {
  PLAN_API_VERSION,
  type PlanFamily,
  type PlanGroupV1,
  type PlanInstanceV1,
  type PlanNodeV1,
  type PlanPriorityV1,
  type PlanV1,
  type PlanVrrpV1,
} from "../api/plan.js";
import type { GroupPlan, VirtualRouter } from "../core/plan.js";
import {
  configKeyProblem,
  configValueProblem,
  dnsLabelProblem,
  dnsSubdomainProblem,
  interfaceNameProblem,
} from "../core/validate.js";
import { FieldReader, isJsonObject, PlanFormatError, type JsonObject } from "./planFields.js";

export { PlanFormatError } from "./planFields.js";

function instanceV1(i: VirtualRouter): PlanInstanceV1 {
  const out: PlanInstanceV1 = {
    name: i.name,
    routerId: i.routerId,
    family: i.family,
    vips: [...i.vips],
    anchor: i.anchor,
    priorities: i.priorities.map((p) => ({ node: p.node, priority: p.priority })),
    services: [...i.services],
    settings: i.settings.map(([k, v]) => [k, v]),
  };
  if (i.healthCheckNodePort !== undefined) out.healthCheckNodePort = i.healthCheckNodePort;
  return out;
}

/** The controller's plan narrowed to what agents read: the only mapping from the model to the wire. */
export function planV1(plan: GroupPlan): PlanV1 {
  const g = plan.group;
  const v = g.vrrp;
  const group: PlanGroupV1 = {
    namespace: g.namespace,
    name: g.name,
    key: g.key,
    verbatimGlobal: g.verbatimGlobal.map(([k, val]) => [k, val]),
    unicast: g.unicast,
    vrrp: {
      version: v.version,
      advertIntervalMs: v.advertIntervalMs,
      preempt: v.preempt,
      preemptDelaySeconds: v.preemptDelaySeconds,
      garpMasterDelaySeconds: v.garpMasterDelaySeconds,
      garpMasterRepeat: v.garpMasterRepeat,
      garpMasterRefreshSeconds: v.garpMasterRefreshSeconds,
    },
  };
  if (v.realtimeScheduling) group.vrrp.realtimeScheduling = true;
  if (g.interface !== undefined) group.interface = g.interface;
  if (g.interfaceFromIP !== undefined) group.interfaceFromIP = g.interfaceFromIP.text;
  if (g.password !== undefined)
    group.password = { secretName: g.password.secretName, secretKey: g.password.secretKey };
  return {
    apiVersion: PLAN_API_VERSION,
    group,
    nodes: plan.nodes.map((n) => ({ name: n.name, addresses: { ...n.addresses } })),
    instances: plan.instances.map(instanceV1),
    placement: dictionaryOf(Object.entries(plan.placement)),
  };
}

/** Object keys sorted at every depth; lists keep their order, which the planner made deterministic. */
function sortedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedKeys);
  if (!isJsonObject(v)) return v;
  const keys = Object.keys(v).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(keys.filter((k) => v[k] !== undefined).map((k) => [k, sortedKeys(v[k])]));
}

/** The plan's text: the same plan always gives the same bytes. */
export function encodePlan(plan: PlanV1): string {
  return `${JSON.stringify(sortedKeys(plan), null, 2)}\n`;
}

/** A value as one line of JSON with its keys sorted at every depth: a part of a compact plan. */
export function compactJson(value: unknown): string {
  return JSON.stringify(sortedKeys(value));
}

/** The plan's text on one line: what a node plan object stores (agents download it, people use `render`). */
export function compactPlan(plan: PlanV1): string {
  return `${compactJson(plan)}\n`;
}

export function serializeGroupPlan(plan: GroupPlan): string {
  return encodePlan(planV1(plan));
}

function readVrrp(r: FieldReader, raw: unknown): PlanVrrpV1 {
  const v = r.object(raw, "group.vrrp");
  const version = r.whole(v.version, "group.vrrp.version", 2, 3);
  const realtime = r.optional(v, "realtimeScheduling", "group.vrrp.realtimeScheduling", (x, f) =>
    r.flag(x, f),
  );
  const vrrp: PlanVrrpV1 = {
    version: version === 2 ? 2 : 3,
    advertIntervalMs: r.whole(v.advertIntervalMs, "group.vrrp.advertIntervalMs", 10, 40950),
    preempt: r.flag(v.preempt, "group.vrrp.preempt"),
    preemptDelaySeconds: r.whole(v.preemptDelaySeconds, "group.vrrp.preemptDelaySeconds", 0, 1000),
    garpMasterDelaySeconds: r.whole(v.garpMasterDelaySeconds, "group.vrrp.garpMasterDelaySeconds", 0, 255),
    garpMasterRepeat: r.whole(v.garpMasterRepeat, "group.vrrp.garpMasterRepeat", 1, 255),
    garpMasterRefreshSeconds: r.whole(
      v.garpMasterRefreshSeconds,
      "group.vrrp.garpMasterRefreshSeconds",
      0,
      86400,
    ),
  };
  if (realtime === true) vrrp.realtimeScheduling = true;
  return vrrp;
}

function readGroup(r: FieldReader, raw: unknown): PlanGroupV1 {
  const g = r.object(raw, "group");
  const namespace = r.text(g.namespace, "group.namespace", dnsLabelProblem);
  const name = r.text(g.name, "group.name", dnsSubdomainProblem);
  const key = r.text(g.key, "group.key", (k) =>
    k === `${namespace}/${name}` ? undefined : `must be "${namespace}/${name}" (group.namespace/group.name)`,
  );
  const group: PlanGroupV1 = {
    namespace,
    name,
    key,
    verbatimGlobal: r.pairs(g.verbatimGlobal, "group.verbatimGlobal", configKeyProblem, configValueProblem),
    unicast: r.flag(g.unicast, "group.unicast"),
    vrrp: readVrrp(r, g.vrrp),
  };
  const iface = r.optional(g, "interface", "group.interface", (v, f) => r.text(v, f, interfaceNameProblem));
  if (iface !== undefined) group.interface = iface;
  const fromIP = r.optional(g, "interfaceFromIP", "group.interfaceFromIP", (v, f) => r.ip(v, f));
  if (fromIP !== undefined) group.interfaceFromIP = fromIP;
  const password = r.optional(g, "password", "group.password", (v, f) => {
    const p = r.object(v, f);
    return {
      secretName: r.text(p.secretName, `${f}.secretName`, dnsSubdomainProblem),
      secretKey: r.text(p.secretKey, `${f}.secretKey`, configValueProblem),
    };
  });
  if (password !== undefined) group.password = password;
  return group;
}

function readNode(r: FieldReader, raw: unknown, field: string): PlanNodeV1 {
  const n = r.object(raw, field);
  const a = r.object(n.addresses, `${field}.addresses`);
  const addresses: PlanNodeV1["addresses"] = {};
  for (const family of [4, 6] as const) {
    const ip = r.optional(a, String(family), `${field}.addresses.${family}`, (v, f) => r.ip(v, f, family));
    if (ip !== undefined) addresses[family] = ip;
  }
  return { name: r.text(n.name, `${field}.name`, dnsSubdomainProblem), addresses };
}

const INSTANCE_NAME = /^[A-Za-z0-9_.-]{1,255}$/;
const instanceNameProblem = (s: string): string | undefined =>
  INSTANCE_NAME.test(s) ? undefined : "must be a vrrp_instance name (letters, digits, '_', '.' and '-')";
const nodeNameProblem = (s: string): string | undefined => (s === "" ? "must name a node" : undefined);

function readPriority(r: FieldReader, raw: unknown, field: string): PlanPriorityV1 {
  const p = r.object(raw, field);
  return {
    node: r.text(p.node, `${field}.node`, nodeNameProblem),
    priority: r.whole(p.priority, `${field}.priority`, 1, 255),
  };
}

/**
 * The anchor: a link-local address of the family that is not a VIP. A plan of an earlier release names one
 * of the VIPs instead, or "" when there are none; agents read it during a rolling update.
 */
function anchorProblem(anchor: string, family: PlanFamily, vips: readonly string[]): string | undefined {
  if (vips.includes(anchor) || (anchor === "" && vips.length === 0)) return undefined;
  const ip = parseIP(anchor);
  return ip?.family === family && isLinkLocal(ip) && ip.text === anchor
    ? undefined
    : `must be a link-local IPv${family} address (169.254.0.0/16 or fe80::/10, canonical) that is not one of the instance's vips`;
}

function readInstance(r: FieldReader, raw: unknown, field: string): PlanInstanceV1 {
  const i = r.object(raw, field);
  const family = r.whole(i.family, `${field}.family`, 4, 6);
  if (family !== 4 && family !== 6) return r.fail(`${field}.family`, `must be 4 or 6 (got ${family})`);
  const vips = r.list(i.vips, `${field}.vips`, (v, f) => r.ip(v, f, family));
  const anchor = r.text(i.anchor, `${field}.anchor`, (a) => anchorProblem(a, family, vips));
  const instance: PlanInstanceV1 = {
    name: r.text(i.name, `${field}.name`, instanceNameProblem),
    routerId: r.whole(i.routerId, `${field}.routerId`, 1, 255),
    family,
    vips,
    anchor,
    priorities: r.list(i.priorities, `${field}.priorities`, (v, f) => readPriority(r, v, f)),
    services: r.list(i.services, `${field}.services`, (v, f) => r.text(v, f, configValueProblem)),
    settings: r.pairs(i.settings, `${field}.settings`, configKeyProblem, configValueProblem),
  };
  const port = r.optional(i, "healthCheckNodePort", `${field}.healthCheckNodePort`, (v, f) =>
    r.whole(v, f, 1, 65535),
  );
  if (port !== undefined) instance.healthCheckNodePort = port;
  return instance;
}

function readPlacement(r: FieldReader, raw: unknown): Record<string, string> {
  const p = r.object(raw, "placement");
  const out = dictionary<string>();
  for (const [vip, node] of Object.entries(p))
    out[r.ip(vip, "placement")] = r.text(node, `placement[${vip}]`);
  return out;
}

function readVersion(r: FieldReader, raw: JsonObject): typeof PLAN_API_VERSION {
  const v = raw.apiVersion;
  if (v === PLAN_API_VERSION) return v;
  const found = v === undefined ? "missing" : JSON.stringify(v);
  return r.fail(
    "apiVersion",
    `${found}: this agent reads plans of apiVersion "${PLAN_API_VERSION}"; run the agent image of the controller's release`,
  );
}

/** The one reader of plan.json (ConfigMap or --plan-file): checks every field the renderer relies on. */
export function parsePlan(text: string, source: string): PlanV1 {
  const r = new FieldReader(source);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    r.fail(
      "(file)",
      `not valid JSON (${(err as Error).message}); the plan is JSON written by the controller`,
    );
  }
  const plan = r.object(raw, "(file)");
  return {
    apiVersion: readVersion(r, plan),
    group: readGroup(r, plan.group),
    nodes: r.list(plan.nodes, "nodes", (v, f) => readNode(r, v, f)),
    instances: r.list(plan.instances, "instances", (v, f) => readInstance(r, v, f)),
    placement: readPlacement(r, plan.placement),
  };
}

/** The VIP → node placement recorded in a plan's text, or undefined when the text is not a plan. */
export function placementOfPlan(text: string): Record<string, string> | undefined {
  try {
    return parsePlan(text, "plan.json").placement;
  } catch (err) {
    if (err instanceof PlanFormatError) return undefined;
    throw err;
  }
}
