// keepalived settings written by people: the group's spec.verbatimConfig (global_defs lines, admin-owned) and
// the Service annotation `verbatimconfig`, a JSON object of extra vrrp_instance settings. Namespace users
// write the annotation, so only harmless keys with checked values pass; nothing can name a program or open a block.
import type { Findings } from "./diagnostics.js";
import { configKeyProblem, configValueProblem, quote } from "./validate.js";

/** global_defs keywords the operator owns, or that would make keepalived run programs. */
const RESERVED_GLOBAL_KEYS: Record<string, string> = {
  vrrp_version: "set spec.vrrp.version instead",
  enable_script_security: "the operator manages script security",
  script_user: "the operator manages script security",
};
const FORBIDDEN_GLOBAL_KEY_PARTS = ["script", "notify", "include", "checker", "lvs_", "bfd", "process_name"];

/** A group's spec.verbatimConfig as global_defs lines, sorted by key: one line each, no programs. */
export function readGlobalVerbatim(
  config: Record<string, string> | undefined,
  findings: Findings,
): [string, string][] {
  const lines: [string, string][] = [];
  for (const [key, value] of Object.entries(config ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const problem = globalVerbatimProblem(key, value);
    if (problem === undefined) lines.push([key, value]);
    else findings.error(`spec.verbatimConfig[${quote(key)}]`, "InvalidVerbatimConfig", problem);
  }
  return lines;
}

function globalVerbatimProblem(key: string, value: unknown): string | undefined {
  const kp = configKeyProblem(key);
  if (kp !== undefined) return `key ${quote(key)} ${kp}.`;
  const reserved = RESERVED_GLOBAL_KEYS[key];
  if (reserved !== undefined) return `${key} cannot be set here: ${reserved}.`;
  if (FORBIDDEN_GLOBAL_KEY_PARTS.some((part) => key.includes(part))) {
    return `${key} would make keepalived run a program or read another file; remove it.`;
  }
  const vp = typeof value === "string" ? configValueProblem(value) : "is not a string";
  if (vp !== undefined) {
    return `the value ${vp}; write the value on one line without braces, quotes or comment characters.`;
  }
  return undefined;
}

type Check = (value: string) => string | undefined;

const intIn =
  (min: number, max: number): Check =>
  (v) =>
    /^\d+$/.test(v) && Number(v) >= min && Number(v) <= max
      ? undefined
      : `must be a whole number from ${min} to ${max}`;

const flag: Check = (v) => (v === "" || v === "true" ? undefined : 'takes no value (write "" or "true")');

const seconds: Check = (v) =>
  /^\d{1,3}(\.\d{1,2})?$/.test(v) && Number(v) >= 0.01 && Number(v) <= 255
    ? undefined
    : "must be seconds from 0.01 to 255 with at most two decimals";

/** Allowed per-instance keywords and what their values must be. Documented in docs/reference.md. */
export const INSTANCE_VERBATIM_ALLOW_LIST: Readonly<Record<string, { check: Check; doc: string }>> = {
  advert_int: { check: seconds, doc: "advert interval in seconds (VRRPv2: whole seconds)" },
  preempt_delay: { check: intIn(0, 1000), doc: "seconds before a returning higher-priority node takes over" },
  nopreempt: { check: flag, doc: "never take the VIP back from a lower-priority MASTER" },
  garp_master_delay: { check: intIn(0, 255), doc: "delay of the second gratuitous ARP burst" },
  garp_master_repeat: { check: intIn(1, 255), doc: "gratuitous ARPs per burst" },
  garp_master_refresh: { check: intIn(0, 86400), doc: "repeat gratuitous ARPs this often while MASTER" },
  garp_master_refresh_repeat: { check: intIn(1, 255), doc: "gratuitous ARPs per refresh" },
  garp_lower_prio_delay: {
    check: intIn(0, 255),
    doc: "delay of gratuitous ARPs after a lower-priority advert",
  },
  garp_lower_prio_repeat: { check: intIn(0, 255), doc: "gratuitous ARPs after a lower-priority advert" },
  unicast_ttl: { check: intIn(1, 255), doc: "TTL of unicast adverts" },
  dont_track_primary: { check: flag, doc: "ignore faults of the instance's interface" },
  skip_check_adv_addr: { check: flag, doc: "do not compare the addresses in adverts" },
  accept: { check: flag, doc: "accept packets sent to the VIP in MASTER state" },
  no_accept: { check: flag, doc: "drop packets sent to the VIP (strict VRRP)" },
};

export interface VerbatimProblem {
  key?: string;
  message: string;
}

/** Parses the annotation; returns the accepted [key, value] pairs (sorted) and one problem per rejected key. */
export function parseInstanceVerbatim(text: string): {
  pairs: [string, string][];
  problems: VerbatimProblem[];
} {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return {
      pairs: [],
      problems: [{ message: 'is not valid JSON; write an object such as {"garp_master_refresh": "60"}' }],
    };
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return {
      pairs: [],
      problems: [{ message: 'must be a JSON object such as {"garp_master_refresh": "60"}' }],
    };
  }
  const pairs: [string, string][] = [];
  const problems: VerbatimProblem[] = [];
  const allowed = Object.keys(INSTANCE_VERBATIM_ALLOW_LIST).join(", ");
  for (const [key, raw] of Object.entries(parsed as Record<string, unknown>).sort(([a], [b]) =>
    a < b ? -1 : 1,
  )) {
    const rule = Object.hasOwn(INSTANCE_VERBATIM_ALLOW_LIST, key)
      ? INSTANCE_VERBATIM_ALLOW_LIST[key]
      : undefined;
    if (rule === undefined) {
      problems.push({
        key,
        message: `key ${JSON.stringify(key.slice(0, 64))} is not allowed; allowed keys: ${allowed}`,
      });
      continue;
    }
    const value =
      typeof raw === "string"
        ? raw
        : typeof raw === "number" || typeof raw === "boolean"
          ? String(raw)
          : undefined;
    const problem = value === undefined ? "must be a string or a number" : rule.check(value);
    if (problem !== undefined || value === undefined) {
      problems.push({ key, message: `${key} ${problem ?? "is invalid"}` });
      continue;
    }
    pairs.push([key, value]);
  }
  return { pairs, problems };
}
