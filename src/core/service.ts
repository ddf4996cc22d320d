// Service → the claim it makes on a group: which group, which VIPs, how they are placed. Pure.
import {
  ADDRESS_POOL_ANNOTATION,
  GROUP_ANNOTATION,
  LOAD_BALANCER_IPS_ANNOTATION,
  SHARING_KEY_ANNOTATION,
  LOAD_BALANCER_CLASS,
  SPREAD_VIPS_ANNOTATION,
  VERBATIM_CONFIG_ANNOTATION,
} from "../api/names.js";
import { annotationField, Findings, type Diagnostic, type ObjectRef } from "./diagnostics.js";
import { compareIPs, notAVipReason, parseIP, type Family, type ParsedIP } from "./ip.js";
import { objectKey, splitObjectKey, type ObjectName } from "./keys.js";
import type { ServiceObject } from "./objects.js";
import { dnsLabelProblem, dnsSubdomainProblem, quote } from "./validate.js";
import { reportShapeProblems, type ShapeProblem } from "./shape.js";
import {
  allowedInstanceKeys,
  INSTANCE_VERBATIM_ALLOW_LIST,
  parseInstanceVerbatim,
  summarizeVerbatimProblems,
} from "./verbatim.js";
import { conformService } from "./wireShapes.js";

export interface ServiceClaim {
  namespace: string;
  name: string;
  /** `namespace/name` */
  key: string;
  createdAt: string;
  /** `namespace/name` of the KeepalivedGroup named by the annotation. */
  groupKey: string;
  /** Candidate VIPs, canonical, de-duplicated and sorted (IPv4 first): trusted ∪ external before allocation. */
  vips: ParsedIP[];
  /** IPs in status.loadBalancer.ingress written by someone else (a trusted controller, e.g. OpenShift). */
  trusted: ParsedIP[];
  /** IPs in spec.externalIPs: written by the Service's author, announced only inside allowed ranges. */
  external: ParsedIP[];
  /** IPs asked for through spec.loadBalancerIP or the loadbalancer-ips annotation. */
  requested: ParsedIP[];
  /** type: LoadBalancer (only these get addresses from pools). */
  loadBalancer: boolean;
  /** Families to allocate, in order (from spec.ipFamilies and spec.ipFamilyPolicy). */
  families: Family[];
  /** Whether every family must be served (RequireDualStack). */
  requireAllFamilies: boolean;
  sharingKey?: string;
  /** `PROTOCOL/port` of each port, for IP sharing. */
  ports: string[];
  poolName?: string;
  labels: Record<string, string>;
  /** Where each VIP came from, for messages. */
  vipFields: Record<string, string>;
  spreadVIPs: boolean;
  /** Extra vrrp_instance settings from the verbatimconfig annotation, sorted by key. */
  instanceSettings: [string, string][];
  /** externalTrafficPolicy: Local — only nodes with local endpoints may hold the VIPs. */
  localTrafficOnly: boolean;
  healthCheckNodePort?: number;
}

export function serviceRef(service: ServiceObject): ObjectRef {
  return {
    kind: "Service",
    namespace: service.metadata.namespace ?? "default",
    name: service.metadata.name ?? "",
  };
}

export type ServiceResult =
  | { kind: "ignored" }
  | { kind: "claim"; claim: ServiceClaim; diagnostics: Diagnostic[] }
  | { kind: "invalid"; diagnostics: Diagnostic[] };

/** Services whose VIPs get a VRRP instance of their own: local-endpoint tracking or per-instance settings. */
export function isDedicated(c: ServiceClaim): boolean {
  return c.localTrafficOnly || c.instanceSettings.length > 0;
}

/** Whether the Service is for this operator at all: annotated, LoadBalancer or externalIPs, our class or none. */
export function isOurService(service: ServiceObject): boolean {
  const annotation = service.metadata.annotations?.[GROUP_ANNOTATION];
  if (annotation === undefined) return false;
  const cls = service.spec?.loadBalancerClass;
  if (cls !== undefined && cls !== "" && cls !== LOAD_BALANCER_CLASS) return false;
  return service.spec?.type === "LoadBalancer" || (service.spec?.externalIPs ?? []).length > 0;
}

