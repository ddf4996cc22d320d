// Which IPs each Service gets: trusted status IPs, externalIPs inside the allowed ranges, requested IPs and
// pool allocations, with sharing by key. Pure; the outcome depends only on its inputs, and an IP a Service
// already holds (recorded in the ingress we wrote) is kept before anything new is handed out.
import type { PublishedIps } from "./publishedIngress.js";
import { ADDRESS_POOL_ANNOTATION, SHARING_KEY_ANNOTATION } from "../api/names.js";
import { annotationField, serviceObject, warningOn, type Diagnostic } from "./diagnostics.js";
import type { GroupModel } from "./group.js";
import { familyName, parseIP, type Family, type ParsedIP } from "./ip.js";
import { byAge } from "./keys.js";
import { AddressLedger } from "./addressLedger.js";
import { AddressPolicy, usablePools } from "./addressPolicy.js";
import type { OpenShiftPolicy } from "./openshift.js";
import { inRanges, lowestFree, rangeSize, type IpRange, type Pool } from "./pools.js";
import type { ReservedAddresses } from "./reserved.js";
import type { ServiceClaim } from "./service.js";
import { quote } from "./validate.js";

export interface AddressInputs {
  groups: ReadonlyMap<string, GroupModel>;
  /** Namespace labels, for pools' namespaceSelector. */
  namespaceLabels: Readonly<Record<string, Record<string, string>>>;
  openshift?: OpenShiftPolicy;
  /** IPs each Service holds from an earlier allocation (the ingress we wrote), by `namespace/name`. */
  previous: PublishedIps;
  /** Addresses never handed out nor announced: node addresses, cluster networks, CIDR edges. */
  reserved: ReservedAddresses;
}

export interface PoolUsage {
  name: string;
  size: string;
  used: number;
}

/** Accepted VIPs of a Service by its key and its group's (a Map, or one map per group). */
export interface VipLookup {
  get(serviceKey: string, groupKey: string): ParsedIP[] | undefined;
}

export interface AddressOutcome {
  /** Accepted VIPs of each Service, sorted. */
  vips: VipLookup;
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
  /** Where the taken addresses of each pool range end (see lowestFree); cleared when addresses are given back. */
  scanned: Map<IpRange, bigint>;
}

export function assignAddresses(claims: readonly ServiceClaim[], inputs: AddressInputs): AddressOutcome {
  const diagnostics: Diagnostic[] = [];
  const usable = usablePools(inputs.groups.values(), inputs.reserved, diagnostics);
  const policy = new AddressPolicy(usable, inputs.namespaceLabels, inputs.openshift);
  const ledger = new AddressLedger(diagnostics);
  const assignment: Assignment = { inputs, policy, ledger, diagnostics, scanned: new Map() };
  const ordered = holdersFirst(claims, inputs.previous);
  for (const claim of ordered) keepPublished(assignment, claim);
  for (const claim of ordered) takeTrusted(assignment, claim, true);
  for (const claim of ordered) takeNamedAddresses(assignment, claim);
  for (const claim of ordered) allocateFromPools(assignment, claim);
  return {
    vips: ledger.vipsOf(claims),
    sharedWith: ledger.sharedWith(),
    diagnostics,
    poolUsage: poolUsage(inputs.groups.values(), policy, ledger),
  };
}

/** Services that already hold an IP go first, so a restart never hands their IP to another; then oldest first. */
function holdersFirst(claims: readonly ServiceClaim[], previous: PublishedIps): ServiceClaim[] {
  const holders: ServiceClaim[] = [];
  const others: ServiceClaim[] = [];
  for (const claim of claims) ((previous.get(claim.key) ?? []).length > 0 ? holders : others).push(claim);
  return [...holders.sort(byAge), ...others.sort(byAge)];
}

/** Only a LoadBalancer Service that names no IP of its own gets one from a pool. */
function wantsPool(claim: ServiceClaim): boolean {
  return claim.loadBalancer && claim.trusted.length === 0 && claim.external.length === 0;
}

function warn(
  assignment: Assignment,
  claim: ServiceClaim,
  field: string,
  reason: string,
  message: string,
): void {
  assignment.diagnostics.push(warningOn(serviceObject(claim), field, reason, message));
}

/**
 * Phase 0: an IP a Service has published (the ingress we wrote) and still asks for stays its own, before any
 * other Service's claim is looked at: a published IP never moves to another Service. Refusals are phase 1's.
 */
