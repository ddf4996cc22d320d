// Type checks of the objects the planner reads, before anything reads them. Files given to `render`, and the
// parts of a CRD the API server leaves unchecked (label selectors), can hold any JSON: a number where a string
// goes, null in a list, a map where a list goes. `conform` copies only the fields a shape names, each of the
// type it names, and reports every value it drops with its path, so no later step meets a type it did not expect.

export type Shape =
  /** A string; with `oneOf`, one of those words (an enum of the API, e.g. spec.ipFamilies' IPv4 and IPv6). */
  | { kind: "string"; oneOf?: readonly string[] }
  | { kind: "boolean" }
  /** A whole number; with `min`/`max`, in that range (e.g. a port). */
  | { kind: "integer"; min?: number; max?: number }
  /** A whole number or a string (e.g. blacklistRouterIDs, targetPort): its meaning is checked later. */
  | { kind: "intOrString" }
  /** Key → value, keys being strings; a `null` value is a problem, as in Kubernetes label maps. */
  | { kind: "map"; values: Shape }
  | { kind: "list"; items: Shape }
  /**
   * Named fields; the others are not read and not copied. A `null` field counts as absent (as the API server
   * prunes it). An object missing a `required` field is dropped whole.
   */
  | { kind: "object"; fields: Readonly<Record<string, Shape>>; required?: readonly string[] }
  /**
   * A field of an object whose `null` is a wrong value, not an absent one: an object's metadata or spec, its
   * name, namespace or annotations, the group's interface. Written `notNull(shape)`.
   */
  | { kind: "notNull"; shape: Shape };

export const STRING: Shape = { kind: "string" };
export const BOOLEAN: Shape = { kind: "boolean" };
export const INTEGER: Shape = { kind: "integer" };
export const INT_OR_STRING: Shape = { kind: "intOrString" };
export const STRING_MAP: Shape = { kind: "map", values: STRING };
export const STRING_LIST: Shape = { kind: "list", items: STRING };
export const listOf = (items: Shape): Shape => ({ kind: "list", items });
export const notNull = (shape: Shape): Shape => ({ kind: "notNull", shape });
export const oneOf = (...words: string[]): Shape => ({ kind: "string", oneOf: words });
export const integerIn = (min: number, max: number): Shape => ({ kind: "integer", min, max });
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
  notNull: "a value",
};

/** What a value of `shape` must be, for messages. */
function expected(shape: Shape): string {
  if (shape.kind === "notNull") return expected(shape.shape);
  if (shape.kind === "string" && shape.oneOf !== undefined) return `one of ${shape.oneOf.join(", ")}`;
  if (shape.kind === "integer" && shape.min !== undefined && shape.max !== undefined)
    return `a whole number from ${shape.min} to ${shape.max}`;
  return EXPECTED[shape.kind];
}

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

function scalar(value: unknown, shape: Shape): boolean {
  switch (shape.kind) {
    case "string":
      return typeof value === "string" && (shape.oneOf?.includes(value) ?? true);
    case "boolean":
      return typeof value === "boolean";
    case "integer":
      return (
        typeof value === "number" &&
        Number.isSafeInteger(value) &&
        value >= (shape.min ?? -Infinity) &&
        value <= (shape.max ?? Infinity)
      );
    case "intOrString":
      return typeof value === "string" || (typeof value === "number" && Number.isSafeInteger(value));
    default:
      return false;
  }
}

/** Where a value is: made into text (`spec.ports[0].port`) only when a problem there is reported. */
type At =
  | { kind: "root"; text: string }
  | { kind: "field" | "key"; up: At; name: string }
  | { kind: "index"; up: At; index: number };

function pathText(at: At): string {
  switch (at.kind) {
    case "root":
      return at.text;
    case "field": {
      const up = pathText(at.up);
      return up === "" ? at.name : `${up}.${at.name}`;
    }
    case "key":
      return `${pathText(at.up)}[${keyText(at.name)}]`;
    case "index":
      return `${pathText(at.up)}[${at.index}]`;
  }
}

/** Map entries in code-unit order of their keys (sorted only when they are not already). */
function orderedKeys(value: Record<string, unknown>): string[] {
  const keys = Object.keys(value);
  for (let i = 1; i < keys.length; i++)
    if ((keys[i - 1] ?? "") >= (keys[i] ?? "")) return keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return keys;
}

