// KeepalivedGroup (wire form) → GroupModel (validated, defaulted), or diagnostics saying why not.
import { DEFAULT_AGENT_IMAGE, DEFAULT_PASSWORD_KEY } from "../../../src/api/names.js";
import type {
  KeepalivedGroup,
  KeepalivedGroupSpec,
  Toleration,
  ResourceRequirements,
} from "../../../src/api/types.js";
import { Findings, type Diagnostic, type ObjectRef } from "./diagnostics.js";
import { notAVipReason, parseIP, type ParsedIP } from "./ip.js";
import { objectKey, type ObjectName } from "./keys.js";
import { readAddressPools, readAllowedRanges, type IpRange, type Pool } from "./pools.js";
import { dnsLabelProblem, dnsSubdomainProblem, interfaceNameProblem, quote } from "./validate.js";
import { readGlobalVerbatim } from "./verbatim.js";
import { conformGroup } from "./wireShapes.js";
import { reportShapeProblems } from "./shape.js";
import { readBlacklist, readRouterIdRange, readVrrp, recordedRouterIds, type VrrpSettings } from "./vrrp.js";

export type { VrrpSettings };

export interface GroupModel {
  namespace: string;
  name: string;
  /** `namespace/name`, as written in the Service annotation. */
  key: string;
  createdAt: string;
  generation: number;
  nodeSelector: Record<string, string>;
  image: string;
  interface?: string;
  interfaceFromIP?: ParsedIP;
  password?: { secretName: string; secretKey: string };
  /** Extra global_defs lines, sorted by key. */
  verbatimGlobal: [string, string][];
  blacklist: ReadonlySet<number>;
  routerIdRange: { min: number; max: number };
  routerIdScope: "Cluster" | "Group";
  /** Instances of their own (see isDedicated) that the Services of one namespace may have in this group. */
  dedicatedPerNamespace: number;
  unicast: boolean;
  vrrp: VrrpSettings;
  spreadVIPs: boolean;
  priorityClassName?: string;
  podAnnotations: Record<string, string>;
  tolerations: Toleration[];
  resources?: ResourceRequirements;
  /** Router IDs recorded in status by an earlier reconcile, by instance key. */
  recordedRouterIds: Record<string, number>;
  /** Address pools, in spec order (the first matching pool with room serves a Service). */
  pools: Pool[];
  /** Ranges Service authors may use besides the pools. */
  allowed: IpRange[];
}

export type GroupResult =
  { ok: true; model: GroupModel; warnings: Diagnostic[] } | { ok: false; errors: Diagnostic[] };

export function groupRef(group: KeepalivedGroup): ObjectRef {
  const ref: ObjectRef = { kind: "KeepalivedGroup", name: group.metadata.name ?? "" };
  if (group.metadata.namespace !== undefined) ref.namespace = group.metadata.namespace;
  return ref;
}

/** How many Services of one namespace may have an instance of their own in a group, unless the group says. */
export const DEFAULT_DEDICATED_INSTANCES_PER_NAMESPACE = 16;

