// The planner's first steps: every group validated, every Service read, every Node type-checked, each on its
// own. A group or Service that cannot be read (or whose reading fails in a way nobody foresaw) gets a
// diagnostic of its own and leaves the others untouched.
import { GROUP_ANNOTATION } from "../api/names.js";
import type { ClusterPlan, NodeMember, ServicePlan, UnnumberedRouter } from "./clusterPlan.js";
import {
  annotationField,
  compareDiagnostics,
  errorOn,
  warningOn,
  type Diagnostic,
  type ObjectRef,
} from "./diagnostics.js";
import { validateGroup, type GroupModel } from "./group.js";
import { byAge, objectKey } from "./keys.js";
import type { KeepalivedGroup, NodeObject, ServiceObject } from "./objects.js";
import type { PoolUsage } from "./addresses.js";
import { parseService, type ServiceClaim } from "./service.js";
import { reportShapeProblems } from "./shape.js";
import { conformNode } from "./wireShapes.js";
import type { PlannerMemo, ReadService } from "./memo.js";

/** A valid group whose plan is being built. */
export interface PendingGroup {
  model: GroupModel;
  nodes: NodeMember[];
  /** Its Services, with the VIPs they were given. */
  claims: ServiceClaim[];
  diagnostics: Diagnostic[];
  pools: PoolUsage[];
  routers: UnnumberedRouter[];
  placement: Record<string, string>;
}

export type InvalidGroup = ClusterPlan["invalidGroups"][number];

