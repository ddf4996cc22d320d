// The planner: cluster snapshot → validated groups and Services → one plan per group saying which VRRP
// instances (virtual routers) exist, which VIPs each carries, its router ID and each node's priority.
// Pure and deterministic: the same snapshot gives the same plan, whatever the order of its lists.
import { compareDiagnostics, type Diagnostic } from "./diagnostics.js";
import { selectsNode, validateGroup, groupRef, type GroupModel } from "./group.js";
import { compareIPs, familyName, parseIP, type Family, type ParsedIP } from "./ip.js";
import type { ClusterSnapshot, NodeObject } from "./objects.js";
import { placeItems, rankNodes, type PlacementItem } from "./placement.js";
import { allocateRouterIds, type RouterIdRequest } from "./routerIds.js";
import { assignAddresses, type PoolUsage } from "./addresses.js";
import { openShiftPolicy } from "./openshift.js";
import { isDedicated, parseService, serviceRef, type ServiceClaim } from "./service.js";
import { dnsSubdomainProblem, quote } from "./validate.js";

export interface NodeMember {
  name: string;
  /** The node's InternalIP (else ExternalIP) per family: unicast source and peer addresses. */
  addresses: Partial<Record<Family, string>>;
}

export interface NodePriority {
  node: string;
  priority: number;
}

export interface VirtualRouter {
  /** Key in the group's status.routerIDs: `node/<node>/<family>` or `service/<ns>/<name>/<family>`. */
  key: string;
  /** vrrp_instance name. */
  name: string;
  routerId: number;
  family: Family;
  /** VIPs, canonical and sorted. */
  vips: string[];
  /**
   * The one VIP named in VRRP adverts (the others go to virtual_ipaddress_excluded). keepalived drops
   * adverts whose address list differs from its own, so this must change as rarely as possible: it is a
   * VIP of the instance's oldest Service, and adding a Service never changes it.
   */
  anchor: string;
  /** Nodes that run this instance, best first; the first is where the VIPs should be. */
  priorities: NodePriority[];
  /** `namespace/name` of the Services whose VIPs it carries, sorted. */
  services: string[];
  /** kube-proxy health check port for externalTrafficPolicy: Local Services. */
  healthCheckNodePort?: number;
  /** Extra vrrp_instance settings from the Service's verbatimconfig annotation. */
  settings: [string, string][];
}

export interface GroupPlan {
  group: GroupModel;
  nodes: NodeMember[];
  instances: VirtualRouter[];
  /** status.routerIDs to record: every instance key → router ID. */
  routerIDs: Record<string, number>;
  /** VIP → node that should hold it. */
  placement: Record<string, string>;
  /** Problems of the group as a whole (no nodes, router IDs exhausted, …). */
  diagnostics: Diagnostic[];
  /** Size and use of each usable address pool. */
  pools: PoolUsage[];
}

export interface VipOutcome {
  ip: string;
  /** Node that should hold it, when announced. */
  node?: string;
  /** vrrp_instance carrying it, when announced. */
  instance?: string;
}

export interface ServicePlan {
  key: string;
  groupKey: string;
  announced: VipOutcome[];
  /** Why some or all of its IPs are not announced, and other problems. */
  diagnostics: Diagnostic[];
}

export interface ClusterPlan {
  groups: GroupPlan[];
  /** Groups that failed validation, with the reasons. */
  invalidGroups: { key: string; diagnostics: Diagnostic[] }[];
  /** Every Service of ours, valid or not, sorted by key. */
  services: ServicePlan[];
}

/** keepalived priority for a node's rank in an instance: 200 for the preferred node, then descending. */
export function priorityForRank(rank: number): number {
  return rank === 0 ? 200 : Math.max(2, 150 - rank);
}

/** Priority an agent announces while handing its VIPs over before it stops. */
export const HANDOVER_PRIORITY = 1;

function instanceName(key: string): string {
  return key.replaceAll("/", "_");
}

function nodeAddresses(node: NodeObject): Partial<Record<Family, string>> {
  const out: Partial<Record<Family, string>> = {};
  for (const type of ["InternalIP", "ExternalIP"]) {
    for (const a of node.status?.addresses ?? []) {
      if (a.type !== type) continue;
      const ip = parseIP(a.address);
      if (ip !== undefined && out[ip.family] === undefined) out[ip.family] = ip.text;
    }
  }
  return out;
}

