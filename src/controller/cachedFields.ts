// What the controller's caches keep of each object (the informers' transform, as client-go's TransformFunc):
// the fields the planner and decide() read, so thousands of Services and busy Nodes do not keep managedFields,
// kubectl's last-applied copy, cluster IPs, images and conditions nobody reads. Pure. What the planner reads is
// named by its shapes (core/wireShapes.ts); every field they name is kept as it came, whatever its type, so
// the planner sees, and reports, the same (test/unit/controller/cachedFields.test.ts checks both).
import type { EndpointSliceObject, KubeObject } from "../api/kube.js";
import type { ObjectMeta } from "../api/types.js";
import type { NodeObject } from "../core/objects.js";
import {
  ownsIngress,
  type ManagedFieldsEntry,
  type ServiceWithManagedFields,
} from "../render/serviceStatus.js";
import { FIELD_MANAGER } from "../api/names.js";
import type { WrittenObject } from "./writer.js";

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/** Service spec fields the planner reads (core/wireShapes.ts SERVICE) or decide() does. */
const SERVICE_SPEC = [
  "type",
  "externalIPs",
  "loadBalancerIP",
  "loadBalancerClass",
  "externalTrafficPolicy",
  "healthCheckNodePort",
  "ipFamilies",
  "ipFamilyPolicy",
  "ports",
] as const;

/** The one managedFields entry ownsIngress() looks for, standing for ours when we own the ingress. */
const OWN_INGRESS_ENTRY = {
  manager: FIELD_MANAGER,
  operation: "Apply",
  subresource: "status",
  fieldsV1: { "f:status": { "f:loadBalancer": { "f:ingress": {} } } },
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The named fields of `from` that it has (own, defined), in the order named; a non-object as it is. */
function pick(from: unknown, names: readonly string[]): unknown {
  if (!isRecord(from)) return from;
  const out: Record<string, unknown> = {};
  for (const n of names) if (Object.hasOwn(from, n) && from[n] !== undefined) out[n] = from[n];
  return out;
}

function kindOf(o: KubeObject): { apiVersion?: string; kind?: string } {
  return pick(o, ["apiVersion", "kind"]) as { apiVersion?: string; kind?: string };
}

/** Metadata without managedFields and kubectl's copy of the last applied object. */
export function cachedMeta(m: ObjectMeta & { managedFields?: unknown }): ObjectMeta {
  if (!isRecord(m)) return m;
  const { managedFields: _managed, ...rest } = m;
  const annotations = rest.annotations;
  if (isRecord(annotations) && Object.hasOwn(annotations, LAST_APPLIED)) {
    const { [LAST_APPLIED]: _applied, ...others } = annotations;
    rest.annotations = others;
  }
  return rest;
}

/** Any kind: its metadata as cachedMeta keeps it, the rest as it came. */
export function cachedObject<T extends KubeObject>(o: T): T {
  if (!isRecord(o) || !isRecord(o.metadata)) return o;
  return { ...o, metadata: cachedMeta(o.metadata) };
}

/** A Service: its metadata, the spec fields read, and its status; managedFields only as "we own the ingress". */
export function cachedService(s: ServiceWithManagedFields): ServiceWithManagedFields {
  if (!isRecord(s) || !isRecord(s.metadata)) return s;
  const metadata: ServiceWithManagedFields["metadata"] = cachedMeta(s.metadata);
  const managed: unknown = s.metadata.managedFields;
  if (!Array.isArray(managed)) {
    if (managed !== undefined) metadata.managedFields = managed as ManagedFieldsEntry[];
  } else if (ownsIngress(s)) metadata.managedFields = [OWN_INGRESS_ENTRY];
  const out: ServiceWithManagedFields = { ...kindOf(s), metadata };
  if (s.spec !== undefined)
    out.spec = pick(s.spec, SERVICE_SPEC) as NonNullable<ServiceWithManagedFields["spec"]>;
  if (s.status !== undefined) out.status = s.status;
  return out;
}

/** A Node: metadata, spec.unschedulable and status.addresses (core/wireShapes.ts NODE). */
export function cachedNode(n: NodeObject): NodeObject {
  if (!isRecord(n) || !isRecord(n.metadata)) return n;
  const out: NodeObject = { ...kindOf(n), metadata: cachedMeta(n.metadata) };
  if (n.spec !== undefined) out.spec = pick(n.spec, ["unschedulable"]) as NonNullable<NodeObject["spec"]>;
  if (n.status !== undefined) out.status = pick(n.status, ["addresses"]) as NonNullable<NodeObject["status"]>;
  return out;
}

type Endpoint = NonNullable<EndpointSliceObject["endpoints"]>[number];

/** An EndpointSlice: metadata, and of each endpoint its node and whether it is ready (snapshot.ts). */
export function cachedEndpointSlice(e: EndpointSliceObject): EndpointSliceObject {
  if (!isRecord(e) || !isRecord(e.metadata)) return e;
  const out: EndpointSliceObject = { ...kindOf(e), metadata: cachedMeta(e.metadata) };
  const endpoints: unknown = e.endpoints;
  if (!Array.isArray(endpoints)) {
    if (endpoints !== undefined) out.endpoints = endpoints as Endpoint[];
    return out;
  }
  out.endpoints = (endpoints as Endpoint[]).map((p: Endpoint): Endpoint => {
    if (!isRecord(p)) return p;
    const kept = pick(p, ["nodeName"]) as Endpoint;
    if (p.conditions !== undefined)
      kept.conditions = pick(p.conditions, ["ready"]) as NonNullable<Endpoint["conditions"]>;
    return kept;
  });
  return out;
}

/**
 * What the controller keeps of an object the API server answered its write with, until the cache catches up
 * (ownWrites.ts): the same as the cache keeps, so thousands of status writes do not hold whole Services.
 */
export function cachedWrite(o: WrittenObject): WrittenObject {
  if (o.kind === "Service") return cachedService(o) as unknown as WrittenObject;
  return cachedObject(o);
}
