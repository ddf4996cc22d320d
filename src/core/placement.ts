// Which node should hold each VIP: rendezvous hashing with a load bound, sticky to the previous placement.
// The load bound keeps nodes within one VIP of an even share; stickiness means adding or removing one
// Service never moves another one's VIPs unless a node is over its share.

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
}

/** Nodes ranked for a key, best first: highest rendezvous score, ties by name. */
export function rankNodes(hashKey: string, nodes: readonly string[]): string[] {
  return nodes
    .map((n) => ({ n, s: hash53(`${hashKey}\u0000${n}`) }))
    .sort((a, b) => b.s - a.s || (a.n < b.n ? -1 : 1))
    .map((x) => x.n);
}

/**
 * Places every item on one node. Returns, per item key, the eligible nodes in preference order with the
 * chosen node first; items with no eligible node get an empty list.
 */
export function placeItems(items: readonly PlacementItem[], nodes: readonly string[]): Map<string, string[]> {
  const result = new Map<string, string[]>();
  const nodeSet = new Set(nodes);
  const load = new Map<string, number>(nodes.map((n) => [n, 0]));
  const eligibleOf = (item: PlacementItem): string[] =>
    (item.eligible ?? nodes).filter((n) => nodeSet.has(n)).sort();
  const total = items.reduce((sum, it) => sum + (eligibleOf(it).length > 0 ? it.weight : 0), 0);
  const share = nodes.length === 0 ? 0 : Math.ceil(total / nodes.length);
  const chosen = new Map<string, string>();

  // 1. Keep items where they were; a node above its share (plus one of slack) sheds its least-preferred items.
  const kept = new Map<string, PlacementItem[]>();
  for (const item of items) {
    if (item.previous !== undefined && eligibleOf(item).includes(item.previous)) {
      kept.set(item.previous, [...(kept.get(item.previous) ?? []), item]);
    }
  }
  for (const [node, list] of [...kept.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const score = (it: PlacementItem): number => hash53(`${it.hashKey}\u0000${node}`);
    const ordered = [...list].sort((a, b) => score(b) - score(a) || (a.key < b.key ? -1 : 1));
    const sum = ordered.reduce((s, it) => s + it.weight, 0);
    let limit = sum > share + 1 ? share : Infinity;
    for (const it of ordered) {
      if ((load.get(node) ?? 0) + it.weight > limit) {
        limit = share;
        continue;
      }
      load.set(node, (load.get(node) ?? 0) + it.weight);
      chosen.set(it.key, node);
    }
  }

  // 2. Place the rest in a fixed pseudo-random order: best-ranked node under its share, else least loaded.
  const rest = items
    .filter((it) => !chosen.has(it.key))
    .sort((a, b) => hash53(a.key) - hash53(b.key) || (a.key < b.key ? -1 : 1));
  for (const item of rest) {
    const ranking = rankNodes(item.hashKey, eligibleOf(item));
    if (ranking.length === 0) continue;
    const under = ranking.find((n) => (load.get(n) ?? 0) + item.weight <= share);
    const pick =
      under ??
      ranking.reduce((best, n) => ((load.get(n) ?? 0) < (load.get(best) ?? 0) ? n : best), ranking[0] ?? "");
    load.set(pick, (load.get(pick) ?? 0) + item.weight);
    chosen.set(item.key, pick);
  }

  for (const item of items) {
    const pick = chosen.get(item.key);
    const ranking = rankNodes(item.hashKey, eligibleOf(item));
    result.set(item.key, pick === undefined ? [] : [pick, ...ranking.filter((n) => n !== pick)]);
  }
  return result;
}
