// GroupPlan → one ConfigMap per (group, node) holding that node's share of the plan: what the node's agent
// downloads. A share is the group-level fields, the instances the node runs (instancesForNode) and the
// addresses of their members, so it grows with the node's own instances, not with the cluster. Pure.
import { gunzipSync, gzipSync } from "node:zlib";
import type { ConfigMapObject, Manifest } from "../api/kube.js";
import {
  APPLIED_HASH_ANNOTATION,
  NODE_LABEL,
  PLAN_GZIP_KEY,
  PLAN_KEY,
  labelValue,
  nodePlanName,
} from "../api/names.js";
import type { PlanInstanceV1, PlanV1 } from "../api/plan.js";
import { dictionaryOf } from "../core/dictionary.js";
import type { GroupPlan } from "../core/plan.js";
import { instancesForNode } from "./membership.js";
import { ownedMetadata, hashOf, type GroupIdentity } from "./objects.js";
import { compactJson, placementOfPlan, planV1 } from "./planCodec.js";

/** Largest object the controller writes (etcd takes 1.5 MiB; agents download it at every change of it). */
export const NODE_PLAN_LIMIT = 256 * 1024;
/** Room left for metadata and managedFields: the plan's data must fit in the rest. */
const METADATA_ROOM = 8 * 1024;
/** The most a share may take in the object, plain or gzipped. */
const DATA_LIMIT = NODE_PLAN_LIMIT - METADATA_ROOM;
/**
 * Plain text up to this size stays readable (`kubectl get cm -o yaml`, about 200 VIPs); larger shares are
 * gzipped. Every change of a Service rewrites the shares of its instance's members, and the API server,
 * etcd and every watcher handle each whole object: at 10,000 Services a share of 38 KiB gzips to 7 KiB, and
 * a Service apply reached its node plan in 148 ms (p50; p95 215) instead of 175 (p95 263) on two cores.
 */
export const PLAIN_PLAN_LIMIT = 16 * 1024;

/** Node `node`'s share of a group's wire plan: what its agent needs to render its keepalived.conf. */
export function nodeShare(plan: PlanV1, node: string): PlanV1 {
  const instances = instancesForNode(plan, node);
  const members = new Set([node, ...instances.flatMap((i) => i.priorities.map((p) => p.node))]);
  const vips = new Set(instances.flatMap((i) => i.vips));
  return {
    apiVersion: plan.apiVersion,
    group: plan.group,
    nodes: plan.nodes.filter((n) => members.has(n.name)),
    instances,
    placement: Object.fromEntries(
      Object.entries(plan.placement).filter(([vip, holder]) => holder === node || vips.has(vip)),
    ),
  };
}

/** A share too large to store even gzipped: the group is not Ready while one exists. */
export interface UnwritableShare {
  node: string;
  /** Bytes of the gzipped share as stored (base64). */
  bytes: number;
}

/** One node's plan object, built only when it must be written (building may gzip). */
export interface NodePlanEntry {
  node: string;
  name: string;
  /** The content hash, as the object's APPLIED_HASH_ANNOTATION holds it. */
  hash: string;
  /** The share's placement: what the controller reads back as the previous placement. */
  placement: Record<string, string>;
  /** The ConfigMap, or the size in bytes of a share that does not fit even gzipped. */
  manifest(): Manifest | number;
}

export interface NodePlans {
  /** One ConfigMap per node that fits, sorted by node. */
  manifests: { node: string; manifest: Manifest }[];
  unwritable: UnwritableShare[];
}

/** The data of a share: plain JSON while small, else gzipped into binaryData, else (too big) its gzipped size. */
function shareData(
  text: string,
): { data: Record<string, string> } | { binaryData: Record<string, string> } | number {
  if (Buffer.byteLength(text, "utf8") <= PLAIN_PLAN_LIMIT) return { data: { [PLAN_KEY]: text } };
  // Deterministic: Node's gzip writes no file name and a zero mtime, so the same text gives the same bytes.
  const packed = gzipSync(text, { level: 6 }).toString("base64");
  return packed.length <= DATA_LIMIT ? { binaryData: { [PLAN_GZIP_KEY]: packed } } : packed.length;
}

/**
 * Every node's plan object of a valid group, sorted by node, owned by the group (garbage-collected with it).
 * Each instance is turned into text once, however many shares hold it; the text of a share is exactly
 * compactPlan(nodeShare(...)), assembled from those parts (keys in sorted order).
 */
