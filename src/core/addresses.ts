// Which IPs each Service gets: trusted status IPs, externalIPs inside the allowed ranges, requested IPs and
// pool allocations, with sharing by key. Pure; the outcome depends only on its inputs, and an IP a Service
// already holds (recorded in the ingress we wrote) is kept before anything new is handed out.
import type { Diagnostic, ObjectRef } from "./diagnostics.js";
import type { GroupModel } from "./group.js";
import { compareIPs, familyName, parseIP, type Family, type ParsedIP } from "./ip.js";
import { selectorMatches } from "./labels.js";
import { inRanges, lowestFree, rangeSize, rangesOverlap, type IpRange, type Pool } from "./pools.js";
import { isDedicated, type ServiceClaim } from "./service.js";

export interface OpenShiftPolicy {
  allowed: IpRange[];
  rejected: IpRange[];
  autoAssign: IpRange[];
}

export interface AddressInputs {
  groups: ReadonlyMap<string, GroupModel>;
  /** Namespace labels, for pools' namespaceSelector. */
  namespaceLabels: Readonly<Record<string, Record<string, string>>>;
  openshift?: OpenShiftPolicy;
  /** IPs each Service holds from an earlier allocation (the ingress we wrote), by `namespace/name`. */
  previous: Readonly<Record<string, string[]>>;
  /** Every node address of the cluster: pools must not contain them. */
  nodeAddresses: readonly string[];
}

export interface PoolUsage {
  name: string;
  size: string;
  used: number;
}

export interface AddressOutcome {
  /** Accepted VIPs of each Service, sorted. */
  vips: Map<string, ParsedIP[]>;
  /** Services that share each shared IP. */
  sharedWith: Map<string, string[]>;
  diagnostics: Diagnostic[];
  poolUsage: Map<string, PoolUsage[]>;
}

const SHARING_HINT =
  "give both Services the same keepalived-operator.redhat-cop.io/allow-shared-ip key (their ports must differ)";

interface Holder {
  group: string;
  owners: ServiceClaim[];
  ports: Set<string>;
  sharingKey?: string;
  dedicated: boolean;
}

const byAge = (a: ServiceClaim, b: ServiceClaim): number =>
  a.createdAt !== b.createdAt
    ? a.createdAt < b.createdAt
      ? -1
      : 1
    : a.key < b.key
      ? -1
      : a.key > b.key
        ? 1
        : 0;

