// Address assignment group by group, reusing a group's outcome while its inputs are the same (see memo.ts).
// Exact only when no group can touch another's addresses, which independentGroups checks: every Service then
// takes addresses only inside its own group's pools and allowed ranges, and assigning each group alone gives
// each Service and each group what one assignment over all groups gives them (the same claims in the same
// order, the same ledger of their addresses). Otherwise the caller assigns all groups at once.
import { assignAddresses, type AddressInputs, type AddressOutcome } from "./addresses.js";
import type { GroupModel } from "./group.js";
import type { PlannerMemo } from "./memo.js";
import { rangesOverlap, type IpRange } from "./pools.js";
import type { ServiceClaim } from "./service.js";

function ranges(group: GroupModel): IpRange[] {
  return [...group.allowed, ...group.pools.flatMap((p) => p.ranges)];
}

/**
 * Whether assigning each group alone is the same as assigning them together: no OpenShift policy (it lets any
 * group accept the same external IPs), no Service holding a status IP written by someone else (taken wherever
 * it is), and no two groups whose pools or allowed ranges overlap.
 */
export function independentGroups(
  groups: readonly GroupModel[],
  claims: readonly ServiceClaim[],
  inputs: Pick<AddressInputs, "openshift">,
): boolean {
  if (inputs.openshift !== undefined || claims.some((c) => c.trusted.length > 0)) return false;
  const all = groups.map(ranges);
  return all.every((mine, i) =>
    all.slice(i + 1).every((theirs) => mine.every((a) => theirs.every((b) => !rangesOverlap(a, b)))),
  );
}

/**
 * assignAddresses of independent groups, one group at a time, each reused from the memo while its model, its
 * claims (by identity, in order), their published IPs and what is common to all groups (`common`: node
 * addresses, namespace labels) are as last time.
 */
export function assignAddressesByGroup(
  claims: readonly ServiceClaim[],
  inputs: AddressInputs,
  memo: PlannerMemo,
  common: string,
): AddressOutcome {
  const byGroup = new Map<string, ServiceClaim[]>([...inputs.groups.keys()].map((k) => [k, []]));
  for (const c of claims) byGroup.get(c.groupKey)?.push(c);
  const perGroup = new Map<string, AddressOutcome>();
  const out: AddressOutcome = {
    // Each group's own map, not one map of every Service made again on every pass.
    vips: { get: (serviceKey, groupKey) => perGroup.get(groupKey)?.vips.get(serviceKey, groupKey) },
    sharedWith: new Map(),
    diagnostics: [],
    poolUsage: new Map(),
  };
  for (const [key, mine] of byGroup) {
    const group = inputs.groups.get(key) as GroupModel;
    const parts: unknown[] = [memo.idOf(group), common];
    // Each claim and its published IPs by identity: the memo's reading of a Service object and the caller's
    // list of its IPs are the same objects while unchanged.
    for (const c of mine) parts.push(c, inputs.previous.get(c.key));
    const outcome = memo.assignAddresses(key, parts, () =>
      assignAddresses(mine, { ...inputs, groups: new Map([[key, group]]) }),
    );
    perGroup.set(key, outcome);
    for (const [k, v] of outcome.sharedWith) out.sharedWith.set(k, v);
    out.diagnostics.push(...outcome.diagnostics);
    for (const [k, v] of outcome.poolUsage) out.poolUsage.set(k, v);
  }
  return out;
}