export function nodePlanEntries(plan: GroupPlan, owner: GroupIdentity): NodePlanEntry[] {
  const wire = planV1(plan);
  const g = plan.group;
  const head = `{"apiVersion":${JSON.stringify(wire.apiVersion)},"group":${compactJson(wire.group)},"instances":[`;
  const texts = new Map<PlanInstanceV1, string>();
  const instanceText = (i: PlanInstanceV1): string => {
    let t = texts.get(i);
    if (t === undefined) texts.set(i, (t = compactJson(i)));
    return t;
  };
  // The placement sorted once, each entry's text made once: a share's placement is a filter of it.
  const placed = Object.entries(wire.placement)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([vip, holder]) => ({ vip, holder, text: `${JSON.stringify(vip)}:${JSON.stringify(holder)}` }));
  return [...plan.nodes.map((n) => n.name)].sort().map((node) => {
    const instances = instancesForNode(wire, node);
    const members = new Set([node, ...instances.flatMap((i) => i.priorities.map((p) => p.node))]);
    const vips = new Set(instances.flatMap((i) => i.vips));
    const mine = placed.filter((p) => p.holder === node || vips.has(p.vip));
    const nodes = wire.nodes.filter((n) => members.has(n.name));
    const text =
      `${head}${instances.map(instanceText).join(",")}],"nodes":${compactJson(nodes)},` +
      `"placement":{${mine.map((p) => p.text).join(",")}}}\n`;
    const meta = ownedMetadata(plan, owner);
    meta.name = nodePlanName(g.name, node);
    meta.labels = { ...meta.labels, [NODE_LABEL]: labelValue(node) };
    // The hash of the content only: an unchanged share is never written (nor gzipped) again.
    const hash = hashOf({ meta, text });
    meta.annotations = { [APPLIED_HASH_ANNOTATION]: hash };
    const placement = dictionaryOf(mine.map((p) => [p.vip, p.holder] as const));
    return { node, name: meta.name, hash, placement, manifest: shareManifest(text, meta) };
  });
}

/**
 * A share's ConfigMap, built when it must be written. Made here, not inside nodePlanEntries: a closure made
 * there would keep that call's whole scope (the group's wire plan, every instance's text, the placement's
 * texts) alive as long as the controller's memo keeps the entry, several MiB at 10,000 Services.
 */
function shareManifest(text: string, meta: Manifest["metadata"]): () => Manifest | number {
  return () => {
    const content = shareData(text);
    return typeof content === "number"
      ? content
      : { apiVersion: "v1", kind: "ConfigMap", metadata: meta, ...content };
  };
}

/** Every node's plan ConfigMap of a valid group, built. */
export function desiredNodePlans(plan: GroupPlan, owner: GroupIdentity): NodePlans {
  const out: NodePlans = { manifests: [], unwritable: [] };
  for (const e of nodePlanEntries(plan, owner)) {
    const manifest = e.manifest();
    if (typeof manifest === "number") out.unwritable.push({ node: e.node, bytes: manifest });
    else out.manifests.push({ node: e.node, manifest });
  }
  return out;
}

/** Whether a ConfigMap is a node plan (this release) rather than an earlier release's group plan. */
export function isNodePlan(cm: ConfigMapObject): boolean {
  return cm.metadata.labels?.[NODE_LABEL] !== undefined;
}

/** The plan text of a node plan ConfigMap, plain or gzipped, or why there is none. */
export function nodePlanText(cm: ConfigMapObject): { text: string } | { error: string } {
  const plain = cm.data?.[PLAN_KEY];
  if (plain !== undefined) return { text: plain };
  const packed = cm.binaryData?.[PLAN_GZIP_KEY];
  if (packed === undefined) return { error: `has neither data.${PLAN_KEY} nor binaryData.${PLAN_GZIP_KEY}` };
  try {
    return { text: gunzipSync(Buffer.from(packed, "base64")).toString("utf8") };
  } catch (err) {
    return { error: `binaryData.${PLAN_GZIP_KEY} is not gzip (${(err as Error).message})` };
  }
}

/** The placement recorded in a plan ConfigMap (node plan or earlier group plan), or undefined. */
export function placementOfPlanObject(cm: ConfigMapObject): Record<string, string> | undefined {
  const read = nodePlanText(cm);
  return "error" in read ? undefined : placementOfPlan(read.text);
}
