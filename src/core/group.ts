// KeepalivedGroup (wire form) → GroupModel (validated, defaulted), or diagnostics saying why not.
import { DEFAULT_AGENT_IMAGE, DEFAULT_PASSWORD_KEY } from "../api/names.js";
import type { KeepalivedGroup, Toleration, ResourceRequirements } from "../api/types.js";
import type { Diagnostic, ObjectRef } from "./diagnostics.js";
import { parseIP, type ParsedIP } from "./ip.js";
import { parsePool, parseRange, rangesOverlap, type IpRange, type Pool } from "./pools.js";
import {
  configKeyProblem,
  configValueProblem,
  dnsLabelProblem,
  dnsSubdomainProblem,
  interfaceNameProblem,
  quote,
} from "./validate.js";

export interface VrrpSettings {
  version: 2 | 3;
  advertIntervalMs: number;
  preempt: boolean;
  preemptDelaySeconds: number;
  garpMasterDelaySeconds: number;
  garpMasterRepeat: number;
  garpMasterRefreshSeconds: number;
}

export interface GroupModel {
  namespace: string;
  name: string;
  /** `namespace/name`, as written in the Service annotation. */
  key: string;
  createdAt: string;
  generation: number;
  nodeSelector: Record<string, string>;
  image: string;
  interface?: string;
  interfaceFromIP?: ParsedIP;
  password?: { secretName: string; secretKey: string };
  /** Extra global_defs lines, sorted by key. */
  verbatimGlobal: [string, string][];
  blacklist: ReadonlySet<number>;
  routerIdRange: { min: number; max: number };
  routerIdScope: "Cluster" | "Group";
  unicast: boolean;
  vrrp: VrrpSettings;
  spreadVIPs: boolean;
  priorityClassName?: string;
  podAnnotations: Record<string, string>;
  tolerations: Toleration[];
  resources?: ResourceRequirements;
  /** Router IDs recorded in status by an earlier reconcile, by instance key. */
  recordedRouterIds: Record<string, number>;
  /** Address pools, in spec order (the first matching pool with room serves a Service). */
  pools: Pool[];
  /** Ranges Service authors may use besides the pools. */
  allowed: IpRange[];
}

export const DEFAULT_ADVERT_MS = 1000;
export const FAST_ADVERT_MS = 100;

/** global_defs keywords the operator owns, or that would make keepalived run programs. */
const RESERVED_GLOBAL_KEYS: Record<string, string> = {
  vrrp_version: "set spec.vrrp.version instead",
  enable_script_security: "the operator manages script security",
  script_user: "the operator manages script security",
};
const FORBIDDEN_GLOBAL_KEY_PARTS = ["script", "notify", "include", "checker", "lvs_", "bfd", "process_name"];

export type GroupResult =
  { ok: true; model: GroupModel; warnings: Diagnostic[] } | { ok: false; errors: Diagnostic[] };

export function groupRef(g: KeepalivedGroup): ObjectRef {
  const ref: ObjectRef = { kind: "KeepalivedGroup", name: g.metadata.name ?? "" };
  if (g.metadata.namespace !== undefined) ref.namespace = g.metadata.namespace;
  return ref;
}

function int(v: unknown): number | undefined {
  return typeof v === "number" && Number.isInteger(v) ? v : undefined;
}