/** The fields of an object shape, listed once per shape. */
const FIELDS = new WeakMap<Shape, [string, Shape][]>();
function fieldsOf(shape: Shape & { kind: "object" }): [string, Shape][] {
  let fields = FIELDS.get(shape);
  if (fields === undefined) {
    fields = Object.entries(shape.fields);
    FIELDS.set(shape, fields);
  }
  return fields;
}

/**
 * The part of `value` that has `shape`, or undefined when `value` itself has the wrong type. Every dropped
 * value is added to `problems`. Keys are copied onto null-prototype-free plain objects in input order.
 */
export function conform(value: unknown, shape: Shape, path: string, problems: ShapeProblem[]): unknown {
  return conformAt(value, shape, { kind: "root", text: path }, problems);
}

/**
 * conform(value, { kind: "map", values }) for a caller that never changes a value in place once conformed
 * (see memo.ts): an object value conformed before under any key is taken from `seen`. Problems are not kept.
 */
export function conformMapReusing(value: unknown, values: Shape, seen: WeakMap<object, unknown>): unknown {
  if (!isPlainObject(value)) return undefined;
  const out: Record<string, unknown> = {};
  for (const k of orderedKeys(value)) {
    const v = value[k];
    let c: unknown;
    if (typeof v === "object" && v !== null) {
      c = seen.get(v);
      if (c === undefined && !seen.has(v)) {
        c = conformAt(v, values, { kind: "key", up: { kind: "root", text: "" }, name: k }, []);
        seen.set(v, c);
      }
    } else c = scalar(v, values) ? v : undefined;
    if (c === undefined) continue;
    if (k === "__proto__") Object.defineProperty(out, k, { value: c, enumerable: true, writable: true });
    else out[k] = c;
  }
  return out;
}

/** Reports `value` at `at` as not of `shape`'s type; undefined, for the caller to return. */
function wrongType(value: unknown, shape: Shape, at: At, problems: ShapeProblem[]): unknown {
  problems.push({
    path: pathText(at),
    problem: `must be ${expected(shape)}, not ${describeValue(value)}`,
  });
  return undefined;
}

function conformAt(value: unknown, shape: Shape, at: At, problems: ShapeProblem[]): unknown {
  switch (shape.kind) {
    case "map": {
      if (!isPlainObject(value)) return wrongType(value, shape, at, problems);
      const out: Record<string, unknown> = {};
      for (const k of orderedKeys(value)) {
        const v = value[k];
        // A value of the right scalar type is taken as it is; anything else is looked at closely.
        const c = scalar(v, shape.values)
          ? v
          : conformAt(v, shape.values, { kind: "key", up: at, name: k }, problems);
        if (c === undefined) continue;
        // A key such as __proto__ is data here: defined, never assigned through a setter.
        if (k === "__proto__") Object.defineProperty(out, k, { value: c, enumerable: true, writable: true });
        else out[k] = c;
      }
      return out;
    }
    case "list": {
      if (!Array.isArray(value)) return wrongType(value, shape, at, problems);
      const out: unknown[] = [];
      value.forEach((item: unknown, index) => {
        const c = scalar(item, shape.items)
          ? item
          : conformAt(item, shape.items, { kind: "index", up: at, index }, problems);
        if (c !== undefined) out.push(c);
      });
      return out;
    }
    case "object": {
      if (!isPlainObject(value)) return wrongType(value, shape, at, problems);
      const out: Record<string, unknown> = {};
      for (const [k, fieldShape] of fieldsOf(shape)) {
        const v = Object.hasOwn(value, k) ? value[k] : undefined;
        if (v === undefined || (v === null && fieldShape.kind !== "notNull")) continue;
        const c = scalar(v, fieldShape)
          ? v
          : conformAt(v, fieldShape, { kind: "field", up: at, name: k }, problems);
        if (c !== undefined) out[k] = c;
      }
      const required = shape.required ?? [];
      if (required.length === 0) return out;
      const missing = required.filter((k) => !Object.hasOwn(out, k));
      for (const k of missing) {
        const given = Object.hasOwn(value, k) && value[k] !== undefined && value[k] !== null;
        if (!given)
          problems.push({ path: pathText({ kind: "field", up: at, name: k }), problem: "is required" });
      }
      return missing.length > 0 ? undefined : out;
    }
    case "notNull":
      return value === null
        ? wrongType(value, shape, at, problems)
        : conformAt(value, shape.shape, at, problems);
    default:
      return scalar(value, shape) ? value : wrongType(value, shape, at, problems);
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
