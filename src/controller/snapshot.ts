// Caches → ClusterSnapshot. Pure: reads plain objects, knows which inputs the planner needs.
import type { ConfigMapObject, EndpointSliceObject, NamespaceObject } from "../api/kube.js";
import { GROUP_LABEL, labelValue, NODE_LABEL } from "../api/names.js";
import type { KeepalivedGroup } from "../api/types.js";
import { dictionary } from "../core/dictionary.js";
import type { ClusterSnapshot, NodeObject, ServiceObject } from "../core/objects.js";
import { PlannerMemo } from "../core/memo.js";
import { PublishedIngress } from "../core/publishedIngress.js";
import type { OpenShiftNetwork } from "../core/openshift.js";
import type { GroupPlan, ServicePlan } from "../core/plan.js";
import { nodePlanEntries, type NodePlanEntry } from "../render/nodePlans.js";
import { ownsIngress, withoutOwnIngress, type ServiceWithManagedFields } from "../render/serviceStatus.js";
import { KeySorted } from "./keySorted.js";
import { objectKey } from "./live.js";

export interface Caches {
  groups: KeepalivedGroup[];
  services: ServiceWithManagedFields[];
  nodes: NodeObject[];
  endpointSlices: EndpointSliceObject[];
  configMaps: ConfigMapObject[];
  namespaces: NamespaceObject[];
  networks: OpenShiftNetwork[];
}

/** Nodes with a ready endpoint of each Service, by `namespace/name` (for externalTrafficPolicy: Local). */
export function localEndpointNodes(
  services: ServiceWithManagedFields[],
  slices: EndpointSliceObject[],
): Record<string, string[]> {
  const wanted = new Set(
    services
      .filter((s) => s.spec?.externalTrafficPolicy === "Local")
      .map((s) => `${s.metadata.namespace ?? ""}/${s.metadata.name ?? ""}`),
  );
  const out: Record<string, Set<string>> = {};
  for (const key of wanted) out[key] = new Set();
  for (const slice of slices) {
    const svc = slice.metadata.labels?.["kubernetes.io/service-name"];
    const key = `${slice.metadata.namespace ?? ""}/${svc ?? ""}`;
    const nodes = out[key];
    if (svc === undefined || nodes === undefined) continue;
    for (const e of slice.endpoints ?? []) {
      if (e.conditions?.ready !== false && e.nodeName !== undefined) nodes.add(e.nodeName);
    }
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
}

type ParsePlacement = (cm: ConfigMapObject) => Record<string, string> | undefined;

/** Our plan ConfigMaps by group key, each group's sorted by name (node plans and an earlier release's). */
function planObjectsByGroup(configMaps: readonly ConfigMapObject[]): Map<string, ConfigMapObject[]> {
  const out = new Map<string, ConfigMapObject[]>();
  const sorted = [...configMaps].sort((a, b) => ((a.metadata.name ?? "") < (b.metadata.name ?? "") ? -1 : 1));
  for (const cm of sorted) {
    const group = cm.metadata.labels?.[GROUP_LABEL];
    if (group === undefined) continue;
    if (cm.metadata.labels?.[NODE_LABEL] === undefined && group !== cm.metadata.name) continue;
    const key = `${cm.metadata.namespace ?? ""}/${group}`;
    const list = out.get(key);
    if (list === undefined) out.set(key, [cm]);
    else list.push(cm);
  }
  return out;
}

/** One group's previous placement from its plan objects (see previousPlacement), or undefined. */
function groupPreviousPlacement(
  cms: readonly ConfigMapObject[],
  parse: ParsePlacement,
): Record<string, string> | undefined {
  let merged: Record<string, string> | undefined;
  let legacy: Record<string, string> | undefined;
  const labels = new Map<string, string>();
  const labelOf = (holder: string): string => {
    let l = labels.get(holder);
    if (l === undefined) labels.set(holder, (l = labelValue(holder)));
    return l;
  };
  for (const cm of cms) {
    const node = cm.metadata.labels?.[NODE_LABEL];
    const placement = parse(cm);
    if (placement === undefined) continue;
    if (node === undefined) {
      legacy = placement;
      continue;
    }
    merged ??= dictionary();
    for (const [vip, holder] of Object.entries(placement)) {
      if (merged[vip] === undefined || labelOf(holder) === node) merged[vip] = holder;
    }
  }
  return merged ?? legacy;
}

/**
 * Previous placement of each group: the union of its node plans' placements (an entry from the plan of the
 * node it names wins over a stale copy in a peer's), or, before its first node plan, the group plan of an
 * earlier release. With `reuse`, a group whose plan objects are the same objects as last time gets the same
 * answer object back.
 */
export function previousPlacement(
  configMaps: readonly ConfigMapObject[],
  parse: ParsePlacement,
  reuse?: Map<string, { cms: ConfigMapObject[]; placement: Record<string, string> | undefined }>,
): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  const byGroup = planObjectsByGroup(configMaps);
  for (const [key, cms] of byGroup) {
    const hit = reuse?.get(key);
    const same =
      hit !== undefined && hit.cms.length === cms.length && hit.cms.every((cm, i) => cm === cms[i]);
    const placement = same ? hit.placement : groupPreviousPlacement(cms, parse);
    reuse?.set(key, { cms, placement });
    if (placement !== undefined) out[key] = placement;
  }
  for (const key of reuse?.keys() ?? []) if (!byGroup.has(key)) reuse?.delete(key);
  return out;
}