export function validateGroup(g: KeepalivedGroup): GroupResult {
  const ref = groupRef(g);
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const err = (field: string, reason: string, message: string): void => {
    errors.push({ object: ref, field, reason, message, severity: "Error" });
  };
  const warn = (field: string, reason: string, message: string): void => {
    warnings.push({ object: ref, field, reason, message, severity: "Warning" });
  };
  const spec = g.spec ?? {};
  const name = g.metadata.name ?? "";
  const namespace = g.metadata.namespace ?? "default";
  const nameProblem = dnsSubdomainProblem(name);
  if (nameProblem !== undefined) err("metadata.name", "InvalidName", `${quote(name)} ${nameProblem}.`);
  const nsProblem = dnsLabelProblem(namespace);
  if (nsProblem !== undefined) err("metadata.namespace", "InvalidName", `${quote(namespace)} ${nsProblem}.`);

  let iface: string | undefined;
  if (spec.interface !== undefined) {
    const p = interfaceNameProblem(spec.interface);
    if (p === undefined) iface = spec.interface;
    else
      err(
        "spec.interface",
        "InvalidInterface",
        `${quote(spec.interface)} ${p}; set it to the NIC name, e.g. ens3.`,
      );
  }
  let interfaceFromIP: ParsedIP | undefined;
  if (spec.interfaceFromIP !== undefined) {
    interfaceFromIP = parseIP(spec.interfaceFromIP);
    if (interfaceFromIP === undefined) {
      err(
        "spec.interfaceFromIP",
        "InvalidIP",
        `${quote(spec.interfaceFromIP)} is not an IP address; write one such as 198.18.0.1.`,
      );
    }
  }
  if (spec.interface === undefined && spec.interfaceFromIP === undefined) {
    err(
      "spec",
      "NoInterface",
      "neither spec.interface nor spec.interfaceFromIP is set; set the NIC that carries the VIPs.",
    );
  }

  let password: GroupModel["password"];
  if (spec.passwordAuth !== undefined) {
    const secretName = spec.passwordAuth.secretRef.name;
    const secretKey = spec.passwordAuth.secretKey ?? DEFAULT_PASSWORD_KEY;
    const p = dnsSubdomainProblem(secretName);
    if (p !== undefined)
      err("spec.passwordAuth.secretRef.name", "InvalidSecretRef", `${quote(secretName)} ${p}.`);
    else if (!/^[-._a-zA-Z0-9]{1,253}$/.test(secretKey)) {
      err(
        "spec.passwordAuth.secretKey",
        "InvalidSecretRef",
        `${quote(secretKey)} is not a valid Secret key.`,
      );
    } else password = { secretName, secretKey };
  }

  // VRRP: version 3 unless password authentication (VRRPv2-only) asks for 2.
  const v = spec.vrrp ?? {};
  const version: 2 | 3 = v.version ?? (spec.passwordAuth !== undefined ? 2 : 3);
  if (v.version !== undefined && v.version !== 2 && (v.version as number) !== 3) {
    err("spec.vrrp.version", "InvalidVrrp", `${quote(String(v.version))} is not a VRRP version; use 2 or 3.`);
  }
  if (version === 3 && spec.passwordAuth !== undefined) {
    err(
      "spec.passwordAuth",
      "InvalidVrrp",
      "password authentication needs VRRP version 2 (VRRPv3 has none); remove spec.passwordAuth or set spec.vrrp.version to 2.",
    );
  }
  let advertIntervalMs = v.timing === "Fast" ? FAST_ADVERT_MS : DEFAULT_ADVERT_MS;
  if (v.advertIntervalMilliseconds !== undefined) {
    const ms = int(v.advertIntervalMilliseconds);
    if (ms === undefined || ms < 10 || ms > 40950 || ms % 10 !== 0) {
      err(
        "spec.vrrp.advertIntervalMilliseconds",
        "InvalidVrrp",
        "must be a multiple of 10 from 10 to 40950.",
      );
    } else advertIntervalMs = ms;
  }
  if (version === 2 && advertIntervalMs % 1000 !== 0) {
    err(
      "spec.vrrp",
      "InvalidVrrp",
      `VRRP version 2 sends adverts in whole seconds, but the advert interval is ${advertIntervalMs} ms; use version 3 (and no passwordAuth) for sub-second timing.`,
    );
  }
  if (version === 2 && advertIntervalMs > 255000) {
    err("spec.vrrp.advertIntervalMilliseconds", "InvalidVrrp", "VRRP version 2 allows at most 255 s.");
  }
  const garp = v.garp ?? {};
  const vrrp: VrrpSettings = {
    version,
    advertIntervalMs,
    preempt: v.preempt ?? true,
    preemptDelaySeconds: int(v.preemptDelaySeconds) ?? 0,
    garpMasterDelaySeconds: int(garp.masterDelaySeconds) ?? 1,
    garpMasterRepeat: int(garp.masterRepeat) ?? 3,
    garpMasterRefreshSeconds: int(garp.masterRefreshSeconds) ?? 0,
  };
  if (vrrp.preemptDelaySeconds < 0 || vrrp.preemptDelaySeconds > 1000) {
    err("spec.vrrp.preemptDelaySeconds", "InvalidVrrp", "must be from 0 to 1000.");
  }

  // Router IDs: range, blacklist (ints or numeric strings, as releases of the original differ).
  const min = int(spec.routerIDRange?.min) ?? 1;
  const max = int(spec.routerIDRange?.max) ?? 255;
  if (min < 1 || max > 255 || min > max) {
    err(
      "spec.routerIDRange",
      "InvalidRouterIDRange",
      `${min}-${max} is not a range within 1-255 with min <= max.`,
    );
  }
  const blacklist = new Set<number>();
  (spec.blacklistRouterIDs ?? []).forEach((raw, i) => {
    const n = typeof raw === "number" ? raw : /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > 255) {
      err(
        `spec.blacklistRouterIDs[${i}]`,
        "InvalidRouterID",
        `${quote(String(raw))} is not a router ID; use whole numbers from 1 to 255.`,
      );
    } else blacklist.add(n);
  });

  // Admin-owned global_defs lines: one line each, no programs.
  const verbatimGlobal: [string, string][] = [];
  for (const [key, value] of Object.entries(spec.verbatimConfig ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const field = `spec.verbatimConfig[${quote(key)}]`;
    const kp = configKeyProblem(key);
    if (kp !== undefined) {
      err(field, "InvalidVerbatimConfig", `key ${quote(key)} ${kp}.`);
      continue;
    }
    const reserved = RESERVED_GLOBAL_KEYS[key];
    if (reserved !== undefined) {
      err(field, "InvalidVerbatimConfig", `${key} cannot be set here: ${reserved}.`);
      continue;
    }
    if (FORBIDDEN_GLOBAL_KEY_PARTS.some((part) => key.includes(part))) {
      err(
        field,
        "InvalidVerbatimConfig",
        `${key} would make keepalived run a program or read another file; remove it.`,
      );
      continue;
    }
    const vp = typeof value === "string" ? configValueProblem(value) : "is not a string";
    if (vp !== undefined) {
      err(
        field,
        "InvalidVerbatimConfig",
        `the value ${vp}; write the value on one line without braces, quotes or comment characters.`,
      );
      continue;
    }
    verbatimGlobal.push([key, value]);
  }

  const pools: Pool[] = [];
  (spec.addressPools ?? []).forEach((p, i) => {
    const parsed = parsePool(p);
    if (Array.isArray(parsed)) {
      for (const problem of parsed)
        err(`spec.addressPools[${i}]`, "InvalidAddressPool", `pool ${quote(p.name)}: ${problem}.`);
      return;
    }
    for (const other of pools) {
      const clash = parsed.ranges.find((r) => other.ranges.some((o) => rangesOverlap(r, o)));
      if (clash !== undefined) {
        err(
          `spec.addressPools[${i}]`,
          "OverlappingAddressPools",
          `pool ${quote(p.name)} (${clash.text}) overlaps pool ${quote(other.name)}; an address must belong to one pool.`,
        );
      }
    }
    pools.push(parsed);
  });
  const allowed: IpRange[] = [];
  (spec.allowedCIDRs ?? []).forEach((text, i) => {
    const r = parseRange(text, true);
    if (typeof r === "string") err(`spec.allowedCIDRs[${i}]`, "InvalidAllowedCIDR", `${r}.`);
    else allowed.push(r);
  });

  const recordedRouterIds: Record<string, number> = {};
  for (const [key, id] of Object.entries(g.status?.routerIDs ?? {})) {
    if (Number.isInteger(id) && id >= 1 && id <= 255) recordedRouterIds[key] = id;
  }

  const priorityClassName = spec.daemonsetPodPriorityClassName ?? spec.DaemonsetPodPriorityClassName;
  if (spec.daemonsetPodPriorityClassName === undefined && spec.DaemonsetPodPriorityClassName !== undefined) {
    warn(
      "spec.DaemonsetPodPriorityClassName",
      "DeprecatedField",
      "this spelling is deprecated; rename it to daemonsetPodPriorityClassName.",
    );
  }
  if (spec.daemonsetPodAnnotations === undefined && spec.daemonsetAnnotations !== undefined) {
    warn(
      "spec.daemonsetAnnotations",
      "DeprecatedField",
      "this field is deprecated; rename it to daemonsetPodAnnotations.",
    );
  }

  // The original's `image` was the keepalived image next to its own reloader; our agent carries keepalived,
  // so that image cannot run it. Existing manifests keep working: the agent image is used instead.
  let image = spec.image ?? DEFAULT_AGENT_IMAGE;
  if (spec.image !== undefined && /keepalived-ipfailover/.test(spec.image)) {
    image = DEFAULT_AGENT_IMAGE;
    warn(
      "spec.image",
      "IgnoredField",
      `${quote(spec.image)} is the original operator's keepalived image; the agent image ${DEFAULT_AGENT_IMAGE}, which carries keepalived, is used instead. Remove spec.image or set it to an agent image.`,
    );
  }

  if (errors.length > 0) return { ok: false, errors };
  const model: GroupModel = {
    namespace,
    name,
    key: `${namespace}/${name}`,
    createdAt: g.metadata.creationTimestamp ?? "",
    generation: g.metadata.generation ?? 0,
    nodeSelector: spec.nodeSelector ?? {},
    image,
    verbatimGlobal,
    blacklist,
    routerIdRange: { min, max },
    routerIdScope: spec.routerIDScope ?? "Cluster",
    unicast: spec.unicastEnabled ?? false,
    vrrp,
    spreadVIPs: spec.spreadVIPs ?? true,
    podAnnotations: spec.daemonsetPodAnnotations ?? spec.daemonsetAnnotations ?? {},
    tolerations: spec.agent?.tolerations ?? [{ operator: "Exists" }],
    recordedRouterIds,
    pools,
    allowed,
  };
  if (iface !== undefined) model.interface = iface;
  if (interfaceFromIP !== undefined) model.interfaceFromIP = interfaceFromIP;
  if (password !== undefined) model.password = password;
  if (priorityClassName !== undefined) model.priorityClassName = priorityClassName;
  if (spec.agent?.resources !== undefined) model.resources = spec.agent.resources;
  return { ok: true, model, warnings };
}

/** Whether a node's labels satisfy a group's nodeSelector (every pair must match). */
export function selectsNode(
  selector: Record<string, string>,
  labels: Record<string, string> | undefined,
): boolean {
  return Object.entries(selector).every(([k, val]) => labels?.[k] === val);
}
