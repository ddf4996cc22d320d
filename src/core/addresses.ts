// Which IPs each Service gets: trusted status IPs, externalIPs inside the allowed ranges, requested IPs and
// pool allocations, with sharing by key. Pure; the outcome depends only on its inputs, and an IP a Service
// already holds (recorded in the ingress we wrote) is kept before anything new is handed out.
import { ADDRESS_POOL_ANNOTATION, SHARING_KEY_ANNOTATION } from "../api/names.js";
import { annotationField, serviceObject, warningOn, type Diagnostic } from "./diagnostics.js";
import type { GroupModel } from "./group.js";
import { familyName, parseIP, type Family, type ParsedIP } from "./ip.js";
import { byAge } from "./keys.js";
import { AddressLedger } from "./addressLedger.js";
import { AddressPolicy, usablePools } from "./addressPolicy.js";
import type { OpenShiftPolicy } from "./openshift.js";
import { inRanges, lowestFree, rangeSize, type Pool } from "./pools.js";
import type { ServiceClaim } from "./service.js";

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

/** One assignment in progress: what each group allows, who holds what so far, what went wrong. */
interface Assignment {
  inputs: AddressInputs;
  policy: AddressPolicy;
  ledger: AddressLedger;
  diagnostics: Diagnostic[];
}

export function assignAddresses(claims: readonly ServiceClaim[], inputs: AddressInputs): AddressOutcome {
  const diagnostics: Diagnostic[] = [];
  const usable = usablePools(inputs.groups.values(), inputs.nodeAddresses, diagnostics);
  const policy = new AddressPolicy(usable, inputs.namespaceLabels, inputs.openshift);
  const ledger = new AddressLedger(diagnostics);
  const assignment: Assignment = { inputs, policy, ledger, diagnostics };
  const ordered = holdersFirst(claims, inputs.previous);
  for (const c of ordered) takeNamedAddresses(assignment, c);
  for (const c of ordered) allocateFromPools(assignment, c);
  return {
    vips: ledger.vipsOf(claims),
    sharedWith: ledger.sharedWith(),
    diagnostics,
    poolUsage: poolUsage(inputs.groups.values(), policy, ledger),
  };
}

/** Services that already hold an IP go first, so a restart never hands their IP to another; then oldest first. */
function holdersFirst(
  claims: readonly ServiceClaim[],
  previous: Readonly<Record<string, string[]>>,
): ServiceClaim[] {
  const holds = (c: ServiceClaim): number => ((previous[c.key] ?? []).length > 0 ? 0 : 1);
  return [...claims].sort((a, b) => holds(a) - holds(b) || byAge(a, b));
}

/** Only a LoadBalancer Service that names no IP of its own gets one from a pool. */
function wantsPool(c: ServiceClaim): boolean {
  return c.loadBalancer && c.trusted.length === 0 && c.external.length === 0;
}

function warn(a: Assignment, c: ServiceClaim, field: string, reason: string, message: string): void {
  a.diagnostics.push(warningOn(serviceObject(c), field, reason, message));
}

/** Phase 1: addresses named explicitly (status, externalIPs, requests, earlier allocations). */
function takeNamedAddresses(a: Assignment, c: ServiceClaim): void {
  const g = a.inputs.groups.get(c.groupKey);
  if (g === undefined) return;
  for (const ip of c.trusted) a.ledger.take(c, ip, c.vipFields[ip.text] ?? "status.loadBalancer.ingress");
  for (const ip of c.external) {
    const field = c.vipFields[ip.text] ?? "spec.externalIPs";
    if (a.policy.allowedBy(g, ip) !== undefined) a.ledger.take(c, ip, field);
    else
      warn(
        a,
        c,
        field,
        "OutsideAllowedRanges",
        `${ip.text} is outside the addresses KeepalivedGroup ${g.key} allows (${a.policy.describe(g)}), so it is not announced; ask a cluster administrator to add it to spec.allowedCIDRs or to an address pool of the group, or remove it.`,
      );
  }
  if (!wantsPool(c) || !namedPoolExists(a, c, g)) return;
  const pools = a.policy.poolsServing(c, g);
  takeRequested(a, c, g, pools);
  keepEarlierAllocation(a, c, pools);
}

/** Whether the pool the Service names, if any, is a usable pool of its group; says so when not. */
function namedPoolExists(a: Assignment, c: ServiceClaim, g: GroupModel): boolean {
  if (c.poolName === undefined || a.policy.hasPool(g, c.poolName)) return true;
  warn(
    a,
    c,
    annotationField(ADDRESS_POOL_ANNOTATION),
    "UnknownAddressPool",
    `KeepalivedGroup ${g.key} has no usable address pool ${JSON.stringify(c.poolName)}; pools: ${
      a.policy
        .pools(g)
        .map((p) => p.name)
        .join(", ") || "none"
    }.`,
  );
  return false;
}