function keepPublished(assignment: Assignment, claim: ServiceClaim): void {
  const group = assignment.inputs.groups.get(claim.groupKey);
  const published = new Set(assignment.inputs.previous.get(claim.key) ?? []);
  if (group === undefined || published.size === 0) return;
  // A reserved address (a node's, a network's own) is never kept; phase 1 says why.
  const free = (ip: ParsedIP): boolean => assignment.inputs.reserved.reason(ip, group) === undefined;
  for (const ip of claim.external) {
    if (published.has(ip.text) && free(ip) && assignment.policy.allowedBy(group, ip) !== undefined)
      assignment.ledger.take(claim, ip, claim.vipFields[ip.text] ?? "spec.externalIPs");
  }
  if (
    !wantsPool(claim) ||
    (claim.poolName !== undefined && !assignment.policy.hasPool(group, claim.poolName))
  )
    return;
  const pools = assignment.policy.poolsServing(claim, group);
  for (const ip of claim.requested) {
    const allowed =
      pools.some((p) => inRanges(p.ranges, ip) !== undefined) || inRanges(group.allowed, ip) !== undefined;
    if (published.has(ip.text) && free(ip) && allowed)
      assignment.ledger.take(claim, ip, claim.vipFields[ip.text] ?? "spec.loadBalancerIP");
  }
  const earlier = [...published].map((text) => parseIP(text));
  if (earlier.every((ip) => ip !== undefined && free(ip)))
    keepEarlierAllocation(assignment, claim, group, pools);
}

/**
 * Phase 1a: IPs published in a Service's status by another controller, inside the addresses its group allows.
 * They are taken before any Service merely asks for one, whatever its age says (a creationTimestamp in a file
 * can be forged): a published IP never moves to another Service. A status IP outside its group's addresses
 * proves nothing and waits for phase 1b, in age order.
 */
function takeTrusted(assignment: Assignment, claim: ServiceClaim, inGroup: boolean): void {
  const group = assignment.inputs.groups.get(claim.groupKey);
  if (group === undefined) return;
  for (const ip of claim.trusted) {
    if ((assignment.policy.allowedBy(group, ip) !== undefined) !== inGroup) continue;
    const field = claim.vipFields[ip.text] ?? "status.loadBalancer.ingress";
    if (notReserved(assignment, claim, group, ip, field)) assignment.ledger.take(claim, ip, field);
  }
}

/** Phase 1b: other status IPs, and addresses asked for explicitly (externalIPs, requests, earlier allocations). */
function takeNamedAddresses(assignment: Assignment, claim: ServiceClaim): void {
  const group = assignment.inputs.groups.get(claim.groupKey);
  if (group === undefined) return;
  takeTrusted(assignment, claim, false);
  for (const ip of claim.external) {
    const field = claim.vipFields[ip.text] ?? "spec.externalIPs";
    if (!notReserved(assignment, claim, group, ip, field)) continue;
    if (assignment.policy.allowedBy(group, ip) !== undefined) assignment.ledger.take(claim, ip, field);
    else
      warn(
        assignment,
        claim,
        field,
        "OutsideAllowedRanges",
        `${ip.text} is outside the addresses KeepalivedGroup ${group.key} allows (${assignment.policy.describe(group)}), so it is not announced; ask a cluster administrator to add it to spec.allowedCIDRs or to an address pool of the group, or remove it.`,
      );
  }
  if (!wantsPool(claim) || !namedPoolExists(assignment, claim, group)) return;
  const pools = assignment.policy.poolsServing(claim, group);
  takeRequested(assignment, claim, group, pools);
  keepEarlierAllocation(assignment, claim, group, pools);
}

/** Whether `ip` may be a VIP at all (see ReservedAddresses); says why not on the Service, naming the field. */
function notReserved(
  assignment: Assignment,
  claim: ServiceClaim,
  group: GroupModel,
  ip: ParsedIP,
  field: string,
): boolean {
  const why = assignment.inputs.reserved.reason(ip, group);
  if (why === undefined) return true;
  warn(
    assignment,
    claim,
    field,
    "ReservedAddress",
    `${ip.text} ${why}; it is not announced. Use another address.`,
  );
  return false;
}

/** Whether the pool the Service names, if any, is a usable pool of its group; says so when not. */
function namedPoolExists(assignment: Assignment, claim: ServiceClaim, group: GroupModel): boolean {
  if (claim.poolName === undefined || assignment.policy.hasPool(group, claim.poolName)) return true;
  warn(
    assignment,
    claim,
    annotationField(ADDRESS_POOL_ANNOTATION),
    "UnknownAddressPool",
    `KeepalivedGroup ${group.key} has no usable address pool ${quote(claim.poolName)}; pools: ${
      assignment.policy
        .pools(group)
        .map((p) => p.name)
        .join(", ") || "none"
    }.`,
  );
  return false;
}

