// Service status.loadBalancer.ingress written by the controller, and how to tell ours from someone else's.
// Pure. We write ingress only where nobody else does (it is empty, or our field manager already owns it).
import { FIELD_MANAGER } from "../api/names.js";
import type { ServiceObject } from "../core/objects.js";
import type { ServicePlan } from "../core/plan.js";

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsV1?: Record<string, unknown>;
}

export type ServiceWithManagedFields = ServiceObject & {
  metadata: { managedFields?: ManagedFieldsEntry[]; uid?: string };
};

/** Whether our field manager owns status.loadBalancer.ingress (so its IPs are derived, not requested). */
export function ownsIngress(s: ServiceWithManagedFields): boolean {
  return (s.metadata.managedFields ?? []).some((m) => {
    if (m.manager !== FIELD_MANAGER || m.subresource !== "status") return false;
    const status = m.fieldsV1?.["f:status"] as Record<string, unknown> | undefined;
    const lb = status?.["f:loadBalancer"] as Record<string, unknown> | undefined;
    return lb?.["f:ingress"] !== undefined;
  });
}

/** The ingress the Service's status should carry, or undefined when we must not touch it. */
export function desiredIngress(
  s: ServiceWithManagedFields,
  plan: ServicePlan | undefined,
  ours = ownsIngress(s),
): { ip: string; ipMode: "VIP" }[] | undefined {
  const current = s.status?.loadBalancer?.ingress ?? [];
  if (!ours && current.length > 0) return undefined;
  if (s.spec?.type !== "LoadBalancer") return ours ? [] : undefined;
  const wanted = (plan?.announced ?? []).map((a) => ({ ip: a.ip, ipMode: "VIP" as const }));
  if (!ours && wanted.length === 0) return undefined;
  return wanted;
}

export function sameIngress(s: ServiceObject, wanted: { ip: string; ipMode: string }[]): boolean {
  const current = s.status?.loadBalancer?.ingress ?? [];
  return (
    current.length === wanted.length &&
    current.every((c, i) => {
      const w = wanted[i];
      return w !== undefined && (c.ip ?? "") === w.ip && (c.ipMode ?? "") === w.ipMode;
    })
  );
}

/**
 * Whether the Service's ingress already shows the plan's announced IPs (ipMode VIP), in order: then a Service
 * whose ingress we own needs no write (desiredIngress would give what sameIngress finds there), and the common
 * case of a reconcile allocates nothing.
 */
export function publishedAsPlanned(s: ServiceObject, plan: ServicePlan): boolean {
  const current = s.status?.loadBalancer?.ingress ?? [];
  const announced = plan.announced;
  if (current.length !== announced.length) return false;
  for (let i = 0; i < current.length; i++) {
    if (current[i]?.ip !== announced[i]?.ip || current[i]?.ipMode !== "VIP") return false;
  }
  return true;
}

/** A copy of the Service without the ingress we wrote ourselves: those IPs are outputs, not requests. */
export function withoutOwnIngress(s: ServiceWithManagedFields): ServiceObject {
  if (!ownsIngress(s)) return s;
  return { ...s, status: { ...s.status, loadBalancer: {} } };
}
