// Problems found in the cluster's objects, each naming the object, the field and the fix.
import { objectKey, type ObjectName } from "./keys.js";

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

/** The field path of an annotation, as diagnostics name it. */
export function annotationField(annotation: string): string {
  return `metadata.annotations[${annotation}]`;
}

// Key order is part of the output: plans are written as JSON.
export function serviceObject(s: ObjectName): ObjectRef {
  return { kind: "Service", namespace: s.namespace, name: s.name };
}

export function groupObject(g: ObjectName): ObjectRef {
  return { kind: "KeepalivedGroup", name: g.name, namespace: g.namespace };
}

export function warningOn(object: ObjectRef, field: string, reason: string, message: string): Diagnostic {
  return { object, field, reason, message, severity: "Warning" };
}

export function errorOn(object: ObjectRef, field: string, reason: string, message: string): Diagnostic {
  return { object, field, reason, message, severity: "Error" };
}

/** The problems found in one object, errors apart from warnings, in the order they were found. */
export class Findings {
  readonly errors: Diagnostic[] = [];
  readonly warnings: Diagnostic[] = [];

  constructor(readonly object: ObjectRef) {}

  error(field: string, reason: string, message: string): void {
    this.errors.push(errorOn(this.object, field, reason, message));
  }

  warn(field: string, reason: string, message: string): void {
    this.warnings.push(warningOn(this.object, field, reason, message));
  }
}

/** The `namespace/name` key of the object a diagnostic is about. */
export function refKey(ref: ObjectRef): string {
  return objectKey(ref.namespace ?? "", ref.name);
}