/**
 * Whether the Service would be ours if the values dropped for their type had been right: the group annotation
 * (or all of metadata or its annotations), the class, the type or the externalIPs (or all of spec).
 */
function mayBeOurService(service: ServiceObject, problems: readonly ShapeProblem[]): boolean {
  // A field dropped whole, or (externalIPs) one of its items.
  const dropped = (...fields: string[]): boolean =>
    problems.some((p) => fields.some((f) => p.path === f || p.path.startsWith(`${f}[`)));
  const annotationUnknown = problems.some((p) =>
    ["metadata", "metadata.annotations", annotationField(GROUP_ANNOTATION)].includes(p.path),
  );
  const spec = { ...service.spec };
  if (dropped("spec", "spec.loadBalancerClass")) delete spec.loadBalancerClass;
  if (dropped("spec", "spec.type", "spec.externalIPs")) spec.type = "LoadBalancer";
  const annotations = { ...service.metadata.annotations };
  if (annotationUnknown) annotations[GROUP_ANNOTATION] = "";
  return isOurService({ ...service, metadata: { ...service.metadata, annotations }, spec });
}

/** Reads a Service as given from anywhere: wrongly typed values are dropped, each with a Warning naming it. */
export function parseService(raw: ServiceObject): ServiceResult {
  const { service, problems } = conformService(raw);
  const ours = isOurService(service);
  // A Service whose deciding fields were dropped for their type may be meant for us: it is refused, not ignored.
  const undecided = !ours && mayBeOurService(service, problems);
  if (!ours && !undecided) return { kind: "ignored" };
  const ref = serviceRef(service);
  const findings = new Findings(ref);
  reportShapeProblems(
    problems,
    `${undecided ? "without it, the Service is ignored" : "the value is ignored"}; write it with the type the Service API gives`,
    (field, message) => {
      findings.warn(field, "InvalidType", message);
    },
  );
  if (undecided) return { kind: "invalid", diagnostics: findings.warnings };
  const annotations = service.metadata.annotations ?? {};
  const group = namesAreValid(ref, findings) ? readGroupAnnotation(annotations, findings) : undefined;
  if (group === undefined) return { kind: "invalid", diagnostics: findings.warnings };
  const addresses = readAddresses(service, annotations, findings);
  const spreadVIPs = readSpreadVIPs(annotations, findings);
  const instanceSettings = readInstanceSettings(annotations, findings);
  const localTrafficOnly = service.spec?.externalTrafficPolicy === "Local";
  const namespace = ref.namespace ?? "default";
  const claim: ServiceClaim = {
    namespace,
    name: ref.name,
    key: objectKey(namespace, ref.name),
    createdAt: service.metadata.creationTimestamp ?? "",
    groupKey: objectKey(group.namespace, group.name),
    vips: addresses.vips,
    trusted: addresses.trusted,
    external: addresses.external,
    requested: addresses.requested,
    loadBalancer: service.spec?.type === "LoadBalancer",
    ...ipFamilies(service, addresses.requested),
    ports: sortedPorts(service),
    labels: service.metadata.labels ?? {},
    vipFields: addresses.vipFields,
    spreadVIPs,
    instanceSettings,
    localTrafficOnly,
  };
  const sharing = annotations[SHARING_KEY_ANNOTATION]?.trim();
  if (sharing !== undefined && sharing !== "") claim.sharingKey = sharing;
  const poolName = annotations[ADDRESS_POOL_ANNOTATION]?.trim();
  if (poolName !== undefined && poolName !== "") claim.poolName = poolName;
  const hc = service.spec?.healthCheckNodePort;
  if (localTrafficOnly && typeof hc === "number" && Number.isInteger(hc) && hc > 0 && hc < 65536) {
    claim.healthCheckNodePort = hc;
  }
  return { kind: "claim", claim, diagnostics: findings.warnings };
}

