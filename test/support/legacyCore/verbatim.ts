// The Service annotation `verbatimconfig`: a JSON object of extra vrrp_instance settings. Namespace users write
// it, so only the keys of an allow-list pass, each value checked by type and range (verbatimValues.ts), and
// pairs keepalived refuses together are refused here. A refused key is dropped; the Service keeps its other
// settings and its VIPs. However many keys are refused, the Service gets ONE diagnostic that sums them up.
import type { GroupModel } from "./group.js";
import { flag, intIn, secondsIn, valueProblem, type Check } from "./verbatimValues.js";

export { readGlobalVerbatim, GLOBAL_VERBATIM_ALLOW_LIST } from "./globalVerbatim.js";

/** Allowed per-instance keywords and what their values must be. Documented in the README. */
export const INSTANCE_VERBATIM_ALLOW_LIST: Readonly<Record<string, { check: Check; doc: string }>> = {
  // VRRPv2 takes whole seconds 1-255, VRRPv3 0.01-40.95: narrowed to the group's version in groupSettingProblem.
  advert_int: { check: secondsIn(0.01, 255, 2), doc: "advert interval in seconds (VRRPv2: whole seconds)" },
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

/** A key as messages show it: quoted, at most 64 characters. */
function keyText(key: string): string {
  return JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key);
}

function valueOf(raw: unknown): string | undefined {
  if (typeof raw === "string") return raw;
  if (typeof raw === "number" && Number.isFinite(raw)) return String(raw);
  if (typeof raw === "boolean") return String(raw);
  return undefined;
}

/** Each allowed key with a valid value, sorted; each other key with why it is refused. */
function checkEach(entries: [string, unknown][]): { pairs: [string, string][]; problems: VerbatimProblem[] } {
  const pairs: [string, string][] = [];
  const problems: VerbatimProblem[] = [];
  for (const [key, raw] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const rule = Object.hasOwn(INSTANCE_VERBATIM_ALLOW_LIST, key)
      ? INSTANCE_VERBATIM_ALLOW_LIST[key]
      : undefined;
    if (rule === undefined) {
      problems.push({ key, message: `${keyText(key)} is not allowed` });
      continue;
    }
    const value = valueOf(raw);
    const problem = value === undefined ? "must be a string or a number" : valueProblem(rule.check, value);
    if (problem !== undefined || value === undefined)
      problems.push({ key, message: `${key} ${problem ?? ""}` });
    else pairs.push([key, value]);
  }
  return { pairs, problems };
}

/** Pairs keepalived refuses together (or that contradict each other): which key goes, and why. */
function conflicts(pairs: readonly [string, string][]): VerbatimProblem[] {
  const has = (k: string): boolean => pairs.some(([key]) => key === k);
  const out: VerbatimProblem[] = [];
  if (has("nopreempt") && has("preempt_delay")) {
    out.push({
      key: "preempt_delay",
      message:
        "preempt_delay is refused because nopreempt is set too (keepalived takes only one of them); nopreempt is kept",
    });
  }
  if (has("accept") && has("no_accept")) {
    for (const key of ["accept", "no_accept"])
      out.push({ key, message: `${key} is refused because accept and no_accept contradict each other` });
  }
  return out;
}

/** Parses the annotation; returns the accepted [key, value] pairs (sorted) and one problem per refused key. */
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
  const { pairs, problems } = checkEach(Object.entries(parsed as Record<string, unknown>));
  const refused = conflicts(pairs);
  return {
    pairs: pairs.filter(([key]) => !refused.some((r) => r.key === key)),
    problems: [...problems, ...refused],
  };
}

/** Why the group cannot take a setting that parseInstanceVerbatim accepted, or undefined when it can. */
export function groupSettingProblem(key: string, value: string, model: GroupModel): string | undefined {
  if (key === "unicast_ttl" && !model.unicast)
    return `unicast_ttl needs spec.unicastEnabled on group ${model.key}`;
  if (key === "advert_int" && model.vrrp.version === 2 && !/^[0-9]+$/.test(value)) {
    return `group ${model.key} uses VRRP version 2, which takes whole seconds for advert_int`;
  }
  if (key === "advert_int" && model.vrrp.version === 3 && Number(value) > 40.95) {
    return `group ${model.key} uses VRRP version 3, whose advert_int is at most 40.95 seconds`;
  }
  if (key === "preempt_delay" && !model.vrrp.preempt) {
    return `group ${model.key} sets spec.vrrp.preempt to false (nopreempt), which keepalived does not take with preempt_delay`;
  }
  return undefined;
}

/**
 * One message for every refused key of a Service: a single problem as it is, many summed up with their count,
 * the first few keys and reasons, so thousands of bogus keys make one line, not thousands.
 */
export function summarizeVerbatimProblems(problems: readonly VerbatimProblem[]): string | undefined {
  const first = problems[0];
  if (first === undefined) return undefined;
  if (problems.length === 1) return first.message;
  const keys = problems.flatMap((p) => (p.key === undefined ? [] : [keyText(p.key)]));
  const shown = keys.slice(0, 10).join(", ") + (keys.length > 10 ? ", …" : "");
  const reasons = problems.slice(0, 3).map((p) => p.message);
  const more = problems.length > 3 ? `; and ${problems.length - 3} more` : "";
  return `${problems.length} keys refused (${shown}): ${reasons.join("; ")}${more}`;
}

/** The allowed keys, for messages. */
export function allowedInstanceKeys(): string {
  return Object.keys(INSTANCE_VERBATIM_ALLOW_LIST).join(", ");
}