const byKey = <T extends { key: string }>(a: T, b: T): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
const byAge = (a: ServiceClaim, b: ServiceClaim): number =>
  a.createdAt !== b.createdAt ? (a.createdAt < b.createdAt ? -1 : 1) : byKey(a, b);

interface GroupWork {
  model: GroupModel;
  nodes: NodeMember[];
  claims: ServiceClaim[];
  diagnostics: Diagnostic[];
  pools: PoolUsage[];
  /** Instances before router IDs are known. */
  draft: Omit<VirtualRouter, "routerId">[];
  placement: Record<string, string>;
}

export function planCluster(snapshot: ClusterSnapshot): ClusterPlan {
  const invalidGroups: ClusterPlan["invalidGroups"] = [];
  const work = new Map<string, GroupWork>();
  const services = new Map<string, ServicePlan>();

  // Groups.
  const groupKeys = new Set<string>();
  for (const g of snapshot.groups) {
    const result = validateGroup(g);
    const ref = groupRef(g);
    const key = `${ref.namespace ?? "default"}/${ref.name}`;
    if (groupKeys.has(key)) continue;
    groupKeys.add(key);
    if (!result.ok) {
      invalidGroups.push({ key, diagnostics: result.errors.sort(compareDiagnostics) });
      continue;
    }
    work.set(key, {
      model: result.model,
      nodes: [],
      claims: [],
      diagnostics: [...result.warnings],
      draft: [],
      placement: {},
      pools: [],
    });
  }

  // Nodes.
  const nodes = [...snapshot.nodes].sort((a, b) =>
    (a.metadata.name ?? "") < (b.metadata.name ?? "") ? -1 : 1,
  );
  for (const w of work.values()) {
    for (const node of nodes) {
      const name = node.metadata.name ?? "";
      if (!selectsNode(w.model.nodeSelector, node.metadata.labels)) continue;
      if (dnsSubdomainProblem(name) !== undefined) {
        w.diagnostics.push({
          object: { kind: "Node", name },
          field: "metadata.name",
          reason: "InvalidNodeName",
          message: `${quote(name)} is not a valid node name; the node is left out of group ${w.model.key}.`,
          severity: "Warning",
        });
        continue;
      }
      if (w.nodes.some((n) => n.name === name)) continue;
      w.nodes.push({ name, addresses: nodeAddresses(node) });
    }
    if (w.nodes.length === 0) {
      w.diagnostics.push({
        object: groupRef({ metadata: { name: w.model.name, namespace: w.model.namespace } }),
        field: "spec.nodeSelector",
        reason: "NoNodes",
        message: `no node matches ${JSON.stringify(w.model.nodeSelector)}; label the nodes that should hold VIPs (e.g. oc label node <node> node-role.kubernetes.io/loadbalancer="").`,
        severity: "Error",
      });
    }
  }

  // Services: parse, attach to groups, settle IP conflicts (the older Service keeps the IP).
  const claims: ServiceClaim[] = [];
  for (const s of snapshot.services) {
    const result = parseService(s);
    if (result.kind === "ignored") continue;
    const ref = serviceRef(s);
    const key = `${ref.namespace ?? "default"}/${ref.name}`;
    if (services.has(key)) continue;
    if (result.kind === "invalid") {
      services.set(key, { key, groupKey: "", announced: [], diagnostics: result.diagnostics });
      continue;
    }
    const plan: ServicePlan = {
      key,
      groupKey: result.claim.groupKey,
      announced: [],
      diagnostics: [...result.diagnostics],
    };
    services.set(key, plan);
    const w = work.get(result.claim.groupKey);
    if (w === undefined) {
      const why = invalidGroups.some((g) => g.key === result.claim.groupKey)
        ? "is invalid (see its status conditions); its Services are not announced until it is fixed"
        : "does not exist; create it or fix the annotation";
      plan.diagnostics.push({
        object: ref,
        field: "metadata.annotations[keepalived-operator.redhat-cop.io/keepalivedgroup]",
        reason: "GroupNotFound",
        message: `KeepalivedGroup ${result.claim.groupKey} ${why}.`,
        severity: "Warning",
      });
      continue;
    }
    claims.push(result.claim);
  }
  // Addresses: trusted status IPs, externalIPs inside the allowed ranges, requests, pools, sharing.
  const nodeAddressList = snapshot.nodes.flatMap((n) => (n.status?.addresses ?? []).map((a) => a.address));
  const namespaceLabels: Record<string, Record<string, string>> = {};
  for (const ns of snapshot.namespaces ?? [])
    namespaceLabels[ns.metadata.name ?? ""] = ns.metadata.labels ?? {};
  const addressInputs: Parameters<typeof assignAddresses>[1] = {
    groups: new Map([...work.values()].map((w) => [w.model.key, w.model])),
    namespaceLabels,
    previous: snapshot.ownIngress ?? {},
    nodeAddresses: nodeAddressList,
  };
  const openshift = openShiftPolicy(snapshot.openshiftNetworks ?? []);
  if (openshift !== undefined) addressInputs.openshift = openshift;
  const addresses = assignAddresses(claims, addressInputs);
  for (const d of addresses.diagnostics) {
    if (d.object.kind === "Service")
      services.get(`${d.object.namespace ?? ""}/${d.object.name}`)?.diagnostics.push(d);
    else work.get(`${d.object.namespace ?? ""}/${d.object.name}`)?.diagnostics.push(d);
  }
  for (const c of claims) {
    const w = work.get(c.groupKey);
    if (w !== undefined) w.claims.push({ ...c, vips: addresses.vips.get(c.key) ?? [] });
  }
  for (const w of work.values()) w.pools = addresses.poolUsage.get(w.model.key) ?? [];

  // Placement and instance drafts, per group; problems of a Service go to that Service.
  for (const w of work.values()) {
    planGroup(w, snapshot);
    w.diagnostics = w.diagnostics.filter((d) => {
      const sp =
        d.object.kind === "Service"
          ? services.get(`${d.object.namespace ?? ""}/${d.object.name}`)
          : undefined;
      sp?.diagnostics.push(d);
      return sp === undefined;
    });
  }

  // Router IDs across groups.
  const requests: RouterIdRequest[] = [...work.values()].map((w) => ({
    groupKey: w.model.key,
    createdAt: w.model.createdAt,
    scope: w.model.routerIdScope,
    range: w.model.routerIdRange,
    blacklist: w.model.blacklist,
    keys: w.draft.map((d) => d.key),
    recorded: w.model.recordedRouterIds,
  }));
  const ids = allocateRouterIds(requests);

  const groups: GroupPlan[] = [];
  for (const w of [...work.values()].sort((a, b) => (a.model.key < b.model.key ? -1 : 1))) {
    const assigned = ids.assigned.get(w.model.key) ?? {};
    const instances: VirtualRouter[] = [];
    const lost = ids.exhausted.get(w.model.key) ?? [];
    if (lost.length > 0) {
      const { min, max } = w.model.routerIdRange;
      w.diagnostics.push({
        object: groupRef({ metadata: { name: w.model.name, namespace: w.model.namespace } }),
        field: "spec.routerIDRange",
        reason: "RouterIDsExhausted",
        message: `no free virtual router ID in ${min}-${max} for ${lost.length} instance(s) (${lost.slice(0, 3).join(", ")}${lost.length > 3 ? ", …" : ""}); widen spec.routerIDRange, shorten spec.blacklistRouterIDs, set spec.routerIDScope to Group if this group has a network of its own, or move Services to another group.`,
        severity: "Error",
      });
    }
    for (const d of w.draft) {
      const routerId = assigned[d.key];
      if (routerId === undefined) {
        for (const svc of d.services) {
          services.get(svc)?.diagnostics.push({
            object: { kind: "Service", namespace: svc.split("/")[0] ?? "", name: svc.split("/")[1] ?? "" },
            field: "metadata.annotations[keepalived-operator.redhat-cop.io/keepalivedgroup]",
            reason: "RouterIDsExhausted",
            message: `group ${w.model.key} has no free virtual router ID for ${d.vips.join(", ")}; see the group's status.`,
            severity: "Warning",
          });
        }
        continue;
      }
      instances.push({ ...d, routerId });
      for (const ip of d.vips) {
        const node = d.priorities[0]?.node;
        const outcome: VipOutcome = { ip, instance: d.name };
        if (node !== undefined) outcome.node = node;
        for (const svc of d.services) {
          const sp = services.get(svc);
          if (sp !== undefined && w.claims.find((c) => c.key === svc)?.vips.some((v) => v.text === ip))
            sp.announced.push(outcome);
        }
      }
    }
    const routerIDs: Record<string, number> = {};
    for (const i of instances) routerIDs[i.key] = i.routerId;
    groups.push({
      group: w.model,
      nodes: w.nodes,
      instances,
      routerIDs,
      placement: w.placement,
      diagnostics: w.diagnostics.sort(compareDiagnostics),
      pools: w.pools,
    });
  }

  const servicePlans = [...services.values()].sort(byKey);
  for (const sp of servicePlans) {
    sp.announced.sort((a, b) => compareIPs(parseIP(a.ip) as ParsedIP, parseIP(b.ip) as ParsedIP));
    sp.diagnostics.sort(compareDiagnostics);
  }
  return { groups, invalidGroups: invalidGroups.sort(byKey), services: servicePlans };
}

