// Kubernetes label selectors (matchLabels + matchExpressions), evaluated purely.
import type { LabelSelector } from "../../../src/api/types.js";
import { quote } from "./validate.js";

/** Why a selector is malformed, or undefined when it is well-formed (its types are checked before: shape.ts). */
export function selectorProblem(sel: LabelSelector): string | undefined {
  for (const e of sel.matchExpressions ?? []) {
    if (!["In", "NotIn", "Exists", "DoesNotExist"].includes(e.operator)) {
      return `operator ${quote(e.operator)} is not one of In, NotIn, Exists, DoesNotExist`;
    }
    if ((e.operator === "In" || e.operator === "NotIn") && (e.values ?? []).length === 0) {
      return `operator ${e.operator} on key ${quote(e.key)} needs values`;
    }
    if ((e.operator === "Exists" || e.operator === "DoesNotExist") && (e.values ?? []).length > 0) {
      return `operator ${e.operator} on key ${quote(e.key)} takes no values`;
    }
  }
  return undefined;
}

/** An absent selector selects everything, as in Kubernetes. */
export function selectorMatches(
  sel: LabelSelector | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (sel === undefined) return true;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(l, e.key);
    const value = l[e.key];
    const values = e.values ?? [];
    if (e.operator === "In" && !(has && value !== undefined && values.includes(value))) return false;
    if (e.operator === "NotIn" && has && value !== undefined && values.includes(value)) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}