/** Validates a group as read from anywhere: wrongly typed values make it invalid, each named by its field. */
export function validateGroup(raw: KeepalivedGroup): GroupResult {
  const { group, problems } = conformGroup(raw);
  const findings = new Findings(groupRef(group));
  reportShapeProblems(
    problems,
    "fix the value to the type the KeepalivedGroup reference gives",
    (field, message) => {
      findings.error(field, "InvalidType", message);
    },
  );
  const spec = group.spec ?? {};
  const { namespace, name } = checkNames(group, findings);
  const nic = readInterface(spec, findings);
  const password = readPassword(spec, findings);
  const vrrp = readVrrp(spec, findings);
  const routerIdRange = readRouterIdRange(spec, findings);
  const blacklist = readBlacklist(spec, findings);
  const verbatimGlobal = readGlobalVerbatim(spec.verbatimConfig, findings);
  const pools = readAddressPools(spec.addressPools, findings);
  const allowed = readAllowedRanges(spec.allowedCIDRs, findings);
  const priorityClassName = readPriorityClassName(spec, findings);
  const routerIdScope = readRouterIdScope(spec, findings);
  const dedicatedPerNamespace = readDedicatedQuota(spec, findings);
  warnOldAnnotationsField(spec, findings);
  const image = agentImage(spec, findings);
  if (findings.errors.length > 0) return { ok: false, errors: findings.errors };

  const model: GroupModel = {
    namespace,
    name,
    key: objectKey(namespace, name),
    createdAt: group.metadata.creationTimestamp ?? "",
    generation: group.metadata.generation ?? 0,
    nodeSelector: spec.nodeSelector ?? {},
    image,
    verbatimGlobal,
    blacklist,
    routerIdRange,
    routerIdScope,
    dedicatedPerNamespace,
    unicast: spec.unicastEnabled ?? false,
    vrrp,
    spreadVIPs: spec.spreadVIPs ?? true,
    podAnnotations: spec.daemonsetPodAnnotations ?? spec.daemonsetAnnotations ?? {},
    tolerations: spec.agent?.tolerations ?? [{ operator: "Exists" }],
    recordedRouterIds: recordedRouterIds(group.status?.routerIDs),
    pools,
    allowed,
  };
  if (nic.interface !== undefined) model.interface = nic.interface;
  if (nic.interfaceFromIP !== undefined) model.interfaceFromIP = nic.interfaceFromIP;
  if (password !== undefined) model.password = password;
  if (priorityClassName !== undefined) model.priorityClassName = priorityClassName;
  if (spec.agent?.resources !== undefined) model.resources = spec.agent.resources;
  return { ok: true, model, warnings: findings.warnings };
}

/** The group's name and namespace (default "default"), which name its objects and its Service annotation. */
function checkNames(group: KeepalivedGroup, findings: Findings): ObjectName {
  const name = group.metadata.name ?? "";
  const namespace = group.metadata.namespace ?? "default";
  const nameProblem = dnsSubdomainProblem(name);
  if (nameProblem !== undefined)
    findings.error("metadata.name", "InvalidName", `${quote(name)} ${nameProblem}.`);
  const nsProblem = dnsLabelProblem(namespace);
  if (nsProblem !== undefined) {
    findings.error("metadata.namespace", "InvalidName", `${quote(namespace)} ${nsProblem}.`);
  }
  return { namespace, name };
}

/** The NIC that carries the VIPs: spec.interface, or the one holding spec.interfaceFromIP. */
function readInterface(
  spec: KeepalivedGroupSpec,
  findings: Findings,
): Pick<GroupModel, "interface" | "interfaceFromIP"> {
  const nic: Pick<GroupModel, "interface" | "interfaceFromIP"> = {};
  if (spec.interface !== undefined) {
    const problem = interfaceNameProblem(spec.interface);
    if (problem === undefined) nic.interface = spec.interface;
    else
      findings.error(
        "spec.interface",
        "InvalidInterface",
        `${quote(spec.interface)} ${problem}; set it to the NIC name, e.g. ens3.`,
      );
  }
  if (spec.interfaceFromIP !== undefined) {
    const ip = parseIP(spec.interfaceFromIP);
    const why = ip === undefined ? "is not an IP address" : notAVipReason(ip);
    if (ip !== undefined && why === undefined) nic.interfaceFromIP = ip;
    else
      findings.error(
        "spec.interfaceFromIP",
        "InvalidIP",
        `${quote(spec.interfaceFromIP)} ${why ?? ""}; the route to it must leave by the NIC that carries the VIPs, so write a unicast address of that network such as 198.18.0.1.`,
      );
  }
  if (spec.interface === undefined && spec.interfaceFromIP === undefined) {
    findings.error(
      "spec",
      "NoInterface",
      "neither spec.interface nor spec.interfaceFromIP is set; set the NIC that carries the VIPs.",
    );
  }
  return nic;
}