/** Drops verbatimconfig settings that the group's VRRP mode cannot take, saying why. */
function settingsForGroup(c: ServiceClaim, m: GroupModel, diagnostics: Diagnostic[]): ServiceClaim {
  const keep: [string, string][] = [];
  for (const [key, value] of c.instanceSettings) {
    let why: string | undefined;
    if (key === "unicast_ttl" && !m.unicast) why = `unicast_ttl needs spec.unicastEnabled on group ${m.key}`;
    if (key === "advert_int" && m.vrrp.version === 2 && !Number.isInteger(Number(value))) {
      why = `group ${m.key} uses VRRP version 2, which takes whole seconds for advert_int`;
    }
    if (why === undefined) keep.push([key, value]);
    else
      diagnostics.push({
        object: { kind: "Service", namespace: c.namespace, name: c.name },
        field: "metadata.annotations[keepalived-operator.redhat-cop.io/verbatimconfig]",
        reason: "RejectedVerbatimConfig",
        message: `${why}; the setting is ignored.`,
        severity: "Warning",
      });
  }
  return keep.length === c.instanceSettings.length ? c : { ...c, instanceSettings: keep };
}

function planGroup(w: GroupWork, snapshot: ClusterSnapshot): void {
  const m = w.model;
  const nodeNames = w.nodes.map((n) => n.name);
  const previous = snapshot.previousPlacement?.[m.key] ?? {};
  // With spreading off, one node holds every pooled VIP and the others stand by.
  const activeNode = rankNodes(m.key, nodeNames)[0];
  const nodesFor = (family: Family): string[] =>
    m.unicast ? w.nodes.filter((n) => n.addresses[family] !== undefined).map((n) => n.name) : nodeNames;

  const items: (PlacementItem & { claim: ServiceClaim; claims?: ServiceClaim[]; vips: ParsedIP[] })[] = [];
  for (const c of [...w.claims].sort(byKey).map((claim) => settingsForGroup(claim, m, w.diagnostics))) {
    if (c.vips.length === 0) continue;
    let eligible: string[] | undefined;
    if (c.localTrafficOnly) {
      const local = snapshot.localEndpointNodes?.[c.key];
      if (local !== undefined) eligible = nodeNames.filter((n) => local.includes(n));
    }
    if (!isDedicated(c) && !m.spreadVIPs && activeNode !== undefined) eligible = [activeNode];
    const groups = !isDedicated(c) && c.spreadVIPs ? c.vips.map((ip) => [ip]) : [c.vips];
    for (const vips of groups) {
      const first = vips[0];
      if (first === undefined) continue;
      const item: PlacementItem & { claim: ServiceClaim; claims?: ServiceClaim[]; vips: ParsedIP[] } = {
        key: groups.length > 1 ? `${c.key}/${first.text}` : c.key,
        hashKey: groups.length > 1 ? first.text : c.key,
        weight: vips.length,
        claim: c,
        vips,
      };
      // Unicast adverts need the node's own address of every family the item carries.
      const reachable = m.unicast
        ? (eligible ?? nodeNames).filter((n) =>
            vips.every((v) => w.nodes.find((x) => x.name === n)?.addresses[v.family] !== undefined),
          )
        : eligible;
      if (reachable !== undefined) item.eligible = reachable;
      const prev = previous[first.text];
      if (prev !== undefined) item.previous = prev;
      items.push(item);
    }
  }
  // Services sharing an IP must land on one node: their items merge into one.
  const merged: typeof items = [];
  const byVip = new Map<string, (typeof items)[number]>();
  for (const item of items) {
    const hit = item.vips.map((v) => byVip.get(v.text)).find((x) => x !== undefined);
    if (hit === undefined) {
      const own = { ...item, claims: [item.claim] };
      merged.push(own);
      for (const v of item.vips) byVip.set(v.text, own);
      continue;
    }
    hit.claims = [...(hit.claims ?? [hit.claim]), item.claim];
    hit.key = `${hit.key}+${item.key}`;
    for (const v of item.vips) {
      if (!hit.vips.some((x) => x.text === v.text)) hit.vips = [...hit.vips, v];
      byVip.set(v.text, hit);
    }
    hit.weight = hit.vips.length;
  }
  items.splice(0, items.length, ...merged);
  const placed = placeItems(items, nodeNames);

  const pooled = new Map<
    string,
    { vips: ParsedIP[]; services: Set<string>; anchor?: { claim: ServiceClaim; ip: ParsedIP } }
  >();
  for (const item of items) {
    const ranking = placed.get(item.key) ?? [];
    const primary = ranking[0];
    const sp = item.claim;
    if (primary === undefined) {
      const why = sp.localTrafficOnly
        ? "no node of the group has a ready local endpoint (externalTrafficPolicy: Local); it is announced once a pod is ready on one of them"
        : `group ${m.key} has no nodes`;
      w.diagnostics.push({
        object: { kind: "Service", namespace: sp.namespace, name: sp.name },
        field: "spec",
        reason: "NoEligibleNode",
        message: `${item.vips.map((v) => v.text).join(", ")} not announced: ${why}.`,
        severity: "Warning",
      });
      continue;
    }
    for (const ip of item.vips) w.placement[ip.text] = primary;
    if (isDedicated(sp)) {
      for (const family of [4, 6] as const) {
        const vips = item.vips.filter((v) => v.family === family);
        if (vips.length === 0) continue;
        const allowed = new Set(nodesFor(family));
        const key = `service/${sp.namespace}/${sp.name}/${familyName(family)}`;
        const draft: Omit<VirtualRouter, "routerId"> = {
          key,
          name: instanceName(key),
          family,
          vips: vips.map((v) => v.text),
          anchor: vips[0]?.text ?? "",
          priorities: ranking
            .filter((n) => allowed.has(n))
            .map((node, rank) => ({ node, priority: priorityForRank(rank) })),
          services: [sp.key],
          settings: sp.instanceSettings,
        };
        if (sp.healthCheckNodePort !== undefined) draft.healthCheckNodePort = sp.healthCheckNodePort;
        w.draft.push(draft);
      }
      continue;
    }
    for (const ip of item.vips) {
      const key = `node/${primary}/${familyName(ip.family)}`;
      const entry = pooled.get(key) ?? { vips: [], services: new Set<string>() };
      const anchor = entry.anchor;
      if (
        anchor === undefined ||
        byAge(sp, anchor.claim) < 0 ||
        (anchor.claim === sp && compareIPs(ip, anchor.ip) < 0)
      ) {
        entry.anchor = { claim: sp, ip };
      }
      entry.vips.push(ip);
      for (const c of item.claims ?? [sp]) entry.services.add(c.key);
      pooled.set(key, entry);
    }
  }
  // One pooled instance per node and family in use, so a new VIP joins an instance that is already MASTER.
  for (const family of [4, 6] as const) {
    const used = [...pooled.keys()].some((k) => k.endsWith(`/${familyName(family)}`));
    if (!used) continue;
    const familyNodes = nodesFor(family);
    for (const node of familyNodes) {
      const key = `node/${node}/${familyName(family)}`;
      const entry = pooled.get(key) ?? { vips: [], services: new Set<string>() };
      // Backups ranked without the family, so a dual-stack Service's VIPs fail over to the same node.
      const ranking = [
        node,
        ...rankNodes(
          `node/${node}`,
          familyNodes.filter((n) => n !== node),
        ),
      ];
      w.draft.push({
        key,
        name: instanceName(key),
        family,
        vips: entry.vips.sort(compareIPs).map((v) => v.text),
        anchor: entry.anchor?.ip.text ?? "",
        priorities: ranking.map((n, rank) => ({ node: n, priority: priorityForRank(rank) })),
        services: [...entry.services].sort(),
        settings: [],
      });
    }
  }
  w.draft.sort(byKey);
}