/** IPs asked for, when a pool that serves the Service or spec.allowedCIDRs holds them. */
function takeRequested(a: Assignment, c: ServiceClaim, g: GroupModel, pools: readonly Pool[]): void {
  for (const ip of c.requested) {
    const field = c.vipFields[ip.text] ?? "spec.loadBalancerIP";
    const inPool = pools.some((p) => inRanges(p.ranges, ip) !== undefined);
    if (inPool || inRanges(g.allowed, ip) !== undefined) {
      a.ledger.take(c, ip, field);
      continue;
    }
    warn(
      a,
      c,
      field,
      "RequestedIPNotAllowed",
      `${ip.text} is in no address pool that serves this Service nor in spec.allowedCIDRs of KeepalivedGroup ${g.key} (${a.policy.describe(g)}); ask for an address of those ranges.`,
    );
  }
}

/** IPs the Service got from a pool before (the ingress we wrote), for families it still wants and did not ask for. */
function keepEarlierAllocation(a: Assignment, c: ServiceClaim, pools: readonly Pool[]): void {
  for (const text of a.inputs.previous[c.key] ?? []) {
    const ip = parseIP(text);
    if (
      ip === undefined ||
      c.requested.some((r) => r.family === ip.family) ||
      !c.families.includes(ip.family)
    )
      continue;
    if (!pools.some((p) => p.autoAssign && inRanges(p.ranges, ip) !== undefined)) continue;
    a.ledger.take(c, ip, "status.loadBalancer.ingress");
  }
}

/** Phase 2: new allocations from pools, oldest Service first; a family left without an address is reported. */
function allocateFromPools(a: Assignment, c: ServiceClaim): void {
  const g = a.inputs.groups.get(c.groupKey);
  if (g === undefined || !wantsPool(c) || (c.poolName !== undefined && !a.policy.hasPool(g, c.poolName)))
    return;
  const pools = a.policy.poolsServing(c, g).filter((p) => p.autoAssign);
  const missing: Family[] = [];
  for (const family of c.families) {
    if (a.ledger.heldBy(c).some((ip) => ip.family === family)) continue;
    if (c.requested.some((r) => r.family === family)) continue;
    if (!allocateFamily(a, c, family, pools)) missing.push(family);
  }
  if (missing.length === 0 || a.policy.pools(g).length === 0) return;
  reportMissing(a, c, g, missing, pools);
  if (c.requireAllFamilies) a.ledger.release(c);
}

/** One address of `family`: an IP of the Service's sharing key first, else the lowest free in the pools. */
function allocateFamily(a: Assignment, c: ServiceClaim, family: Family, pools: readonly Pool[]): boolean {
  const shareable = a.ledger.shareableIp(c, family, pools);
  if (shareable !== undefined && a.ledger.take(c, shareable, annotationField(SHARING_KEY_ANNOTATION)))
    return true;
  for (const p of pools) {
    const ip = lowestFree(p.ranges, family, (t) => a.ledger.isHeld(t));
    if (ip !== undefined && a.ledger.take(c, ip, `spec.addressPools[${p.name}]`)) return true;
  }
  return false;
}

function reportMissing(
  a: Assignment,
  c: ServiceClaim,
  g: GroupModel,
  missing: readonly Family[],
  pools: readonly Pool[],
): void {
  const families = missing.map(familyName).join(" and ");
  const why =
    pools.length === 0
      ? `no address pool of KeepalivedGroup ${g.key} serves it (check the pools' serviceSelector, namespaceSelector and autoAssign)`
      : `the pools that serve it (${pools.map((p) => p.name).join(", ")}) have no free ${families} address; add addresses to a pool or free some`;
  warn(
    a,
    c,
    "spec.type",
    missing.length === c.families.length ? "NoAddressAvailable" : "PartialAddress",
    `no ${families} address for this LoadBalancer Service: ${why}. Other Services are unaffected.`,
  );
}

/** Size and use of each usable pool, by group key. */
function poolUsage(
  groups: Iterable<GroupModel>,
  policy: AddressPolicy,
  ledger: AddressLedger,
): Map<string, PoolUsage[]> {
  const usage = new Map<string, PoolUsage[]>();
  for (const g of groups) {
    usage.set(
      g.key,
      policy
        .pools(g)
        .map((p) => ({ name: p.name, size: rangeSize(p.ranges).toString(), used: ledger.countIn(p.ranges) })),
    );
  }
  return usage;
}
