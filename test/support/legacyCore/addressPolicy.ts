// Which addresses a group may hand out or accept: its usable pools, its allowed ranges and OpenShift's
// externalIP policy. Pure.
import { errorOn, type Diagnostic, type ObjectRef } from "./diagnostics.js";
import type { GroupModel } from "./group.js";
import type { ParsedIP } from "./ip.js";
import { byAge } from "./keys.js";
import { selectorMatches } from "./labels.js";
import type { OpenShiftPolicy } from "./openshift.js";
import { inRanges, rangesOverlap, type IpRange, type Pool } from "./pools.js";
import type { ReservedAddresses } from "./reserved.js";
import type { ServiceClaim } from "./service.js";
import { quote } from "./validate.js";

const OPENSHIFT_POLICY = "the OpenShift Network's externalIP policy";

export class AddressPolicy {
  constructor(
    /** Usable pools by group key (see usablePools). */
    private readonly usable: ReadonlyMap<string, Pool[]>,
    /** Namespace labels, for pools' namespaceSelector. */
    private readonly namespaceLabels: Readonly<Record<string, Record<string, string>>>,
    private readonly openshift?: OpenShiftPolicy,
  ) {}

  /** The group's pools that may be used, in spec order. */
  pools(group: GroupModel): Pool[] {
    return this.usable.get(group.key) ?? [];
  }

  hasPool(group: GroupModel, name: string): boolean {
    return this.pools(group).some((p) => p.name === name);
  }

  /** The group's pools that serve the Service: the one it names, if any, whose selectors match it. */
  poolsServing(claim: ServiceClaim, group: GroupModel): Pool[] {
    return this.pools(group).filter(
      (p) =>
        (claim.poolName === undefined || p.name === claim.poolName) &&
        selectorMatches(p.serviceSelector, claim.labels) &&
        selectorMatches(p.namespaceSelector, this.namespaceLabels[claim.namespace]),
    );
  }

  /** What lets a Service author use `ip` in the group (for messages), or undefined when nothing does. */
  allowedBy(group: GroupModel, ip: ParsedIP): string | undefined {
    const openshift = this.openshift;
    if (openshift !== undefined && inRanges(openshift.rejected, ip) !== undefined) return undefined;
    const pool = this.pools(group).find((p) => inRanges(p.ranges, ip) !== undefined);
    if (pool !== undefined) return `pool ${pool.name}`;
    if (inRanges(group.allowed, ip) !== undefined) return "spec.allowedCIDRs";
    if (
      openshift !== undefined &&
      (inRanges(openshift.allowed, ip) ?? inRanges(openshift.autoAssign, ip)) !== undefined
    ) {
      return OPENSHIFT_POLICY;
    }
    return undefined;
  }

  /** Every range the group allows, for messages. */
  describe(group: GroupModel): string {
    const parts = [
      ...this.pools(group).map((p) => `pool ${p.name} (${p.ranges.map((r) => r.text).join(", ")})`),
      ...(group.allowed.length > 0
        ? [`spec.allowedCIDRs (${group.allowed.map((r) => r.text).join(", ")})`]
        : []),
      ...(this.openshift !== undefined ? [OPENSHIFT_POLICY] : []),
    ];
    return parts.length === 0 ? "none is configured" : parts.join("; ");
  }
}

/**
 * Each group's usable pools: not overlapping an older group's pools, not containing a node's address nor
 * overlapping the cluster's Service or Pod network. A refused pool is an Error on its group.
 */
export function usablePools(
  groups: Iterable<GroupModel>,
  reserved: ReservedAddresses,
  diagnostics: Diagnostic[],
): Map<string, Pool[]> {
  const usable = new Map<string, Pool[]>();
  const claimed: { group: GroupModel; pool: Pool; range: IpRange }[] = [];
  for (const group of [...groups].sort(byAge)) {
    const pools: Pool[] = [];
    group.pools.forEach((pool, i) => {
      const problem = poolProblem(group, pool, reserved, claimed);
      if (problem !== undefined) {
        diagnostics.push(
          errorOn(poolsOwner(group), `spec.addressPools[${i}]`, problem.reason, problem.message),
        );
        return;
      }
      for (const range of pool.ranges) claimed.push({ group: group, pool, range });
      pools.push(pool);
    });
    usable.set(group.key, pools);
  }
  return usable;
}

function poolProblem(
  group: GroupModel,
  pool: Pool,
  reserved: ReservedAddresses,
  claimed: readonly { group: GroupModel; pool: Pool; range: IpRange }[],
): { reason: string; message: string } | undefined {
  const node = reserved.nodeAddressIn(pool.ranges);
  if (node !== undefined) {
    return {
      reason: "PoolContainsNodeAddress",
      message: `pool ${quote(pool.name)} contains node address ${node.ip.text} (the ${node.type} of node ${node.node}); the pool is not used until that address is taken out of it.`,
    };
  }
  const network = reserved.clusterNetworkOverlapping(pool.ranges);
  if (network !== undefined) {
    return {
      reason: "PoolOverlapsClusterNetwork",
      message: `pool ${quote(pool.name)} overlaps ${network}; the pool is not used until it is moved out of that network.`,
    };
  }
  const clash = claimed.find(
    (other) => other.group !== group && pool.ranges.some((r) => rangesOverlap(r, other.range)),
  );
  if (clash !== undefined) {
    return {
      reason: "OverlappingAddressPools",
      message: `pool ${quote(pool.name)} overlaps pool ${quote(clash.pool.name)} of KeepalivedGroup ${clash.group.key} (${clash.range.text}), which is older; the pool is not used until the overlap is removed.`,
    };
  }
  return undefined;
}

// Not groupObject: this key order is the one plans have always been written with.
function poolsOwner(group: GroupModel): ObjectRef {
  return { kind: "KeepalivedGroup", namespace: group.namespace, name: group.name };
}
