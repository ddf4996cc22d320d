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
import type { Diagnostic, ObjectRef } from "./diagnostics.js";
import { compareIPs, notAVipReason, parseIP, type Family, type ParsedIP } from "./ip.js";
import type { ServiceObject } from "./objects.js";
import { dnsLabelProblem, dnsSubdomainProblem, quote } from "./validate.js";
import { parseInstanceVerbatim } from "./verbatim.js";

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

export function serviceRef(s: ServiceObject): ObjectRef {
  return { kind: "Service", namespace: s.metadata.namespace ?? "default", name: s.metadata.name ?? "" };
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
export function isOurService(s: ServiceObject): boolean {
  const annotation = s.metadata.annotations?.[GROUP_ANNOTATION];
  if (annotation === undefined) return false;
  const cls = s.spec?.loadBalancerClass;
  if (cls !== undefined && cls !== "" && cls !== LOAD_BALANCER_CLASS) return false;
  return s.spec?.type === "LoadBalancer" || (s.spec?.externalIPs ?? []).length > 0;
}

export function parseService(s: ServiceObject): ServiceResult {
  if (!isOurService(s)) return { kind: "ignored" };
  const ref = serviceRef(s);
  const diagnostics: Diagnostic[] = [];
  const problem = (
    field: string,
    reason: string,
    message: string,
    severity: Diagnostic["severity"] = "Warning",
  ): void => {
    diagnostics.push({ object: ref, field, reason, message, severity });
  };
  for (const [field, value] of [
    ["metadata.name", ref.name],
    ["metadata.namespace", ref.namespace ?? ""],
  ] as const) {
    const p = dnsLabelProblem(value);
    if (p !== undefined) {
      problem(field, "InvalidName", `${quote(value)} ${p}; the Service is ignored.`);
      return { kind: "invalid", diagnostics };
    }
  }
  const annotations = s.metadata.annotations ?? {};
  const groupField = `metadata.annotations[${GROUP_ANNOTATION}]`;
  const groupText = (annotations[GROUP_ANNOTATION] ?? "").trim();
  const [groupNs, groupName, extra] = groupText.split("/");
  if (
    groupNs === undefined ||
    groupName === undefined ||
    extra !== undefined ||
    dnsLabelProblem(groupNs) !== undefined ||
    dnsSubdomainProblem(groupName) !== undefined
  ) {
    problem(
      groupField,
      "InvalidGroupAnnotation",
      `${quote(groupText)} is not <namespace>/<group>; write it as e.g. keepalived-operator/keepalivedgroup-workers.`,
    );
    return { kind: "invalid", diagnostics };
  }

  const vipFields: Record<string, string> = {};
  /** A valid unicast IP, or undefined after reporting why not. */
  const check = (raw: string | undefined, field: string): ParsedIP | undefined => {
    if (raw === undefined || raw === "") return undefined;
    const ip = parseIP(raw);
    if (ip === undefined) {
      problem(
        field,
        "InvalidIP",
        `${quote(raw)} is not an IP address; fix or remove it. The Service's other IPs are unaffected.`,
      );
      return undefined;
    }
    const why = notAVipReason(ip);
    if (why !== undefined) {
      problem(
        field,
        "InvalidIP",
        `${ip.text} ${why} and cannot be a VIP; use a unicast address of your network.`,
      );
      return undefined;
    }
    vipFields[ip.text] ??= field;
    return ip;
  };
  const collect = (items: [string | undefined, string][]): ParsedIP[] => {
    const out = new Map<string, ParsedIP>();
    for (const [raw, field] of items) {
      const ip = check(raw, field);
      if (ip !== undefined) out.set(ip.text, ip);
    }
    return [...out.values()].sort(compareIPs);
  };
  const trusted = collect(
    (s.status?.loadBalancer?.ingress ?? []).map((ing, i) => [ing.ip, `status.loadBalancer.ingress[${i}].ip`]),
  );
  const external = collect((s.spec?.externalIPs ?? []).map((ip, i) => [ip, `spec.externalIPs[${i}]`]));
  const vips = [...new Map([...trusted, ...external].map((ip) => [ip.text, ip])).values()].sort(compareIPs);
  const requestedItems: [string | undefined, string][] = [];
  if (s.spec?.loadBalancerIP !== undefined && s.spec.loadBalancerIP !== "")
    requestedItems.push([s.spec.loadBalancerIP, "spec.loadBalancerIP"]);
  const wanted = annotations[LOAD_BALANCER_IPS_ANNOTATION];
  if (wanted !== undefined) {
    wanted
      .split(",")
      .map((w) => w.trim())
      .filter((w) => w !== "")
      .forEach((w) => requestedItems.push([w, `metadata.annotations[${LOAD_BALANCER_IPS_ANNOTATION}]`]));
  }
  const requested: ParsedIP[] = [];
  for (const [raw, field] of requestedItems) {
    const ip = check(raw, field);
    if (ip === undefined) continue;
    if (requested.some((r) => r.family === ip.family)) {
      problem(field, "InvalidIP", `${ip.text}: at most one IP per family can be asked for; it is ignored.`);
      continue;
    }
    requested.push(ip);
  }
  const ipFamilies = (s.spec?.ipFamilies ?? []).map((f) => (f === "IPv6" ? 6 : 4));
  const policy = s.spec?.ipFamilyPolicy ?? "SingleStack";
  const requestedFamilies = requested.map((r) => r.family);
  let families: Family[] =
    ipFamilies.length > 0 ? ipFamilies : requestedFamilies.length > 0 ? requestedFamilies : [4];
  if (policy === "SingleStack") families = families.slice(0, 1);
  else if (families.length === 1) families = [families[0] ?? 4, families[0] === 6 ? 4 : 6];
  const sharing = annotations[SHARING_KEY_ANNOTATION]?.trim();
  const poolName = annotations[ADDRESS_POOL_ANNOTATION]?.trim();

  const spreadText = annotations[SPREAD_VIPS_ANNOTATION];
  if (spreadText !== undefined && spreadText !== "true" && spreadText !== "false") {
    problem(
      `metadata.annotations[${SPREAD_VIPS_ANNOTATION}]`,
      "InvalidAnnotation",
      `${quote(spreadText)} is neither "true" nor "false"; treated as "false".`,
    );
  }
  let instanceSettings: [string, string][] = [];
  const verbatimText = annotations[VERBATIM_CONFIG_ANNOTATION];
  if (verbatimText !== undefined && verbatimText.trim() !== "") {
    const { pairs, problems } = parseInstanceVerbatim(verbatimText);
    instanceSettings = pairs;
    for (const p of problems) {
      problem(
        `metadata.annotations[${VERBATIM_CONFIG_ANNOTATION}]`,
        "RejectedVerbatimConfig",
        `${p.message}; the rest of the Service is announced without it.`,
      );
    }
  }
  const localTrafficOnly = s.spec?.externalTrafficPolicy === "Local";
  const claim: ServiceClaim = {
    namespace: ref.namespace ?? "default",
    name: ref.name,
    key: `${ref.namespace ?? "default"}/${ref.name}`,
    createdAt: s.metadata.creationTimestamp ?? "",
    groupKey: `${groupNs}/${groupName}`,
    vips,
    trusted,
    external,
    requested,
    loadBalancer: s.spec?.type === "LoadBalancer",
    families,
    requireAllFamilies: policy === "RequireDualStack",
    ports: (s.spec?.ports ?? []).map((p) => `${p.protocol ?? "TCP"}/${p.port ?? 0}`).sort(),
    labels: s.metadata.labels ?? {},
    vipFields,
    spreadVIPs: spreadText === "true",
    instanceSettings,
    localTrafficOnly,
  };
  if (sharing !== undefined && sharing !== "") claim.sharingKey = sharing;
  if (poolName !== undefined && poolName !== "") claim.poolName = poolName;
  const hc = s.spec?.healthCheckNodePort;
  if (localTrafficOnly && typeof hc === "number" && Number.isInteger(hc) && hc > 0 && hc < 65536) {
    claim.healthCheckNodePort = hc;
  }
  return { kind: "claim", claim, diagnostics };
}
