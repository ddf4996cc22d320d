// The group's spec.verbatimConfig: extra global_defs lines, written by a cluster administrator.
//
// An allow-list, not a deny-list. keepalived 2.2.7 has about 150 global_defs keywords; many take a path or a
// program (startup_script, *notify_fifo*, reload_time_file, tmp_config_directory, config_save_dir, …), change
// the process (process_names, *_priority, *_rlimit_rttime, *_cpu_affinity, umask, instance), its namespaces or
// firewall (net_namespace, vrrp_iptables, vrrp_ipsets, nftables*, vrrp_strict), or talk to other services
// (smtp_*, snmp_*, enable_dbus). Any of them can make every agent refuse the config, or run something as root,
// while the group looks Ready; and new keepalived releases add more. So only the keywords below pass: they tune
// how VRRP itself behaves, and each value is checked against what keepalived takes without a complaint.
import type { Findings } from "./diagnostics.js";
import { configKeyProblem, quote } from "./validate.js";
import {
  flag,
  flagOrBool,
  intIn,
  oneOf,
  multicast,
  secondsIn,
  token,
  valueProblem,
  type Check,
} from "./verbatimValues.js";

/** Allowed global_defs keywords and what their values must be. */
export const GLOBAL_VERBATIM_ALLOW_LIST: Readonly<Record<string, Check>> = {
  router_id: token,
  vrrp_mcast_group4: multicast(4),
  vrrp_mcast_group6: multicast(6),
  vrrp_garp_master_delay: intIn(0, 255),
  vrrp_garp_master_repeat: intIn(1, 255),
  vrrp_garp_master_refresh: intIn(0, 86400),
  vrrp_garp_master_refresh_repeat: intIn(1, 255),
  vrrp_garp_lower_prio_delay: intIn(0, 255),
  vrrp_garp_lower_prio_repeat: intIn(0, 255),
  // keepalived logs a notice from 1 s on, and any line fails --config-test.
  vrrp_garp_interval: secondsIn(0.000001, 0.999999, 6),
  vrrp_gna_interval: secondsIn(0.000001, 0.999999, 6),
  vrrp_min_garp: flagOrBool,
  vrrp_down_timer_adverts: intIn(1, 100),
  vrrp_lower_prio_no_advert: flagOrBool,
  vrrp_higher_prio_send_advert: flagOrBool,
  vrrp_check_unicast_src: flag,
  vrrp_skip_check_adv_addr: flag,
  vrrp_startup_delay: secondsIn(0.001, 59.999, 3),
  log_unknown_vrids: flag,
  dynamic_interfaces: oneOf("", "allow_if_changes"),
  // -1 only: keepalived never raises itself to realtime priority (the agent has no CAP_SYS_NICE anyway).
  max_auto_priority: oneOf("-1"),
};

/** Refused keywords with a better hint than "not on the list". */
const REFUSED_WITH_REASON: Record<string, string> = {
  vrrp_version: "set spec.vrrp.version instead",
  enable_script_security: "the operator manages script security",
  script_user: "the operator manages script security",
  vrrp_strict:
    "it makes keepalived refuse unicast, VRRPv3 with IPv4 and several VIPs per instance, and adds firewall rules; the operator's configs rely on all three",
  vrrp_iptables: "the operator does not manage firewall rules; keepalived would add them on every node",
  vrrp_ipsets: "the operator does not manage firewall rules; keepalived would add them on every node",
  net_namespace: "the agent runs keepalived in the node's own network namespace, where the VIPs must be",
};

/** Parts of keywords that name a program, a file, a directory or a namespace: said so in the message. */
const FILE_OR_PROGRAM = [
  "script",
  "notify",
  "include",
  "_file",
  "_directory",
  "_dir",
  "_path",
  "fifo",
  "namespace",
];

/** Why a global_defs line cannot be written, or undefined when it can. */
export function globalVerbatimProblem(key: string, value: unknown): string | undefined {
  const kp = configKeyProblem(key);
  if (kp !== undefined) return `key ${quote(key)} ${kp}.`;
  const reason = REFUSED_WITH_REASON[key];
  if (reason !== undefined) return `${key} cannot be set here: ${reason}.`;
  const check = Object.hasOwn(GLOBAL_VERBATIM_ALLOW_LIST, key) ? GLOBAL_VERBATIM_ALLOW_LIST[key] : undefined;
  if (check === undefined) {
    const what = FILE_OR_PROGRAM.some((part) => key.includes(part))
      ? "would make keepalived run a program or read another file, or write one"
      : "is not one of the global_defs keywords the operator allows";
    return `${key} ${what}; remove it. Allowed: ${Object.keys(GLOBAL_VERBATIM_ALLOW_LIST).join(", ")}.`;
  }
  const vp = typeof value === "string" ? valueProblem(check, value) : "is not a string";
  return vp === undefined ? undefined : `the value of ${key} ${vp}.`;
}

/** A group's spec.verbatimConfig as global_defs lines, sorted by key; each refused key is an error. */
export function readGlobalVerbatim(
  config: Record<string, string> | undefined,
  findings: Findings,
): [string, string][] {
  const lines: [string, string][] = [];
  const refused: string[] = [];
  for (const [key, value] of Object.entries(config ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const problem = globalVerbatimProblem(key, value);
    if (problem === undefined) lines.push([key, value === "true" && flagLike(key) ? "" : value]);
    else if (refused.push(key) <= 5)
      findings.error(`spec.verbatimConfig[${quote(key)}]`, "InvalidVerbatimConfig", problem);
  }
  if (refused.length > 5) {
    findings.error(
      "spec.verbatimConfig",
      "InvalidVerbatimConfig",
      `${refused.length - 5} more keys are refused (${refused.slice(5, 10).map(quote).join(", ")}${refused.length > 10 ? ", …" : ""}).`,
    );
  }
  return lines;
}

/** Keywords that take no value: "true" is written as the bare keyword. */
function flagLike(key: string): boolean {
  return GLOBAL_VERBATIM_ALLOW_LIST[key] === flag;
}