export function assignAddresses(claims: readonly ServiceClaim[], inputs: AddressInputs): AddressOutcome {
  const diagnostics: Diagnostic[] = [];
  const table = new Map<string, Holder>();
  const taken = new Map<string, ParsedIP[]>();
  const ref = (c: ServiceClaim): ObjectRef => ({ kind: "Service", namespace: c.namespace, name: c.name });
  const warn = (c: ServiceClaim, field: string, reason: string, message: string): void => {
    diagnostics.push({ object: ref(c), field, reason, message, severity: "Warning" });
  };
  const groupRef = (g: GroupModel): ObjectRef => ({
    kind: "KeepalivedGroup",
    namespace: g.namespace,
    name: g.name,
  });

  // Usable pools: not overlapping an older group's pools, not containing a node's address.
  const usable = new Map<string, Pool[]>();
  const nodeIps = inputs.nodeAddresses
    .map((a) => parseIP(a))
    .filter((ip): ip is ParsedIP => ip !== undefined);
  const groupsByAge = [...inputs.groups.values()].sort((a, b) =>
    a.createdAt !== b.createdAt ? (a.createdAt < b.createdAt ? -1 : 1) : a.key < b.key ? -1 : 1,
  );
  const claimedRanges: { group: GroupModel; pool: Pool; range: IpRange }[] = [];
  for (const g of groupsByAge) {
    const pools: Pool[] = [];
    g.pools.forEach((pool, i) => {
      const node = nodeIps.find((ip) => inRanges(pool.ranges, ip) !== undefined);
      if (node !== undefined) {
        diagnostics.push({
          object: groupRef(g),
          field: `spec.addressPools[${i}]`,
          reason: "PoolContainsNodeAddress",
          message: `pool ${JSON.stringify(pool.name)} contains node address ${node.text}; the pool is not used until that address is taken out of it.`,
          severity: "Error",
        });
        return;
      }
      const clash = claimedRanges.find(
        (c) => c.group !== g && pool.ranges.some((r) => rangesOverlap(r, c.range)),
      );
      if (clash !== undefined) {
        diagnostics.push({
          object: groupRef(g),
          field: `spec.addressPools[${i}]`,
          reason: "OverlappingAddressPools",
          message: `pool ${JSON.stringify(pool.name)} overlaps pool ${JSON.stringify(clash.pool.name)} of KeepalivedGroup ${clash.group.key} (${clash.range.text}), which is older; the pool is not used until the overlap is removed.`,
          severity: "Error",
        });
        return;
      }
      for (const range of pool.ranges) claimedRanges.push({ group: g, pool, range });
      pools.push(pool);
    });
    usable.set(g.key, pools);
  }

  const allowedBy = (g: GroupModel, ip: ParsedIP): string | undefined => {
    if (inputs.openshift !== undefined && inRanges(inputs.openshift.rejected, ip) !== undefined)
      return undefined;
    const pool = (usable.get(g.key) ?? []).find((p) => inRanges(p.ranges, ip) !== undefined);
    if (pool !== undefined) return `pool ${pool.name}`;
    if (inRanges(g.allowed, ip) !== undefined) return "spec.allowedCIDRs";
    if (
      inputs.openshift !== undefined &&
      (inRanges(inputs.openshift.allowed, ip) ?? inRanges(inputs.openshift.autoAssign, ip)) !== undefined
    ) {
      return "the OpenShift Network's externalIP policy";
    }
    return undefined;
  };
  const policyText = (g: GroupModel): string => {
    const parts = [
      ...(usable.get(g.key) ?? []).map((p) => `pool ${p.name} (${p.ranges.map((r) => r.text).join(", ")})`),
      ...(g.allowed.length > 0 ? [`spec.allowedCIDRs (${g.allowed.map((r) => r.text).join(", ")})`] : []),
      ...(inputs.openshift !== undefined ? ["the OpenShift Network's externalIP policy"] : []),
    ];
    return parts.length === 0 ? "none is configured" : parts.join("; ");
  };

  const take = (c: ServiceClaim, ip: ParsedIP, field: string): boolean => {
    const mine = taken.get(c.key) ?? [];
    if (mine.some((m) => m.text === ip.text)) return true;
    const holder = table.get(ip.text);
    if (holder !== undefined) {
      const clash = c.ports.find((p) => holder.ports.has(p));
      const canShare =
        holder.group === c.groupKey &&
        holder.sharingKey !== undefined &&
        holder.sharingKey === c.sharingKey &&
        clash === undefined &&
        !holder.dedicated &&
        !isDedicated(c);
      if (!canShare) {
        const first = holder.owners[0]?.key ?? "";
        const why =
          holder.sharingKey !== undefined && holder.sharingKey === c.sharingKey && clash !== undefined
            ? `both use port ${clash}`
            : holder.dedicated || isDedicated(c)
              ? "Services with externalTrafficPolicy: Local or a verbatimconfig annotation cannot share an IP"
              : holder.group !== c.groupKey
                ? `it is announced by another KeepalivedGroup for Service ${first}`
                : `${SHARING_HINT}, or choose another IP`;
        warn(
          c,
          field,
          "IPInUse",
          `${ip.text} is already used by Service ${first}, which claimed it first; ${why}.`,
        );
        return false;
      }
      holder.owners.push(c);
      for (const p of c.ports) holder.ports.add(p);
    } else {
      const h: Holder = {
        group: c.groupKey,
        owners: [c],
        ports: new Set(c.ports),
        dedicated: isDedicated(c),
      };
      if (c.sharingKey !== undefined) h.sharingKey = c.sharingKey;
      table.set(ip.text, h);
    }
    taken.set(c.key, [...mine, ip]);
    return true;
  };

  const ordered = [...claims].sort((a, b) => {
    const pa = (inputs.previous[a.key] ?? []).length > 0 ? 0 : 1;
    const pb = (inputs.previous[b.key] ?? []).length > 0 ? 0 : 1;
    return pa - pb || byAge(a, b);
  });
  const matchingPools = (c: ServiceClaim, g: GroupModel): Pool[] =>
    (usable.get(g.key) ?? []).filter(
      (p) =>
        (c.poolName === undefined || p.name === c.poolName) &&
        selectorMatches(p.serviceSelector, c.labels) &&
        selectorMatches(p.namespaceSelector, inputs.namespaceLabels[c.namespace]),
    );
  const wantsPool = (c: ServiceClaim): boolean =>
    c.loadBalancer && c.trusted.length === 0 && c.external.length === 0;

  // Phase 1: addresses named explicitly (status, externalIPs, requests, earlier allocations).
  for (const c of ordered) {
    const g = inputs.groups.get(c.groupKey);
    if (g === undefined) continue;
    for (const ip of c.trusted) take(c, ip, c.vipFields[ip.text] ?? "status.loadBalancer.ingress");
    for (const ip of c.external) {
      const field = c.vipFields[ip.text] ?? "spec.externalIPs";
      if (allowedBy(g, ip) === undefined) {
        warn(
          c,
          field,
          "OutsideAllowedRanges",
          `${ip.text} is outside the addresses KeepalivedGroup ${g.key} allows (${policyText(g)}), so it is not announced; ask a cluster administrator to add it to spec.allowedCIDRs or to an address pool of the group, or remove it.`,
        );
        continue;
      }
      take(c, ip, field);
    }
    if (!wantsPool(c)) continue;
    if (c.poolName !== undefined && !(usable.get(g.key) ?? []).some((p) => p.name === c.poolName)) {
      warn(
        c,
        "metadata.annotations[keepalived-operator.redhat-cop.io/address-pool]",
        "UnknownAddressPool",
        `KeepalivedGroup ${g.key} has no usable address pool ${JSON.stringify(c.poolName)}; pools: ${(usable.get(g.key) ?? []).map((p) => p.name).join(", ") || "none"}.`,
      );
      continue;
    }
    const pools = matchingPools(c, g);
    for (const ip of c.requested) {
      const field = c.vipFields[ip.text] ?? "spec.loadBalancerIP";
      const inPool = pools.some((p) => inRanges(p.ranges, ip) !== undefined);
      if (!inPool && inRanges(g.allowed, ip) === undefined) {
        warn(
          c,
          field,
          "RequestedIPNotAllowed",
          `${ip.text} is in no address pool that serves this Service nor in spec.allowedCIDRs of KeepalivedGroup ${g.key} (${policyText(g)}); ask for an address of those ranges.`,
        );
        continue;
      }
      take(c, ip, field);
    }
    for (const text of inputs.previous[c.key] ?? []) {
      const ip = parseIP(text);
      if (
        ip === undefined ||
        c.requested.some((r) => r.family === ip.family) ||
        !c.families.includes(ip.family)
      )
        continue;
      if (!pools.some((p) => p.autoAssign && inRanges(p.ranges, ip) !== undefined)) continue;
      take(c, ip, "status.loadBalancer.ingress");
    }
  }

  // Phase 2: new allocations from pools, oldest Service first.
  for (const c of ordered) {
    const g = inputs.groups.get(c.groupKey);
    if (
      g === undefined ||
      !wantsPool(c) ||
      (c.poolName !== undefined && !(usable.get(g.key) ?? []).some((p) => p.name === c.poolName))
    )
      continue;
    const pools = matchingPools(c, g).filter((p) => p.autoAssign);
    const have = (family: Family): boolean => (taken.get(c.key) ?? []).some((ip) => ip.family === family);
    const missing: Family[] = [];
    for (const family of c.families) {
      if (have(family)) continue;
      if (c.requested.some((r) => r.family === family)) continue;
      // A Service with a sharing key joins an IP of its key first.
      const shareable =
        c.sharingKey === undefined
          ? undefined
          : [...table.entries()].find(
              ([ip, h]) =>
                h.group === c.groupKey &&
                h.sharingKey === c.sharingKey &&
                parseIP(ip)?.family === family &&
                pools.some((p) => inRanges(p.ranges, parseIP(ip) as ParsedIP) !== undefined) &&
                !c.ports.some((port) => h.ports.has(port)),
            );
      if (
        shareable !== undefined &&
        take(
          c,
          parseIP(shareable[0]) as ParsedIP,
          "metadata.annotations[keepalived-operator.redhat-cop.io/allow-shared-ip]",
        )
      )
        continue;
      let got = false;
      for (const p of pools) {
        const ip = lowestFree(p.ranges, family, (t) => table.has(t));
        if (ip !== undefined && take(c, ip, `spec.addressPools[${p.name}]`)) {
          got = true;
          break;
        }
      }
      if (!got) missing.push(family);
    }
    if (missing.length === 0 || (usable.get(g.key) ?? []).length === 0) continue;
    const families = missing.map(familyName).join(" and ");
    const why =
      pools.length === 0
        ? `no address pool of KeepalivedGroup ${g.key} serves it (check the pools' serviceSelector, namespaceSelector and autoAssign)`
        : `the pools that serve it (${pools.map((p) => p.name).join(", ")}) have no free ${families} address; add addresses to a pool or free some`;
    warn(
      c,
      "spec.type",
      missing.length === c.families.length ? "NoAddressAvailable" : "PartialAddress",
      `no ${families} address for this LoadBalancer Service: ${why}. Other Services are unaffected.`,
    );
    if (c.requireAllFamilies) {
      // RequireDualStack: all families or none.
      for (const ip of taken.get(c.key) ?? []) {
        const h = table.get(ip.text);
        if (h === undefined) continue;
        h.owners = h.owners.filter((o) => o.key !== c.key);
        if (h.owners.length === 0) table.delete(ip.text);
      }
      taken.delete(c.key);
    }
  }

  const vips = new Map<string, ParsedIP[]>();
  for (const c of claims) vips.set(c.key, [...(taken.get(c.key) ?? [])].sort(compareIPs));
  const sharedWith = new Map<string, string[]>();
  for (const [ip, h] of table) if (h.owners.length > 1) sharedWith.set(ip, h.owners.map((o) => o.key).sort());
  const poolUsage = new Map<string, PoolUsage[]>();
  for (const g of inputs.groups.values()) {
    poolUsage.set(
      g.key,
      (usable.get(g.key) ?? []).map((p) => ({
        name: p.name,
        size: rangeSize(p.ranges).toString(),
        used: [...table.keys()].filter((ip) => inRanges(p.ranges, parseIP(ip) as ParsedIP) !== undefined)
          .length,
      })),
    );
  }
  return { vips, sharedWith, diagnostics, poolUsage };
}
