// The VRRP parts of a KeepalivedGroup spec: protocol settings and virtual router IDs, checked and defaulted.
import type { KeepalivedGroupSpec } from "../api/types.js";
import type { Findings } from "./diagnostics.js";
import { quote } from "./validate.js";

export interface VrrpSettings {
  version: 2 | 3;
  advertIntervalMs: number;
  preempt: boolean;
  preemptDelaySeconds: number;
  garpMasterDelaySeconds: number;
  garpMasterRepeat: number;
  garpMasterRefreshSeconds: number;
}

export const DEFAULT_ADVERT_MS = 1000;
export const FAST_ADVERT_MS = 100;

function int(v: unknown): number | undefined {
  return typeof v === "number" && Number.isInteger(v) ? v : undefined;
}

/** spec.vrrp: version 3 unless password authentication (VRRPv2-only) asks for 2. */
export function readVrrp(spec: KeepalivedGroupSpec, findings: Findings): VrrpSettings {
  const asked = spec.vrrp ?? {};
  const version: 2 | 3 = asked.version ?? (spec.passwordAuth !== undefined ? 2 : 3);
  if (asked.version !== undefined && asked.version !== 2 && (asked.version as number) !== 3) {
    findings.error(
      "spec.vrrp.version",
      "InvalidVrrp",
      `${quote(String(asked.version))} is not a VRRP version; use 2 or 3.`,
    );
  }
  if (version === 3 && spec.passwordAuth !== undefined) {
    findings.error(
      "spec.passwordAuth",
      "InvalidVrrp",
      "password authentication needs VRRP version 2 (VRRPv3 has none); remove spec.passwordAuth or set spec.vrrp.version to 2.",
    );
  }
  const advertIntervalMs = readAdvertInterval(spec, version, findings);
  const garp = asked.garp ?? {};
  const vrrp: VrrpSettings = {
    version,
    advertIntervalMs,
    preempt: asked.preempt ?? true,
    preemptDelaySeconds: int(asked.preemptDelaySeconds) ?? 0,
    garpMasterDelaySeconds: int(garp.masterDelaySeconds) ?? 1,
    garpMasterRepeat: int(garp.masterRepeat) ?? 3,
    garpMasterRefreshSeconds: int(garp.masterRefreshSeconds) ?? 0,
  };
  const timing: string | undefined = asked.timing;
  if (timing !== undefined && timing !== "Default" && timing !== "Fast") {
    findings.error("spec.vrrp.timing", "InvalidVrrp", `${quote(timing)} is neither Default nor Fast.`);
  }
  for (const [field, value, min, max] of [
    ["preemptDelaySeconds", vrrp.preemptDelaySeconds, 0, 1000],
    ["garp.masterDelaySeconds", vrrp.garpMasterDelaySeconds, 0, 255],
    ["garp.masterRepeat", vrrp.garpMasterRepeat, 1, 255],
    ["garp.masterRefreshSeconds", vrrp.garpMasterRefreshSeconds, 0, 86400],
  ] as const) {
    // The ranges keepalived 2.2.7 takes without a complaint (a complaint fails --config-test).
    if (value < min || value > max)
      findings.error(
        `spec.vrrp.${field}`,
        "InvalidVrrp",
        `${value} is not a whole number from ${min} to ${max}.`,
      );
  }
  return vrrp;
}

/** The advert interval: the timing preset, or an explicit interval the VRRP version can send. */
function readAdvertInterval(spec: KeepalivedGroupSpec, version: 2 | 3, findings: Findings): number {
  const asked = spec.vrrp ?? {};
  let advertIntervalMs = asked.timing === "Fast" ? FAST_ADVERT_MS : DEFAULT_ADVERT_MS;
  if (asked.advertIntervalMilliseconds !== undefined) {
    const ms = int(asked.advertIntervalMilliseconds);
    if (ms === undefined || ms < 10 || ms > 40950 || ms % 10 !== 0) {
      findings.error(
        "spec.vrrp.advertIntervalMilliseconds",
        "InvalidVrrp",
        "must be a multiple of 10 from 10 to 40950.",
      );
    } else advertIntervalMs = ms;
  }
  if (version === 2 && advertIntervalMs % 1000 !== 0) {
    findings.error(
      "spec.vrrp",
      "InvalidVrrp",
      `VRRP version 2 sends adverts in whole seconds, but the advert interval is ${advertIntervalMs} ms; use version 3 (and no passwordAuth) for sub-second timing.`,
    );
  }
  if (version === 2 && advertIntervalMs > 255000) {
    findings.error(
      "spec.vrrp.advertIntervalMilliseconds",
      "InvalidVrrp",
      "VRRP version 2 allows at most 255 s.",
    );
  }
  return advertIntervalMs;
}

/** spec.routerIDRange, 1-255 by default. */
export function readRouterIdRange(
  spec: KeepalivedGroupSpec,
  findings: Findings,
): { min: number; max: number } {
  const min = int(spec.routerIDRange?.min) ?? 1;
  const max = int(spec.routerIDRange?.max) ?? 255;
  if (min < 1 || max > 255 || min > max) {
    findings.error(
      "spec.routerIDRange",
      "InvalidRouterIDRange",
      `${min}-${max} is not a range within 1-255 with min <= max.`,
    );
  }
  return { min, max };
}

/** spec.blacklistRouterIDs: ints or numeric strings, as releases of the original differ. */
export function readBlacklist(spec: KeepalivedGroupSpec, findings: Findings): Set<number> {
  const blacklist = new Set<number>();
  (spec.blacklistRouterIDs ?? []).forEach((raw, i) => {
    const n = typeof raw === "number" ? raw : /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(n) || n < 1 || n > 255) {
      findings.error(
        `spec.blacklistRouterIDs[${i}]`,
        "InvalidRouterID",
        `${quote(String(raw))} is not a router ID; use whole numbers from 1 to 255.`,
      );
    } else blacklist.add(n);
  });
  return blacklist;
}

/** status.routerIDs of an earlier reconcile, keeping only IDs that can be router IDs. */
export function recordedRouterIds(recorded: Record<string, number> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, id] of Object.entries(recorded ?? {})) {
    if (Number.isInteger(id) && id >= 1 && id <= 255) out[key] = id;
  }
  return out;
}
