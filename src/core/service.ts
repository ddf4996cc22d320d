// Service → the claim it makes on a group: which group, which VIPs, how they are placed. Pure.
import {
  GROUP_ANNOTATION,
  LOAD_BALANCER_CLASS,
  SPREAD_VIPS_ANNOTATION,
  VERBATIM_CONFIG_ANNOTATION,
} from "../api/names.js";
import type { Diagnostic, ObjectRef } from "./diagnostics.js";
import { compareIPs, notAVipReason, parseIP, type ParsedIP } from "./ip.js";
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
  /** Candidate VIPs, canonical, de-duplicated and sorted (IPv4 first). */
  vips: ParsedIP[];
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

  const byText = new Map<string, ParsedIP>();
  const vipFields: Record<string, string> = {};
  const consider = (raw: string | undefined, field: string): void => {
    if (raw === undefined || raw === "") return;
    const ip = parseIP(raw);
    if (ip === undefined) {
      problem(
        field,
        "InvalidIP",
        `${quote(raw)} is not an IP address; fix or remove it. The Service's other IPs are unaffected.`,
      );
      return;
    }
    const why = notAVipReason(ip);
    if (why !== undefined) {
      problem(
        field,
        "InvalidIP",
        `${ip.text} ${why} and cannot be a VIP; use a unicast address of your network.`,
      );
      return;
    }
    if (!byText.has(ip.text)) {
      byText.set(ip.text, ip);
      vipFields[ip.text] = field;
    }
  };
  (s.status?.loadBalancer?.ingress ?? []).forEach((ing, i) => {
    consider(ing.ip, `status.loadBalancer.ingress[${i}].ip`);
  });
  (s.spec?.externalIPs ?? []).forEach((ip, i) => {
    consider(ip, `spec.externalIPs[${i}]`);
  });
  const vips = [...byText.values()].sort(compareIPs);

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
    vipFields,
    spreadVIPs: spreadText === "true",
    instanceSettings,
    localTrafficOnly,
  };
  const hc = s.spec?.healthCheckNodePort;
  if (localTrafficOnly && typeof hc === "number" && Number.isInteger(hc) && hc > 0 && hc < 65536) {
    claim.healthCheckNodePort = hc;
  }
  return { kind: "claim", claim, diagnostics };
}
