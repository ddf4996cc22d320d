// Problems found in the cluster's objects, each naming the object, the field and the fix.

export interface ObjectRef {
  kind: "KeepalivedGroup" | "Service" | "Node" | "Secret";
  namespace?: string;
  name: string;
}

export type Severity = "Warning" | "Error";

export interface Diagnostic {
  object: ObjectRef;
  /** JSON-path-like location, e.g. `spec.externalIPs[1]` or `metadata.annotations[...]`. */
  field: string;
  /** CamelCase machine-readable reason, used for Events and conditions. */
  reason: string;
  /** What is wrong and how to fix it, one sentence each. */
  message: string;
  severity: Severity;
}

export function refText(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace === undefined ? "" : `${ref.namespace}/`}${ref.name}`;
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${refText(d.object)}: ${d.field}: ${d.message}`;
}

export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return formatDiagnostic(a) < formatDiagnostic(b) ? -1 : formatDiagnostic(a) > formatDiagnostic(b) ? 1 : 0;
}
