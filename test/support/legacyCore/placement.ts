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

/** cyrb53: a fast, well-mixed 53-bit string hash (public domain). Deterministic across runs and platforms. */
export function hash53(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
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
}

/** Nodes ranked for a key, best first: highest rendezvous score, ties by name. */
export function rankNodes(hashKey: string, nodes: readonly string[]): string[] {
  return nodes
    .map((n) => ({ n, s: hash53(`${hashKey}\u0000${n}`) }))
    .sort((a, b) => b.s - a.s || (a.n < b.n ? -1 : 1))
    .map((x) => x.n);
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
 * chosen node first; items with no eligible node get an empty list.
 */
export function placeItems(items: readonly PlacementItem[], nodes: readonly string[]): Map<string, string[]> {
  const nodeSet = new Set(nodes);
  const eligibleOf = (item: PlacementItem): string[] =>
    (item.eligible ?? nodes).filter((n) => nodeSet.has(n)).sort();
  const placeable = items.filter((it) => eligibleOf(it).length > 0);
  const loads = new NodeLoads(nodes);
  const total = placeable.reduce((sum, it) => sum + it.weight, 0);
  const chosen = keepPrevious(placeable, loads, loads.share(total), eligibleOf);

  // New (and shed) items, oldest first, each against the share of what is placed once it is: the
  // best-ranked node with room, else the least loaded one.
  let placed = [...chosen.values()].reduce((sum, c) => sum + c.weight, 0);
  for (const item of placeable.filter((it) => !chosen.has(it.key)).sort(byAge)) {
    placed += item.weight;
    const share = loads.share(placed);
    const ranking = rankNodes(item.hashKey, eligibleOf(item));
    const pick =
      ranking.find((n) => loads.of(n) + item.weight <= share) ??
      ranking.reduce((best, n) => (loads.of(n) < loads.of(best) ? n : best));
    loads.add(pick, item.weight);
    chosen.set(item.key, { node: pick, weight: item.weight });
  }

  const result = new Map<string, string[]>();
  for (const item of items) {
    const pick = chosen.get(item.key)?.node;
    const ranking = rankNodes(item.hashKey, eligibleOf(item));
    result.set(item.key, pick === undefined ? [] : [pick, ...ranking.filter((n) => n !== pick)]);
  }
  return result;
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
    } else kept.set(item.previous, [...(kept.get(item.previous) ?? []), item]);
  }
  for (const [node, list] of [...kept.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const score = (it: PlacementItem): number => hash53(`${it.hashKey}\u0000${node}`);
    const ordered = [...list].sort((a, b) => score(b) - score(a) || (a.key < b.key ? -1 : 1));
    const sum = ordered.reduce((s, it) => s + it.weight, 0);
    const heaviest = Math.max(...ordered.map((it) => it.weight));
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