/**
 * What one reconcile reuses from the ones before (the caches replace objects, never edit them): the planner's
 * memo, and each Service as the planner sees it, made once per cached object so the planner can tell it again.
 */
export class ReconcileMemo {
  readonly planner = new PlannerMemo();
  private readonly inputs = new WeakMap<ServiceWithManagedFields, ServiceObject>();
  /** The IPs of the ingress we wrote, by cached object (undefined: not ours). */
  private readonly published = new WeakMap<ServiceWithManagedFields, readonly string[] | undefined>();
  private readonly entries = new WeakMap<GroupPlan, { uid: string; entries: NodePlanEntry[] }>();
  private readonly keys = new WeakMap<object, string>();
  private readonly sorted = new WeakMap<readonly object[], readonly object[]>();
  private readonly unmoved = new WeakMap<GroupPlan, object>();
  /** The announced IPs of a Service that needed no write and had nothing to say, by its cached object. */
  private readonly quietIps = new WeakMap<ServiceWithManagedFields, readonly string[]>();
  /** ClusterSnapshot.ownIngress as the last pass left it, and the Services (in key order) it was made from. */
  private ingress = new PublishedIngress();
  private lastSorted: readonly ServiceWithManagedFields[] | undefined;
  /** Sorted lists (sortedByKey's) in which two objects have one key. */
  private readonly duplicates = new WeakSet<readonly object[]>();
  private readonly sortedServices = new KeySorted<ServiceWithManagedFields>((o) => this.keyOf(o));
  /** Each group's plan objects and the previous placement read from them. */
  readonly previous = new Map<
    string,
    { cms: ConfigMapObject[]; placement: Record<string, string> | undefined }
  >();

  /** `namespace/name` of a cached object, made once per object (one string: its hash is kept with it). */
  keyOf(o: { metadata: { namespace?: string; name?: string } }): string {
    let key = this.keys.get(o);
    if (key === undefined) this.keys.set(o, (key = objectKey(o)));
    return key;
  }

  /**
   * The Services sorted by `namespace/name`, once per list (a reconcile's halves share its state's lists), made
   * from the last pass's order where the cache only replaced or added Services (keySorted.ts).
   */
  sortedByKey(list: readonly ServiceWithManagedFields[]): ServiceWithManagedFields[] {
    let sorted = this.sorted.get(list) as ServiceWithManagedFields[] | undefined;
    if (sorted === undefined) {
      const made = this.sortedServices.sort(list);
      this.sorted.set(list, (sorted = made.sorted));
      if (!made.unique) this.duplicates.add(sorted);
    }
    return sorted;
  }

  /** Whether the group plan was found placed as `previous` says, by the same objects, in an earlier pass. */
  placedAsBefore(gp: GroupPlan, previous: object | undefined): boolean {
    return previous !== undefined && this.unmoved.get(gp) === previous;
  }

  /** Records that `gp` places every VIP where `previous` says (see placedAsBefore). */
  placedAs(gp: GroupPlan, previous: object): void {
    this.unmoved.set(gp, previous);
  }

  /** Records that Service `s` planned as `sp` needed no status write and had no problem to tell. */
  quiet(s: ServiceWithManagedFields, sp: ServicePlan): void {
    const ips = sp.announced.map((a) => a.ip);
    this.quietIps.set(s, ips);
  }

  /**
   * Whether the same object was quiet (see quiet) with the same announced IPs and its plan has no problem: then
   * nothing the decision reads differs from that pass, and it needs nothing again. (A Service of an invalid
   * group has a problem saying so; its status is left as it is anyway.)
   */
  quietAsBefore(s: ServiceWithManagedFields, sp: ServicePlan): boolean {
    const ips = this.quietIps.get(s);
    if (ips === undefined || sp.diagnostics.length > 0 || ips.length !== sp.announced.length) return false;
    for (let i = 0; i < ips.length; i++) if (ips[i] !== sp.announced[i]?.ip) return false;
    return true;
  }

