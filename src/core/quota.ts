// The quota of instances of their own per namespace and group. A Service with a verbatimconfig annotation or
// externalTrafficPolicy: Local gets a VRRP instance (and a router ID, one of at most 255 in the cluster) per
// address family; without a quota one namespace could take every router ID, and another group would then
// announce nothing. Older Services come first, so one that has its instance never loses it to a newer one. Pure.
import { VERBATIM_CONFIG_ANNOTATION } from "../api/names.js";
import { annotationField, groupObject, serviceObject, warningOn, type Diagnostic } from "./diagnostics.js";
import type { GroupModel } from "./group.js";
import { byAge } from "./keys.js";
import { isDedicated, type ServiceClaim } from "./service.js";

/** Instances a dedicated claim needs: one per family of its VIPs. */
function instancesOf(claim: ServiceClaim): number {
  const v4 = claim.vips.some((v) => v.family === 4);
  const v6 = claim.vips.some((v) => v.family === 6);
  return (v4 ? 1 : 0) + (v6 ? 1 : 0);
}

/**
 * The claims that fit the group's quota of dedicated instances per namespace (spec.dedicatedInstancesPerNamespace);
 * each one over it gets a Warning and is not planned, and the group a Warning naming the namespaces.
 */
export function withinDedicatedQuota(
  model: GroupModel,
  claims: readonly ServiceClaim[],
  diagnostics: Diagnostic[],
): ServiceClaim[] {
  const used = new Map<string, number>();
  const over = new Map<string, string[]>();
  const refused = new Set<string>();
  const quota = model.dedicatedPerNamespace;
  for (const claim of [...claims].sort(byAge)) {
    const need = isDedicated(claim) ? instancesOf(claim) : 0;
    if (need === 0) continue;
    const have = used.get(claim.namespace) ?? 0;
    if (have + need <= quota) {
      used.set(claim.namespace, have + need);
      continue;
    }
    refused.add(claim.key);
    const names = over.get(claim.namespace);
    if (names === undefined) over.set(claim.namespace, [claim.name]);
    else names.push(claim.name);
    diagnostics.push(
      warningOn(
        serviceObject(claim),
        claim.instanceSettings.length > 0
          ? annotationField(VERBATIM_CONFIG_ANNOTATION)
          : "spec.externalTrafficPolicy",
        "DedicatedInstanceQuotaExceeded",
        `namespace ${claim.namespace} already has ${have} of the ${quota} VRRP instances of their own that KeepalivedGroup ${model.key} allows per namespace (spec.dedicatedInstancesPerNamespace), and this Service needs ${need} (it has ${claim.localTrafficOnly ? "externalTrafficPolicy: Local" : "a verbatimconfig annotation"}); it is not announced. Remove the verbatimconfig annotation or use externalTrafficPolicy: Cluster on this or another Service of the namespace, or ask an administrator to raise the quota.`,
      ),
    );
  }
  if (over.size > 0) diagnostics.push(quotaExceeded(model, over));
  return claims.filter((c) => !refused.has(c.key));
}

function quotaExceeded(model: GroupModel, over: ReadonlyMap<string, string[]>): Diagnostic {
  const parts = [...over.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(
      ([ns, names]) =>
        `${ns} (${names.length}: ${names.slice(0, 3).join(", ")}${names.length > 3 ? ", …" : ""})`,
    );
  return warningOn(
    groupObject(model),
    "spec.dedicatedInstancesPerNamespace",
    "DedicatedInstanceQuotaExceeded",
    `Services of ${over.size} namespace(s) are over the quota of ${model.dedicatedPerNamespace} VRRP instances of their own per namespace and are not announced: ${parts.join("; ")}. Raise spec.dedicatedInstancesPerNamespace if the router IDs allow it.`,
  );
}