/** IPs asked for, when a pool that serves the Service or spec.allowedCIDRs holds them. */
function takeRequested(
  assignment: Assignment,
  claim: ServiceClaim,
  group: GroupModel,
  pools: readonly Pool[],
): void {
  for (const ip of claim.requested) {
    const field = claim.vipFields[ip.text] ?? "spec.loadBalancerIP";
    if (!notReserved(assignment, claim, group, ip, field)) continue;
    const inPool = pools.some((p) => inRanges(p.ranges, ip) !== undefined);
    if (inPool || inRanges(group.allowed, ip) !== undefined) {
      assignment.ledger.take(claim, ip, field);
      continue;
    }
    warn(
      assignment,
      claim,
      field,
      "RequestedIPNotAllowed",
      `${ip.text} is in no address pool that serves this Service nor in spec.allowedCIDRs of KeepalivedGroup ${group.key} (${assignment.policy.describe(group)}); ask for an address of those ranges.`,
    );
  }
}

/** IPs the Service got from a pool before (the ingress we wrote), for families it still wants and did not ask for. */
function keepEarlierAllocation(
  assignment: Assignment,
  claim: ServiceClaim,
  group: GroupModel,
  pools: readonly Pool[],
): void {
  for (const text of assignment.inputs.previous.get(claim.key) ?? []) {
    const ip = parseIP(text);
    if (
      ip === undefined ||
      claim.requested.some((r) => r.family === ip.family) ||
      !claim.families.includes(ip.family)
    )
      continue;
    if (!pools.some((p) => p.autoAssign && inRanges(p.ranges, ip) !== undefined)) continue;
    if (!notReserved(assignment, claim, group, ip, "status.loadBalancer.ingress")) continue;
    assignment.ledger.take(claim, ip, "status.loadBalancer.ingress");
  }
}

/** Phase 2: new allocations from pools, oldest Service first; a family left without an address is reported. */
function allocateFromPools(assignment: Assignment, claim: ServiceClaim): void {
  const group = assignment.inputs.groups.get(claim.groupKey);
  if (
    group === undefined ||
    !wantsPool(claim) ||
    (claim.poolName !== undefined && !assignment.policy.hasPool(group, claim.poolName))
  )
    return;
  const pools = assignment.policy.poolsServing(claim, group).filter((p) => p.autoAssign);
  const missing: Family[] = [];
  for (const family of claim.families) {
    if (assignment.ledger.heldBy(claim).some((ip) => ip.family === family)) continue;
    if (claim.requested.some((r) => r.family === family)) continue;
    if (!allocateFamily(assignment, claim, group, family, pools)) missing.push(family);
  }
  if (missing.length === 0 || assignment.policy.pools(group).length === 0) return;
  reportMissing(assignment, claim, group, missing, pools);
  if (claim.requireAllFamilies) {
    assignment.ledger.release(claim);
    assignment.scanned.clear();
  }
}

/** One address of `family`: an IP of the Service's sharing key first, else the lowest free in the pools. */
function allocateFamily(
  assignment: Assignment,
  claim: ServiceClaim,
  group: GroupModel,
  family: Family,
  pools: readonly Pool[],
): boolean {
  const shareable = assignment.ledger.shareableIp(claim, family, pools);
  if (
    shareable !== undefined &&
    assignment.ledger.take(claim, shareable, annotationField(SHARING_KEY_ANNOTATION))
  )
    return true;
  for (const p of pools) {
    const ip = lowestFree(
      p.ranges,
      family,
      (t) => assignment.ledger.isHeld(t.text) || assignment.inputs.reserved.reason(t, group) !== undefined,
      assignment.scanned,
    );
    if (ip !== undefined && assignment.ledger.take(claim, ip, `spec.addressPools[${p.name}]`)) return true;
  }
  return false;
}

function reportMissing(
  assignment: Assignment,
  claim: ServiceClaim,
  group: GroupModel,
  missing: readonly Family[],
  pools: readonly Pool[],
): void {
  const families = missing.map(familyName).join(" and ");
  const why =
    pools.length === 0
      ? `no address pool of KeepalivedGroup ${group.key} serves it (check the pools' serviceSelector, namespaceSelector and autoAssign)`
      : `the pools that serve it (${pools.map((p) => p.name).join(", ")}) have no free ${families} address; add addresses to a pool or free some`;
  warn(
    assignment,
    claim,
    "spec.type",
    missing.length === claim.families.length ? "NoAddressAvailable" : "PartialAddress",
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
  for (const group of groups) {
    usage.set(
      group.key,
      policy
        .pools(group)
        .map((p) => ({ name: p.name, size: rangeSize(p.ranges).toString(), used: ledger.countIn(p.ranges) })),
    );
  }
  return usage;
}