  /**
   * ClusterSnapshot.ownIngress of `sorted` (Services in key order), updated in place from the list of the pass
   * before: both lists are walked along, and only a Service that is not the same object as before is read.
   */
  publishedIngress(sorted: readonly ServiceWithManagedFields[]): PublishedIngress {
    const last = this.lastSorted;
    if (last === undefined || this.duplicates.has(sorted)) return this.rebuildIngress(sorted);
    let i = 0;
    let j = 0;
    while (i < sorted.length || j < last.length) {
      const a = sorted[i];
      const b = last[j];
      if (a !== undefined && a === b) {
        i++;
        j++;
        continue;
      }
      const ka = a === undefined ? undefined : this.keyOf(a);
      const kb = b === undefined ? undefined : this.keyOf(b);
      if (a !== undefined && ka !== undefined && (kb === undefined || ka <= kb)) {
        // New, or in place of the object of the same key.
        const ips = this.ownIngress(a);
        if (ips === undefined) this.ingress.delete(ka);
        else this.ingress.set(ka, ips);
        i++;
        if (ka === kb) j++;
      } else {
        // Gone: no later Service of the list has its key.
        if (kb !== undefined) this.ingress.delete(kb);
        j++;
      }
    }
    this.lastSorted = sorted;
    return this.ingress;
  }

  /** Every entry read again, as ownIngressRecord reads them (of two Services of one key, the later wins). */
  private rebuildIngress(sorted: readonly ServiceWithManagedFields[]): PublishedIngress {
    this.ingress = new PublishedIngress();
    for (const s of sorted) {
      const ips = this.ownIngress(s);
      if (ips !== undefined) this.ingress.set(this.keyOf(s), ips);
    }
    // A list with two Services of one key (never a cache's) cannot be walked along next time.
    this.lastSorted = this.duplicates.has(sorted) ? undefined : sorted;
    return this.ingress;
  }

  /** The Service without the ingress we wrote, the same object for the same cached one. */
  plannerInput(s: ServiceWithManagedFields): ServiceObject {
    let input = this.inputs.get(s);
    if (input === undefined) this.inputs.set(s, (input = withoutOwnIngress(s)));
    return input;
  }

  /** The IPs of the Service's entry in ClusterSnapshot.ownIngress (undefined: none), once per cached object. */
  ownIngress(s: ServiceWithManagedFields): readonly string[] | undefined {
    if (this.published.has(s)) return this.published.get(s);
    const ips = ownIngressIps(s);
    this.published.set(s, ips);
    return ips;
  }

  /** The node plan objects of a group plan, made once per plan object (the planner's memo reuses those). */
  nodePlanEntries(gp: GroupPlan, uid: string): NodePlanEntry[] {
    const hit = this.entries.get(gp);
    if (hit?.uid === uid) return hit.entries;
    const entries = nodePlanEntries(gp, { uid });
    this.entries.set(gp, { uid, entries });
    return entries;
  }
}

/** The IPs of a Service whose ingress we wrote (its entry in ClusterSnapshot.ownIngress), else undefined. */
function ownIngressIps(s: ServiceWithManagedFields): string[] | undefined {
  if (!ownsIngress(s)) return undefined;
  return (s.status?.loadBalancer?.ingress ?? []).flatMap((i) => (i.ip === undefined ? [] : [i.ip]));
}

export function buildSnapshot(
  c: Caches,
  parsePlacement: (cm: ConfigMapObject) => Record<string, string> | undefined,
  memo?: ReconcileMemo,
): ClusterSnapshot {
  return {
    groups: c.groups,
    services: c.services.map((s) => (memo === undefined ? withoutOwnIngress(s) : memo.plannerInput(s))),
    nodes: c.nodes,
    localEndpointNodes: localEndpointNodes(c.services, c.endpointSlices),
    previousPlacement: previousPlacement(c.configMaps, parsePlacement, memo?.previous),
    ownIngress: memo === undefined ? ownIngressRecord(c.services) : memoOwnIngress(c, memo),
    namespaces: c.namespaces,
    openshiftNetworks: c.networks,
  };
}

/** ClusterSnapshot.ownIngress from each Service's entry, in the order of `services`. */
function ownIngressRecord(services: readonly ServiceWithManagedFields[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const s of services) {
    const ips = ownIngressIps(s);
    // A key always holds a "/": never "__proto__".
    if (ips !== undefined) out[objectKey(s)] = ips;
  }
  return out;
}

/** The same, kept by the memo: only the entries of Services that are new, replaced or gone are set again. */
function memoOwnIngress(c: Caches, memo: ReconcileMemo): PublishedIngress {
  return memo.publishedIngress(memo.sortedByKey(c.services));
}
