// The shape of a keepalived.conf the renderer may write: a small grammar of its blocks and lines. A line
// outside it means that some input opened a directive, a block or a comment of its own.
import { isIP } from "node:net";

export interface Vocabulary {
  /** global_defs keywords the input asked for legitimately (the group's verbatimConfig keys). */
  globalKeys: ReadonlySet<string>;
  /** vrrp_instance keywords the input asked for legitimately (the Services' verbatimconfig keys). */
  instanceKeys: ReadonlySet<string>;
}

type Block =
  | "top"
  | "global_defs"
  | "vrrp_script"
  | "vrrp_instance"
  | "addresses"
  | "unicast_peer"
  | "authentication"
  | "track_script";

/** keepalived reads at most this many characters of a line and starts a new line with the rest. */
export const MAX_LINE = 1023;
const INDENT = "    ";
/** Characters keepalived treats as syntax: inside a value they would open or close something. */
// eslint-disable-next-line no-control-regex
const SYNTAX = /[{}"'#!\\]|[\x00-\x08\x0a-\x1f\x7f]/;
const NUMBER = /^\d+$/;
const NAME = /^[A-Za-z0-9_.-]+$/;
const INSTANCE_NAME = /^(node_[a-z0-9.-]+|service_[a-z0-9-]+_[a-z0-9-]+)_ipv[46]$/;
const plainValue = (v: string): boolean => !SYNTAX.test(v);
const ip = (v: string): boolean => isIP(v) !== 0;
const ipWithPrefix = (v: string): boolean => {
  const [addr = "", prefix, extra] = v.split("/");
  return extra === undefined && prefix !== undefined && /^\d{1,3}$/.test(prefix) && ip(addr);
};
/** An instance's anchor (core/anchors.ts): one link-local host address, IPv4 with `scope link`. */
const anchor = (v: string): boolean =>
  /^169\.254\.\d{1,3}\.\d{1,3}\/32 scope link$/.test(v) || /^fe80::70:[0-9a-f]{1,2}\/128$/.test(v);

/** Opening lines allowed in each block: keyword, check of the rest of the line, block it opens. */
const OPENERS: Partial<Record<Block, Record<string, [(rest: string) => boolean, Block]>>> = {
  top: {
    global_defs: [(r) => r === "", "global_defs"],
    vrrp_script: [(r) => NAME.test(r), "vrrp_script"],
    vrrp_instance: [(r) => INSTANCE_NAME.test(r), "vrrp_instance"],
  },
  vrrp_instance: {
    unicast_peer: [(r) => r === "", "unicast_peer"],
    authentication: [(r) => r === "", "authentication"],
    virtual_ipaddress: [(r) => r === "", "addresses"],
    virtual_ipaddress_excluded: [(r) => r === "", "addresses"],
    track_script: [(r) => r === "", "track_script"],
  },
};

const flag = (r: string): boolean => r === "";
const HEALTH_SCRIPT =
  /^"\/usr\/bin\/curl --fail --silent --max-time 1 --output \/dev\/null http:\/\/127\.0\.0\.1:\d{1,5}\/healthz"$/;

/** Plain lines the renderer writes in each block: keyword → check of the rest of the line. */
const LINES: Partial<Record<Block, Record<string, (rest: string) => boolean>>> = {
  global_defs: {
    router_id: (r) => NAME.test(r),
    vrrp_version: (r) => r === "2" || r === "3",
    enable_script_security: flag,
    script_user: (r) => r === "root",
  },
  vrrp_script: {
    script: (r) => HEALTH_SCRIPT.test(r),
    interval: (r) => NUMBER.test(r),
    timeout: (r) => NUMBER.test(r),
    rise: (r) => NUMBER.test(r),
    fall: (r) => NUMBER.test(r),
  },
  vrrp_instance: {
    state: (r) => r === "MASTER" || r === "BACKUP",
    interface: (r) => /^[A-Za-z0-9_.:@-]{1,15}$/.test(r),
    native_ipv6: flag,
    virtual_router_id: (r) => NUMBER.test(r),
    priority: (r) => NUMBER.test(r),
    advert_int: (r) => /^\d+(\.\d+)?$/.test(r),
    nopreempt: flag,
    preempt_delay: (r) => NUMBER.test(r),
    garp_master_delay: (r) => NUMBER.test(r),
    garp_master_repeat: (r) => NUMBER.test(r),
    garp_master_refresh: (r) => NUMBER.test(r),
    unicast_src_ip: ip,
  },
  authentication: {
    auth_type: (r) => r === "PASS",
    auth_pass: (r) => /^\S{1,8}$/.test(r) && plainValue(r),
  },
};

/** Every line of `conf` that the grammar does not allow, with its number and why. */
export function configShapeProblems(conf: string, vocabulary: Vocabulary): string[] {
  const problems: string[] = [];
  const stack: Block[] = ["top"];
  const lines = conf.split("\n");
  if (lines.at(-1) === "") lines.pop();
  lines.forEach((line, i) => {
    const at = `line ${i + 1} ${JSON.stringify(line.length > 120 ? `${line.slice(0, 120)}…` : line)}`;
    const block = stack.at(-1) ?? "top";
    if (line.length > MAX_LINE)
      problems.push(`${at}: longer than ${MAX_LINE} characters, keepalived splits it`);
    if (line.trim() === "") {
      if (block !== "top") problems.push(`${at}: blank line inside ${block}`);
      return;
    }
    if (line === "}".padStart(4 * (stack.length - 2) + 1)) {
      if (stack.length === 1) problems.push(`${at}: closes a block that is not open`);
      else stack.pop();
      return;
    }
    const indent = INDENT.repeat(stack.length - 1);
    if (!line.startsWith(indent) || line[indent.length] === " ") {
      problems.push(`${at}: indented as if inside another block than ${block}`);
      return;
    }
    const text = line.slice(indent.length);
    if (block === "top" && text.startsWith("#")) return;
    if (block === "addresses" || block === "unicast_peer" || block === "track_script") {
      const ok =
        block === "addresses"
          ? ipWithPrefix(text) || anchor(text)
          : block === "unicast_peer"
            ? ip(text)
            : NAME.test(text);
      if (!ok) problems.push(`${at}: not an entry of ${block}`);
      return;
    }
    const opener = text.endsWith(" {") ? text.slice(0, -2) : undefined;
    const [keyword = "", ...restWords] = (opener ?? text).split(" ");
    const rest = restWords.join(" ");
    if (opener !== undefined) {
      const rule = OPENERS[block]?.[keyword];
      if (rule === undefined || !rule[0](rest))
        problems.push(`${at}: opens a block the renderer never opens in ${block}`);
      else stack.push(rule[1]);
      return;
    }
    const check = LINES[block]?.[keyword];
    if (check !== undefined) {
      if (!check(rest)) problems.push(`${at}: ${keyword} with a value the renderer never writes`);
      return;
    }
    const legit =
      (block === "global_defs" && vocabulary.globalKeys.has(keyword)) ||
      (block === "vrrp_instance" && vocabulary.instanceKeys.has(keyword));
    if (!legit)
      problems.push(`${at}: keyword ${JSON.stringify(keyword)} that no input asked for, in ${block}`);
    else if (!plainValue(rest)) problems.push(`${at}: value of ${keyword} holds keepalived syntax`);
  });
  if (stack.length !== 1)
    problems.push(`end of file: ${stack.length - 1} block(s) left open (${stack.slice(1).join(", ")})`);
  return problems;
}

const KEYWORD = /^[a-z][a-z0-9_]*$/;

/** The keywords a group and its Services ask for legitimately: verbatimConfig keys and verbatimconfig keys. */
export function vocabularyOf(groupSpecs: unknown[], annotations: unknown[]): Vocabulary {
  const keysOf = (v: unknown): string[] =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? Object.keys(v).filter((k) => KEYWORD.test(k))
      : [];
  const globalKeys = new Set<string>();
  for (const spec of groupSpecs) {
    if (typeof spec === "object" && spec !== null)
      for (const k of keysOf((spec as { verbatimConfig?: unknown }).verbatimConfig)) globalKeys.add(k);
  }
  const instanceKeys = new Set<string>();
  for (const text of annotations) {
    if (typeof text !== "string") continue;
    try {
      for (const k of keysOf(JSON.parse(text))) instanceKeys.add(k);
    } catch {
      // not JSON: it asks for nothing
    }
  }
  return { globalKeys, instanceKeys };
}

/** The VIPs a config announces: the entries of its virtual_ipaddress blocks, without prefix. */
export function renderedVips(conf: string): string[] {
  const out: string[] = [];
  let inside = false;
  for (const line of conf.split("\n")) {
    const t = line.trim();
    if (t === "virtual_ipaddress {" || t === "virtual_ipaddress_excluded {") inside = true;
    else if (t === "}") inside = false;
    else if (inside) out.push(t.split("/")[0] ?? "");
  }
  return out;
}
