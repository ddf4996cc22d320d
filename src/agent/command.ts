// Where the agent's network-touching commands run: the agent's own network namespace (no prefix), or, for
// the local lab, another one through `ip netns exec <name>`. The one seam for --netns.

/** Argv words put before every network-touching command (keepalived, its config test, `ip`). */
export type CommandPrefix = readonly string[];

export const NO_PREFIX: CommandPrefix = [];

export function netnsPrefix(name: string): CommandPrefix {
  return ["ip", "netns", "exec", name];
}

/** `file args…` behind the prefix, as the file and arguments to give execFile/spawn. Pure. */
export function prefixed(prefix: CommandPrefix, file: string, args: readonly string[]): [string, string[]] {
  const [first, ...rest] = prefix;
  return first === undefined ? [file, [...args]] : [first, [...rest, file, ...args]];
}

/** The network namespace the prefix runs commands in, as a path whose inode names it (/proc/<pid>/ns/net). */
export function netnsPathOf(prefix: CommandPrefix): string {
  const [ip, netns, exec, name] = prefix;
  return ip === "ip" && netns === "netns" && exec === "exec" && name !== undefined
    ? `/run/netns/${name}`
    : "/proc/self/ns/net";
}
