// The VRRP parts of a KeepalivedGroup spec: protocol settings and virtual router IDs, checked and defaulted.
import type { KeepalivedGroupSpec } from "../../../src/api/types.js";
import { anchorCidrProblem, DEFAULT_ANCHOR_IPV4_CIDR } from "./anchors.js";
import type { Findings } from "./diagnostics.js";
import { quote } from "./validate.js";

export interface VrrpSettings {
  version: 2 | 3;
  advertIntervalMs: number;
  /** The /24 the IPv4 anchors come from (see anchors.ts). */
  anchorIPv4Cidr: string;
  /** keepalived's VRRP process runs with real-time scheduling (the agent then needs CAP_SYS_NICE). */
  realtimeScheduling: boolean;
  preempt: boolean;
  preemptDelaySeconds: number;
  garpMasterDelaySeconds: number;
  garpMasterRepeat: number;
  garpMasterRefreshSeconds: number;
}

/**
 * Advert interval of each spec.vrrp.timing profile (VRRPv3). A backup takes over 3 adverts (plus a skew)
 * after the last advert it heard, so a hard failover costs 2-3 adverts plus the ARP update: measured p95
 * about 330, 165 and 95 ms (bench/failover.ts). Each profile makes no VRRP transition under
 * `stress-ng --cpu 16 --vm 2` on two CPUs, with real-time scheduling (bench/stress.ts).
 */
export const TIMING_ADVERT_MS = { Default: 100, Fast: 50, Fastest: 20 } as const;
export type TimingProfile = keyof typeof TIMING_ADVERT_MS;
/**
 * Sub-second adverts need keepalived's VRRP process to run with real-time scheduling: the agent gives it
 * SCHED_RR (agent/scheduling.ts), so the agent needs CAP_SYS_NICE; without it the agent warns and
 * keepalived runs as before. Under `stress-ng --cpu 16 --vm 2` on two CPUs an ordinary process woke up to
 * 120-185 ms late and 100 ms adverts made 20 transitions in 2 minutes; with SCHED_RR it woke within 0.2 ms
 * and even 20 ms adverts made none.
 */
export const REALTIME_BELOW_MS = 1000;
/** VRRPv2 (passwordAuth) sends adverts in whole seconds only. */
export const VRRP2_ADVERT_MS = 1000;

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
  const anchorIPv4Cidr = readAnchorCidr(asked.anchorIPv4CIDR, findings);
  const vrrp: VrrpSettings = {
    version,
    advertIntervalMs,
    anchorIPv4Cidr,
    realtimeScheduling: advertIntervalMs < REALTIME_BELOW_MS,
    preempt: asked.preempt ?? true,
    preemptDelaySeconds: int(asked.preemptDelaySeconds) ?? 0,
    garpMasterDelaySeconds: int(garp.masterDelaySeconds) ?? 1,
    garpMasterRepeat: int(garp.masterRepeat) ?? 3,
    garpMasterRefreshSeconds: int(garp.masterRefreshSeconds) ?? 0,
  };
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

/** spec.vrrp.anchorIPv4CIDR, or the default when it is absent or wrong (then with an error). */
function readAnchorCidr(asked: unknown, findings: Findings): string {
  if (asked === undefined) return DEFAULT_ANCHOR_IPV4_CIDR;
  const problem =
    typeof asked === "string" ? anchorCidrProblem(asked) : "is not a CIDR such as 169.254.240.0/24";
  if (problem === undefined && typeof asked === "string") return asked;
  findings.error(
    "spec.vrrp.anchorIPv4CIDR",
    "InvalidVrrp",
    `${quote(JSON.stringify(asked))} ${problem}; remove it to use ${DEFAULT_ANCHOR_IPV4_CIDR}.`,
  );
  return DEFAULT_ANCHOR_IPV4_CIDR;
}

/** The advert interval: the timing preset, or an explicit interval the VRRP version can send. */
function readAdvertInterval(spec: KeepalivedGroupSpec, version: 2 | 3, findings: Findings): number {
  const asked = spec.vrrp ?? {};
  const timing = asked.timing ?? "Default";
  const profileMs = Object.hasOwn(TIMING_ADVERT_MS, timing) ? TIMING_ADVERT_MS[timing] : undefined;
  if (profileMs === undefined) {
    findings.error(
      "spec.vrrp.timing",
      "InvalidVrrp",
      `${quote(timing)} is not a timing profile; use ${Object.keys(TIMING_ADVERT_MS).join(", ")}.`,
    );
  }
  // VRRPv2 cannot send sub-second adverts: its Default is 1 s, and the status says what that costs.
  let advertIntervalMs =
    version === 2 && timing === "Default" ? VRRP2_ADVERT_MS : (profileMs ?? VRRP2_ADVERT_MS);
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

/**
 * What a hard failover costs at these settings, for the group's status: the first backup waits 3 adverts
 * plus its skew after the last advert it heard; with the ARP update the outage is about 3 adverts.
 */
export function failoverEstimate(vrrp: VrrpSettings, passwordAuth: boolean): string {
  const ms = 3 * vrrp.advertIntervalMs;
  const about = ms >= 1000 ? `${Number((ms / 1000).toFixed(1))} s` : `${ms} ms`;
  const adverts = `VRRP adverts every ${vrrp.advertIntervalMs} ms`;
  if (vrrp.version === 3 || vrrp.advertIntervalMs < 1000) return `about ${about} (${adverts})`;
  const why = passwordAuth
    ? "spec.passwordAuth forces VRRP version 2, which sends adverts in whole seconds"
    : "VRRP version 2 sends adverts in whole seconds";
  return `about ${about} (${adverts}): ${why}; without it (VRRP version 3) failover takes about ${3 * TIMING_ADVERT_MS.Default} ms`;
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