function namesAreValid(ref: ObjectRef, findings: Findings): boolean {
  return (
    nameIsValid("metadata.name", ref.name, findings) &&
    nameIsValid("metadata.namespace", ref.namespace ?? "", findings)
  );
}

function nameIsValid(field: string, value: string, findings: Findings): boolean {
  const p = dnsLabelProblem(value);
  if (p === undefined) return true;
  findings.warn(field, "InvalidName", `${quote(value)} ${p}; the Service is ignored.`);
  return false;
}

/** The group named by the annotation, `<namespace>/<group>`, or undefined after saying why not. */
function readGroupAnnotation(
  annotations: Record<string, string>,
  findings: Findings,
): ObjectName | undefined {
  const text = (annotations[GROUP_ANNOTATION] ?? "").trim();
  const group = splitObjectKey(text);
  if (
    group === undefined ||
    dnsLabelProblem(group.namespace) !== undefined ||
    dnsSubdomainProblem(group.name) !== undefined
  ) {
    findings.warn(
      annotationField(GROUP_ANNOTATION),
      "InvalidGroupAnnotation",
      `${quote(text)} is not <namespace>/<group>; write it as e.g. keepalived-operator/keepalivedgroup-workers.`,
    );
    return undefined;
  }
  return group;
}

/** `PROTOCOL/port` of each port, sorted. */
function sortedPorts(service: ServiceObject): string[] {
  const ports = (service.spec?.ports ?? []).map((p) => `${p.protocol ?? "TCP"}/${p.port ?? 0}`);
  return ports.length > 1 ? ports.sort() : ports;
}

type ServiceAddresses = Pick<ServiceClaim, "vips" | "trusted" | "external" | "requested" | "vipFields">;

/** The IPs a Service names, each with the field it came from; the ones that cannot be VIPs are reported. */
function readAddresses(
  service: ServiceObject,
  annotations: Record<string, string>,
  findings: Findings,
): ServiceAddresses {
  const named =
    (service.status?.loadBalancer?.ingress ?? []).length > 0 ||
    (service.spec?.externalIPs ?? []).length > 0 ||
    (service.spec?.loadBalancerIP ?? "") !== "" ||
    annotations[LOAD_BALANCER_IPS_ANNOTATION] !== undefined;
  // Most Services name no IP: they get one from a pool.
  if (!named) return { vips: [], trusted: [], external: [], requested: [], vipFields: {} };
  const vipFields: Record<string, string> = {};
  const read = (raw: string | undefined, field: string): ParsedIP | undefined => {
    const ip = readVip(raw, field, findings);
    if (ip !== undefined) vipFields[ip.text] ??= field;
    return ip;
  };
  const distinct = (items: [string | undefined, string][]): ParsedIP[] => {
    const out = new Map<string, ParsedIP>();
    for (const [raw, field] of items) {
      const ip = read(raw, field);
      if (ip !== undefined) out.set(ip.text, ip);
    }
    return [...out.values()].sort(compareIPs);
  };
  const trusted = distinct(
    (service.status?.loadBalancer?.ingress ?? []).map((ing, i) => [
      ing.ip,
      `status.loadBalancer.ingress[${i}].ip`,
    ]),
  );
  const external = distinct((service.spec?.externalIPs ?? []).map((ip, i) => [ip, `spec.externalIPs[${i}]`]));
  const vips = [...new Map([...trusted, ...external].map((ip) => [ip.text, ip])).values()].sort(compareIPs);
  const requested: ParsedIP[] = [];
  for (const [raw, field] of requestedItems(service, annotations)) {
    const ip = read(raw, field);
    if (ip === undefined) continue;
    if (requested.some((r) => r.family === ip.family)) {
      findings.warn(
        field,
        "InvalidIP",
        `${ip.text}: at most one IP per family can be asked for; it is ignored.`,
      );
      continue;
    }
    requested.push(ip);
  }
  return { vips, trusted, external, requested, vipFields };
}

