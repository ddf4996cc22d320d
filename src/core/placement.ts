// Which node should hold each VIP: rendezvous hashing with a load bound, sticky to the previous placement.
//
// The load bound: a node holds at most share + 1 VIPs, share = ceil(VIPs / nodes) (share + the item's
// weight - 1 for an item of several VIPs). What the bound guarantees when every node may hold every item:
// - Adding items never moves a placed one: the share only grows, so no node goes over the bound.
// - New items are placed oldest first (creation time, then key), each against the share of the items
//   placed so far. So a batch gives the same placement as the same items added one at a time in age
//   order, and the order in which they were seen does not matter.
// - Removing items moves only what a node over the bound must shed, down to the bound and no further.
// - Planning again from its own result moves nothing.
// Items that only some nodes may hold (local endpoints, unicast families) go over the bound when all of
// their nodes are full; the bound then counts only the items every node may hold, so nothing moves later.
import { sortSmall } from "./keys.js";

/**
 * cyrb53 (a fast, well-mixed 53-bit string hash, public domain) of `prefix + suffix` for many suffixes: the
 * prefix is read once. Deterministic across runs and platforms.
 */
export class PrefixHash {
  private readonly h1: number;
  private readonly h2: number;
  constructor(prefix: string, seed = 0) {
    let h1 = 0xdeadbeef ^ seed;
    let h2 = 0x41c6ce57 ^ seed;
    for (let i = 0; i < prefix.length; i++) {
      const ch = prefix.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
    this.h1 = h1;
    this.h2 = h2;
  }
  of(suffix: string): number {
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i = 0; i < suffix.length; i++) {
      const ch = suffix.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
    h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
    h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return 4294967296 * (2097151 & h2) + (h1 >>> 0);
  }
}

/** cyrb53 of `text`. */
export function hash53(text: string, seed = 0): number {
  return new PrefixHash(text, seed).of("");
}

export interface PlacementItem {
  /** Unique key of the item (a Service, or one VIP of it). */
  key: string;
  /** What the hash is taken of: items with equal hash keys prefer the same nodes. */
  hashKey: string;
  /** Number of VIPs the item carries. */
  weight: number;
  /** Nodes allowed to hold it; all nodes when absent. */
  eligible?: readonly string[];
  /** Node that held it in the previous plan. */
  previous?: string;
  /** Creation time (RFC 3339) of its oldest Service: new items are placed oldest first. */
  createdAt?: string;
  /** How many nodes of its ranking placeItems returns (the chosen one first); all when absent. */
  members?: number;
}

interface Scored {
  n: string;
  s: number;
}
/** Highest rendezvous score first, ties by name. */
const byScore = (a: Scored, b: Scored): number => b.s - a.s || (a.n < b.n ? -1 : 1);

function scores(hashKey: string, nodes: readonly string[]): Scored[] {
  const hash = new PrefixHash(`${hashKey}\u0000`);
  return nodes.map((n) => ({ n, s: hash.of(n) }));
}

/** The `limit` best of the scored nodes, best first: a partial selection, so a few of many cost one pass each. */
function best(scored: Scored[], limit: number): string[] {
  if (limit >= scored.length || limit > 8) {
    const sorted = sortSmall(scored, byScore);
    return (limit < sorted.length ? sorted.slice(0, limit) : sorted).map((x) => x.n);
  }
  if (limit === 1) {
    let top = scored[0] as Scored;
    for (const x of scored) if (byScore(x, top) < 0) top = x;
    return [top.n];
  }
  const out: string[] = [];
  const rest = [...scored];
  while (out.length < limit) {
    let top = 0;
    for (let i = 1; i < rest.length; i++) if (byScore(rest[i] as Scored, rest[top] as Scored) < 0) top = i;
    out.push((rest[top] as Scored).n);
    rest[top] = rest[rest.length - 1] as Scored;
    rest.pop();
  }
  return out;
}

/** Nodes ranked for a key, best first: highest rendezvous score, ties by name; the first `limit` of them. */
export function rankNodes(hashKey: string, nodes: readonly string[], limit = Infinity): string[] {
  return best(scores(hashKey, nodes), limit);
}

/** Oldest first, ties by key: the order new items are placed in. */
function byAge(a: PlacementItem, b: PlacementItem): number {
  const [x, y] = [a.createdAt ?? "", b.createdAt ?? ""];
  if (x !== y) return x < y ? -1 : 1;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** VIPs per node as items are placed. */
class NodeLoads {
  private readonly load: Map<string, number>;
  constructor(readonly nodes: readonly string[]) {
    this.load = new Map(nodes.map((n) => [n, 0]));
  }
  of(node: string): number {
    return this.load.get(node) ?? 0;
  }
  add(node: string, weight: number): void {
    this.load.set(node, this.of(node) + weight);
  }
  /** ceil(total / nodes): an even share of `total` VIPs. */
  share(total: number): number {
    return this.nodes.length === 0 ? 0 : Math.ceil(total / this.nodes.length);
  }
}

/**
 * Places every item on one node. Returns, per item key, the eligible nodes in preference order with the
 * chosen node first (its first `members` of them); items with no eligible node get an empty list.
 */
export function placeItems(items: readonly PlacementItem[], nodes: readonly string[]): Map<string, string[]> {
  const nodeSet = new Set(nodes);
  const all = [...nodes].sort();
  const eligibility = new Map<PlacementItem, string[]>();
  for (const item of items)
    eligibility.set(
      item,
      item.eligible === undefined ? all : item.eligible.filter((n) => nodeSet.has(n)).sort(),
    );
  const eligibleOf = (item: PlacementItem): string[] => eligibility.get(item) ?? [];
  const placeable = items.filter((it) => eligibleOf(it).length > 0);
  const loads = new NodeLoads(nodes);
  const total = placeable.reduce((sum, it) => sum + it.weight, 0);
  const chosen = keepPrevious(placeable, loads, loads.share(total), eligibleOf);

  // New (and shed) items, oldest first, each against the share of what is placed once it is: the
  // best-ranked node with room, else the least loaded one.
  let placed = 0;
  for (const c of chosen.values()) placed += c.weight;
  for (const item of placeable.filter((it) => !chosen.has(it.key)).sort(byAge)) {
    placed += item.weight;
    const pick = pickNode(item, eligibleOf(item), loads, loads.share(placed));
    loads.add(pick, item.weight);
    chosen.set(item.key, { node: pick, weight: item.weight });
  }

  const result = new Map<string, string[]>();
  for (const item of items) {
    const pick = chosen.get(item.key)?.node;
    if (pick === undefined) {
      result.set(item.key, []);
      continue;
    }
    const members = item.members ?? Infinity;
    const ranking = members <= 1 ? [] : rankNodes(item.hashKey, eligibleOf(item), members);
    result.set(item.key, [pick, ...ranking.filter((n) => n !== pick)].slice(0, members));
  }
  return result;
}

/**
 * The best-ranked eligible node with room under `share`, else the least loaded (the best-ranked of those):
 * what the first fitting node of the ranking would be, found in one pass without ranking every node.
 */
function pickNode(item: PlacementItem, eligible: readonly string[], loads: NodeLoads, share: number): string {
  let fitting: Scored | undefined;
  let lightest: Scored | undefined;
  for (const x of scores(item.hashKey, eligible)) {
    const load = loads.of(x.n);
    if (load + item.weight <= share && (fitting === undefined || byScore(x, fitting) < 0)) fitting = x;
    if (lightest === undefined) lightest = x;
    else {
      const other = loads.of(lightest.n);
      if (load < other || (load === other && byScore(x, lightest) < 0)) lightest = x;
    }
  }
  // Callers pass items with at least one eligible node, so one of the two is set.
  return (fitting ?? lightest)?.n ?? "";
}

/**
 * Keeps items on their previous node. Items only some nodes may hold always stay; of the others, a node
 * over the bound (share + its heaviest such item) keeps its most preferred while it holds at most share of
 * them before each, and sheds the rest. Counting only these is what keeps a second plan from moving
 * anything: a node that took restricted items above its share sheds nothing for them.
 */
function keepPrevious(
  items: readonly PlacementItem[],
  loads: NodeLoads,
  share: number,
  eligibleOf: (item: PlacementItem) => string[],
): Map<string, { node: string; weight: number }> {
  const chosen = new Map<string, { node: string; weight: number }>();
  const kept = new Map<string, PlacementItem[]>();
  for (const item of items) {
    const eligible = eligibleOf(item);
    if (item.previous === undefined || !eligible.includes(item.previous)) continue;
    if (eligible.length < loads.nodes.length) {
      loads.add(item.previous, item.weight);
      chosen.set(item.key, { node: item.previous, weight: item.weight });
    } else {
      const list = kept.get(item.previous);
      if (list === undefined) kept.set(item.previous, [item]);
      else list.push(item);
    }
  }
  for (const [node, list] of [...kept.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const ordered = list
      .map((it) => ({ it, s: new PrefixHash(`${it.hashKey}\u0000`).of(node) }))
      .sort((a, b) => b.s - a.s || (a.it.key < b.it.key ? -1 : 1))
      .map((x) => x.it);
    let sum = 0;
    let heaviest = -Infinity;
    for (const it of ordered) {
      sum += it.weight;
      heaviest = Math.max(heaviest, it.weight);
    }
    let free = 0;
    for (const it of ordered) {
      if (sum > share + heaviest && free > share) continue;
      free += it.weight;
      loads.add(node, it.weight);
      chosen.set(it.key, { node, weight: it.weight });
    }
  }
  return chosen;
}