/** The message of something thrown, for a diagnostic: one line, never a stack. */
export function thrownMessage(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const line = text.split("\n")[0] ?? "";
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** What a group or Service gets when planning it throws: a bug, said as one, naming what was being done. */
export function planningFailed(object: ObjectRef, step: string, err: unknown): Diagnostic {
  return errorOn(
    object,
    "spec",
    "PlanningFailed",
    `${step} failed (${thrownMessage(err)}); the other groups and Services are planned as usual. This is a bug of keepalived-operator: please report it with this object's YAML.`,
  );
}

/**
 * `namespace/name` of a group as given; `default/` when its metadata is not readable (validating it then says
 * why, and no valid group has that key).
 */
function groupKeyOf(raw: unknown): string {
  const meta = (raw as { metadata?: unknown } | null)?.metadata;
  if (typeof meta !== "object" || meta === null) return objectKey("default", "");
  const { name, namespace } = meta as { name?: unknown; namespace?: unknown };
  return objectKey(
    typeof namespace === "string" ? namespace : "default",
    typeof name === "string" ? name : "",
  );
}

/** Validates each group once (the first of a key wins), keeping the valid ones in snapshot order. */
export function readGroups(
  list: readonly KeepalivedGroup[],
  memo?: PlannerMemo,
): {
  groups: Map<string, PendingGroup>;
  invalidGroups: InvalidGroup[];
} {
  const groups = new Map<string, PendingGroup>();
  const invalidGroups: InvalidGroup[] = [];
  const seen = new Set<string>();
  for (const g of list) {
    const key = groupKeyOf(g);
    if (seen.has(key)) continue;
    seen.add(key);
    try {
      const result = memo === undefined ? validateGroup(g) : memo.validateGroup(g, () => validateGroup(g));
      if (!result.ok) {
        invalidGroups.push({ key, diagnostics: [...result.errors].sort(compareDiagnostics) });
        continue;
      }
      groups.set(key, {
        model: result.model,
        nodes: [],
        claims: [],
        diagnostics: [...result.warnings],
        pools: [],
        routers: [],
        placement: {},
      });
    } catch (err) {
      const [namespace = "", name = ""] = key.split("/");
      const ref: ObjectRef = { kind: "KeepalivedGroup", name, namespace };
      invalidGroups.push({ key, diagnostics: [planningFailed(ref, "validating the group", err)] });
    }
  }
  return { groups, invalidGroups };
}

/** `namespace/name` of a Service as given, or undefined when its metadata is not readable. */
function serviceKeyOf(raw: unknown): string | undefined {
  const meta = (raw as { metadata?: unknown } | null)?.metadata;
  if (typeof meta !== "object" || meta === null) return undefined;
  const { name, namespace } = meta as { name?: unknown; namespace?: unknown };
  return typeof name === "string"
    ? objectKey(typeof namespace === "string" ? namespace : "default", name)
    : undefined;
}

/**
 * A plan for every Service of ours (the first of a key wins), and the claims of those whose group is valid,
 * oldest first (the order later steps sort them in, so their sorts find them in order). A Service naming a
 * missing or invalid group gets a Warning saying which.
 */
export function readServices(
  list: readonly ServiceObject[],
  groups: ReadonlyMap<string, PendingGroup>,
  invalidGroupKeys: ReadonlySet<string>,
  services: Map<string, ServicePlan>,
  memo?: PlannerMemo,
): ServiceClaim[] {
  const claims: ServiceClaim[] = [];
  for (const s of list) {
    const result = memo === undefined ? readService(s) : memo.readService(s, () => readService(s));
    if (result.kind === "ignored") continue;
    const key = result.key;
    if (services.has(key)) continue;
    // A reading may be the memo's, kept across runs: the plan adds to a copy of its diagnostics.
    if (result.kind === "invalid") {
      services.set(key, { key, groupKey: "", announced: [], diagnostics: result.diagnostics.slice() });
      continue;
    }
    const { claim } = result;
    const plan: ServicePlan = {
      key,
      groupKey: claim.groupKey,
      announced: [],
      diagnostics: result.diagnostics.slice(),
    };
    services.set(key, plan);
    if (groups.has(claim.groupKey)) {
      claims.push(claim);
      continue;
    }
    const why = invalidGroupKeys.has(claim.groupKey)
      ? "is invalid (see its status conditions); its Services are not announced until it is fixed"
      : "does not exist; create it or fix the annotation";
    plan.diagnostics.push(
      warningOn(
        { kind: "Service", namespace: claim.namespace, name: claim.name },
        annotationField(GROUP_ANNOTATION),
        "GroupNotFound",
        `KeepalivedGroup ${claim.groupKey} ${why}.`,
      ),
    );
  }
  return claims.sort(byAge);
}

/** parseService, with its key; a Service whose reading throws is invalid with a diagnostic saying so. */
function readService(s: ServiceObject): ReadService {
  const key = serviceKeyOf(s);
  try {
    const result = parseService(s);
    if (result.kind === "ignored") return result;
    if (result.kind === "claim")
      return {
        kind: "claim",
        key: result.claim.key,
        claim: result.claim,
        diagnostics: result.diagnostics,
      };
    const about = result.diagnostics[0]?.object;
    const k = about === undefined ? (key ?? "") : objectKey(about.namespace ?? "default", about.name);
    return { kind: "invalid", key: k, diagnostics: result.diagnostics };
  } catch (err) {
    if (key === undefined) return { kind: "ignored" };
    const [namespace = "", name = ""] = key.split("/");
    const d = planningFailed({ kind: "Service", namespace, name }, "reading the Service", err);
    return { kind: "invalid", key, diagnostics: [{ ...d, severity: "Warning" }] };
  }
}

/** A node as the planner reads it, with the problems of its wrongly typed values (as Warnings on the Node). */
export interface ReadNode {
  node: NodeObject;
  problems: Diagnostic[];
  /** Its metadata could not be read: it is in no group, and every group says so. */
  unreadable?: true;
}

/** Every node type-checked, sorted by name; one that cannot even be read is kept as a bare name with why. */
export function readNodes(list: readonly NodeObject[]): ReadNode[] {
  const out = list.map((raw): ReadNode => {
    try {
      const { node, problems } = conformNode(raw);
      const ref: ObjectRef = { kind: "Node", name: node.metadata.name ?? "" };
      const diagnostics: Diagnostic[] = [];
      // A Node without readable metadata has no name or labels: no group can hold it.
      const unreadable = problems.some((p) => p.path === "metadata");
      const fix = unreadable ? "the Node is left out of every group" : "the value is ignored";
      reportShapeProblems(problems, fix, (field, message) =>
        diagnostics.push(warningOn(ref, field, "InvalidType", message)),
      );
      return unreadable ? { node, problems: diagnostics, unreadable } : { node, problems: diagnostics };
    } catch (err) {
      const ref: ObjectRef = { kind: "Node", name: "" };
      const d = planningFailed(ref, "reading the Node", err);
      return { node: { metadata: {} }, problems: [{ ...d, field: "metadata", severity: "Warning" }] };
    }
  });
  return out.sort((a, b) => {
    const x = a.node.metadata.name ?? "";
    const y = b.node.metadata.name ?? "";
    return x < y ? -1 : x > y ? 1 : 0;
  });
}
