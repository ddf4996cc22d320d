// Type checks of the objects the planner reads, before anything reads them. Files given to `render`, and the
// parts of a CRD the API server leaves unchecked (label selectors), can hold any JSON: a number where a string
// goes, null in a list, a map where a list goes. `conform` copies only the fields a shape names, each of the
// type it names, and reports every value it drops with its path, so no later step meets a type it did not expect.

export type Shape =
  | { kind: "string" }
  | { kind: "boolean" }
  | { kind: "integer" }
  /** A whole number or a string (e.g. blacklistRouterIDs, targetPort): its meaning is checked later. */
  | { kind: "intOrString" }
  /** Key → value, keys being strings; a `null` value is a problem, as in Kubernetes label maps. */
  | { kind: "map"; values: Shape }
  | { kind: "list"; items: Shape }
  /**
   * Named fields; the others are not read and not copied. A `null` field counts as absent (as the API server
   * prunes it). An object missing a `required` field is dropped whole.
   */
  | { kind: "object"; fields: Readonly<Record<string, Shape>>; required?: readonly string[] };

export const STRING: Shape = { kind: "string" };
export const BOOLEAN: Shape = { kind: "boolean" };
export const INTEGER: Shape = { kind: "integer" };
export const INT_OR_STRING: Shape = { kind: "intOrString" };
export const STRING_MAP: Shape = { kind: "map", values: STRING };
export const STRING_LIST: Shape = { kind: "list", items: STRING };
export const listOf = (items: Shape): Shape => ({ kind: "list", items });
export const objectOf = (
  fields: Readonly<Record<string, Shape>>,
  required: readonly string[] = [],
): Shape => ({
  kind: "object",
  fields,
  required,
});

/** A value dropped because it has the wrong type. */
export interface ShapeProblem {
  /** Where, e.g. `spec.addressPools[0].serviceSelector.matchExpressions`. */
  path: string;
  /** e.g. `must be a list, not a number (5)`. */
  problem: string;
}

const EXPECTED: Record<Shape["kind"], string> = {
  string: "a string",
  boolean: "true or false",
  integer: "a whole number",
  intOrString: "a whole number or a string",
  map: "a map of keys to values",
  list: "a list",
  object: "an object",
};

/** What a value is, for messages: `a number (5)`, `null`, `a list`. Never echoes more than a few characters. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  switch (typeof value) {
    case "string":
      return `a string (${JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…` : value)})`;
    case "number":
      if (Number.isSafeInteger(value)) return `a whole number (${value})`;
      return Number.isInteger(value) ? `a number too large to be exact (${value})` : `a number (${value})`;
    case "boolean":
      return `a boolean (${value})`;
    case "object":
      return "an object";
    default:
      return typeof value;
  }
}

/** A map key as a path shows it: as written when it looks like a label key, else quoted and cut short. */
function keyText(key: string): string {
  return /^[A-Za-z0-9_./-]{1,253}$/.test(key)
    ? key
    : JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}…` : key);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Object keys in code-unit order, so problems come out in the same order whatever the input's order. */
function sortedEntries(value: Record<string, unknown>): [string, unknown][] {
  return Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function scalar(value: unknown, kind: Shape["kind"]): boolean {
  switch (kind) {
    case "string":
      return typeof value === "string";
    case "boolean":
      return typeof value === "boolean";
    case "integer":
      return typeof value === "number" && Number.isSafeInteger(value);
    case "intOrString":
      return typeof value === "string" || (typeof value === "number" && Number.isSafeInteger(value));
    default:
      return false;
  }
}

/**
 * The part of `value` that has `shape`, or undefined when `value` itself has the wrong type. Every dropped
 * value is added to `problems`. Keys are copied onto null-prototype-free plain objects in input order.
 */
export function conform(value: unknown, shape: Shape, path: string, problems: ShapeProblem[]): unknown {
  const wrong = (): unknown => {
    problems.push({ path, problem: `must be ${EXPECTED[shape.kind]}, not ${describeValue(value)}` });
    return undefined;
  };
  switch (shape.kind) {
    case "map": {
      if (!isPlainObject(value)) return wrong();
      const out: Record<string, unknown> = {};
      for (const [k, v] of sortedEntries(value)) {
        const c = conform(v, shape.values, `${path}[${keyText(k)}]`, problems);
        if (c !== undefined) Object.defineProperty(out, k, { value: c, enumerable: true, writable: true });
      }
      return out;
    }
    case "list": {
      if (!Array.isArray(value)) return wrong();
      const out: unknown[] = [];
      value.forEach((item: unknown, i) => {
        const c = conform(item, shape.items, `${path}[${i}]`, problems);
        if (c !== undefined) out.push(c);
      });
      return out;
    }
    case "object": {
      if (!isPlainObject(value)) return wrong();
      const out: Record<string, unknown> = {};
      for (const [k, fieldShape] of Object.entries(shape.fields)) {
        const v = Object.hasOwn(value, k) ? value[k] : undefined;
        if (v === undefined || v === null) continue;
        const c = conform(v, fieldShape, path === "" ? k : `${path}.${k}`, problems);
        if (c !== undefined) out[k] = c;
      }
      const missing = (shape.required ?? []).filter((k) => !Object.hasOwn(out, k));
      for (const k of missing) {
        const given = Object.hasOwn(value, k) && value[k] !== undefined && value[k] !== null;
        if (!given) problems.push({ path: path === "" ? k : `${path}.${k}`, problem: "is required" });
      }
      return missing.length > 0 ? undefined : out;
    }
    default:
      return scalar(value, shape.kind) ? value : wrong();
  }
}

/** How many type problems of one object are reported one by one; the rest are summed up in one more. */
export const PROBLEMS_LISTED = 5;

/**
 * Reports an object's type problems through `report(field, message)`: up to PROBLEMS_LISTED one by one, the
 * rest in one summary, so a file with thousands of bad values gives a handful of lines.
 */
export function reportShapeProblems(
  problems: readonly ShapeProblem[],
  fix: string,
  report: (field: string, message: string) => void,
): void {
  const listed = problems.length > PROBLEMS_LISTED ? problems.slice(0, PROBLEMS_LISTED - 1) : problems;
  for (const p of listed) report(p.path, `${p.problem}; ${fix}.`);
  const rest = problems.slice(listed.length);
  const first = rest[0];
  if (first === undefined) return;
  const names = rest.slice(0, 5).map((p) => p.path);
  report(
    first.path,
    `${rest.length} more values have the wrong type (${names.join(", ")}${rest.length > names.length ? ", …" : ""}); ${fix}.`,
  );
}