/** A valid unicast IP, or undefined after reporting why not. */
function readVip(raw: string | undefined, field: string, findings: Findings): ParsedIP | undefined {
  if (raw === undefined || raw === "") return undefined;
  const ip = parseIP(raw);
  if (ip === undefined) {
    findings.warn(
      field,
      "InvalidIP",
      `${quote(raw)} is not an IP address; fix or remove it. The Service's other IPs are unaffected.`,
    );
    return undefined;
  }
  const why = notAVipReason(ip);
  if (why !== undefined) {
    findings.warn(
      field,
      "InvalidIP",
      `${ip.text} ${why} and cannot be a VIP; use a unicast address of your network.`,
    );
    return undefined;
  }
  return ip;
}

/** IPs asked for: spec.loadBalancerIP, then the loadbalancer-ips annotation, each with its field. */
function requestedItems(service: ServiceObject, annotations: Record<string, string>): [string, string][] {
  const items: [string, string][] = [];
  if (service.spec?.loadBalancerIP !== undefined && service.spec.loadBalancerIP !== "")
    items.push([service.spec.loadBalancerIP, "spec.loadBalancerIP"]);
  for (const text of (annotations[LOAD_BALANCER_IPS_ANNOTATION] ?? "").split(",")) {
    if (text.trim() !== "") items.push([text.trim(), annotationField(LOAD_BALANCER_IPS_ANNOTATION)]);
  }
  return items;
}

/** Families to allocate, in order, from spec.ipFamilies and spec.ipFamilyPolicy (else what was asked for). */
function ipFamilies(
  service: ServiceObject,
  requested: readonly ParsedIP[],
): Pick<ServiceClaim, "families" | "requireAllFamilies"> {
  const listed = (service.spec?.ipFamilies ?? []).map((f): Family => (f === "IPv6" ? 6 : 4));
  const policy = service.spec?.ipFamilyPolicy ?? "SingleStack";
  const asked = requested.map((r) => r.family);
  let families: Family[] = listed.length > 0 ? listed : asked.length > 0 ? asked : [4];
  if (policy === "SingleStack") families = families.slice(0, 1);
  else if (families.length === 1) families = [families[0] ?? 4, families[0] === 6 ? 4 : 6];
  return { families, requireAllFamilies: policy === "RequireDualStack" };
}

function readSpreadVIPs(annotations: Record<string, string>, findings: Findings): boolean {
  const text = annotations[SPREAD_VIPS_ANNOTATION];
  if (text !== undefined && text !== "true" && text !== "false") {
    findings.warn(
      annotationField(SPREAD_VIPS_ANNOTATION),
      "InvalidAnnotation",
      `${quote(text)} is neither "true" nor "false"; treated as "false".`,
    );
  }
  return text === "true";
}

/** The verbatimconfig settings that pass; all the refused ones in one Warning, however many there are. */
function readInstanceSettings(annotations: Record<string, string>, findings: Findings): [string, string][] {
  const text = annotations[VERBATIM_CONFIG_ANNOTATION];
  if (text === undefined || text.trim() === "") return [];
  const { pairs, problems } = parseInstanceVerbatim(text);
  const summary = summarizeVerbatimProblems(problems);
  if (summary !== undefined) {
    const unknown = problems.some(
      (p) => p.key !== undefined && !Object.hasOwn(INSTANCE_VERBATIM_ALLOW_LIST, p.key),
    );
    findings.warn(
      annotationField(VERBATIM_CONFIG_ANNOTATION),
      "RejectedVerbatimConfig",
      `${summary}${unknown ? ` (allowed keys: ${allowedInstanceKeys()})` : ""}; the Service's other settings and its VIPs are kept.`,
    );
  }
  return pairs;
}