function readRouterIdScope(spec: KeepalivedGroupSpec, findings: Findings): "Cluster" | "Group" {
  // Typed as the API says, but read from anywhere: any string can arrive.
  const scope: string = spec.routerIDScope ?? "Cluster";
  if (scope === "Cluster" || scope === "Group") return scope;
  findings.error(
    "spec.routerIDScope",
    "InvalidRouterIDScope",
    `${quote(scope)} is neither Cluster nor Group.`,
  );
  return "Cluster";
}

/** spec.dedicatedInstancesPerNamespace: 0 (no Service gets an instance of its own) up to 255. */
function readDedicatedQuota(spec: KeepalivedGroupSpec, findings: Findings): number {
  const quota = spec.dedicatedInstancesPerNamespace ?? DEFAULT_DEDICATED_INSTANCES_PER_NAMESPACE;
  if (Number.isInteger(quota) && quota >= 0 && quota <= 255) return quota;
  findings.error(
    "spec.dedicatedInstancesPerNamespace",
    "InvalidQuota",
    `${quota} is not a whole number from 0 to 255.`,
  );
  return DEFAULT_DEDICATED_INSTANCES_PER_NAMESPACE;
}

/** spec.passwordAuth: the Secret and key holding the VRRP password. */
function readPassword(spec: KeepalivedGroupSpec, findings: Findings): GroupModel["password"] {
  if (spec.passwordAuth === undefined) return undefined;
  const secretName = spec.passwordAuth.secretRef.name;
  const secretKey = spec.passwordAuth.secretKey ?? DEFAULT_PASSWORD_KEY;
  const problem = dnsSubdomainProblem(secretName);
  if (problem !== undefined) {
    findings.error(
      "spec.passwordAuth.secretRef.name",
      "InvalidSecretRef",
      `${quote(secretName)} ${problem}.`,
    );
    return undefined;
  }
  if (!/^[-._a-zA-Z0-9]{1,253}$/.test(secretKey)) {
    findings.error(
      "spec.passwordAuth.secretKey",
      "InvalidSecretRef",
      `${quote(secretKey)} is not a valid Secret key.`,
    );
    return undefined;
  }
  return { secretName, secretKey };
}

/** The agents' priority class, read from either spelling the original's releases used. */
function readPriorityClassName(spec: KeepalivedGroupSpec, findings: Findings): string | undefined {
  if (spec.daemonsetPodPriorityClassName === undefined && spec.DaemonsetPodPriorityClassName !== undefined) {
    findings.warn(
      "spec.DaemonsetPodPriorityClassName",
      "DeprecatedField",
      "this spelling is deprecated; rename it to daemonsetPodPriorityClassName.",
    );
  }
  return spec.daemonsetPodPriorityClassName ?? spec.DaemonsetPodPriorityClassName;
}

function warnOldAnnotationsField(spec: KeepalivedGroupSpec, findings: Findings): void {
  if (spec.daemonsetPodAnnotations === undefined && spec.daemonsetAnnotations !== undefined) {
    findings.warn(
      "spec.daemonsetAnnotations",
      "DeprecatedField",
      "this field is deprecated; rename it to daemonsetPodAnnotations.",
    );
  }
}

/**
 * The original's `image` was the keepalived image next to its own reloader; our agent carries keepalived,
 * so that image cannot run it. Existing manifests keep working: the agent image is used instead.
 */
function agentImage(spec: KeepalivedGroupSpec, findings: Findings): string {
  if (spec.image === undefined) return DEFAULT_AGENT_IMAGE;
  if (!/keepalived-ipfailover/.test(spec.image)) return spec.image;
  findings.warn(
    "spec.image",
    "IgnoredField",
    `${quote(spec.image)} is the original operator's keepalived image; the agent image ${DEFAULT_AGENT_IMAGE}, which carries keepalived, is used instead. Remove spec.image or set it to an agent image.`,
  );
  return DEFAULT_AGENT_IMAGE;
}

/** Whether a node's labels satisfy a group's nodeSelector (every pair must match). */
export function selectsNode(
  selector: Record<string, string>,
  labels: Record<string, string> | undefined,
): boolean {
  return Object.entries(selector).every(([k, val]) => labels?.[k] === val);
}
