// The Service annotation `verbatimconfig`: a JSON object of extra vrrp_instance settings. Namespace users
// write it, so only harmless keys with checked values pass; nothing can name a program or open a block.

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
