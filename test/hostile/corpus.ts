// The hostile corpus as data: test/hostile/world.yaml (the benign world) and test/hostile/cases/*.yaml (the
// cases). This module reads them, expands `values` tables and the few `$` helpers, and builds each case's
// objects. How to write a case: test/hostile/README.md.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

export const HOSTILE_DIR = join(process.cwd(), "test/hostile");
export const ANNOTATION_PREFIX = "keepalived-operator.redhat-cop.io/";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface World {
  hostileGroup: JsonObject;
  serviceTemplate: JsonObject;
  objects: JsonObject[];
  /** `namespace/name` of the Services that must be announced as in the world without a case. */
  bystanders: string[];
}

export interface HostileCase {
  /** `<file>/<id>` or `<file>/<id>/<value label>`. */
  id: string;
  about: string;
  /** Patch merged into the world's hostile group. */
  group?: Json;
  /** Services of the case, each a patch merged into the Service template. */
  services: Json[];
  /** Extra Nodes, whole objects. */
  nodes: Json[];
  /** VRRP password handed to the renderer (what the agent reads from the group's Secret). */
  password?: string;
  expect: "refused" | "accepted";
  /** `Kind` or `Kind namespace/name`: the object a diagnostic must be on (refused), or may be on (accepted). */
  object?: string;
  /** The field the diagnostic must name (a prefix: `spec.addressPools[0]` matches `spec.addressPools[0].name`). */
  field?: string;
  /** IPs that must not be announced or rendered anywhere. */
  forbiddenVips: string[];
  /** IPs that must be rendered as VIPs. */
  vips: string[];
  /** Lines (trimmed) that some rendered config must contain. */
  lines: string[];
  /** At most this many diagnostics (and CLI warnings) on the case's object. */
  maxDiagnostics?: number;
  /** Each Service of the case is played this many times (names suffixed -0, -1, …). */
  serviceCopies?: number;
  /** The case is about the world's other group, which `render` (one group a run) cannot see: its expectation
   *  is checked on the planner run only. */
  otherGroup?: boolean;
  /** The case legitimately stops the hostile group's own bystander (e.g. it takes every router ID). */
  excuseBystander?: boolean;
  /** A defect of issue #11 this case still shows; the harness checks that it still fails. */
  knownDefect?: string;
}

const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/** Sets an own property, even `__proto__`: hostile keys must reach the product as written. */
function setOwn(o: JsonObject, key: string, value: Json): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

function fromEntries(entries: [string, Json][]): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of entries) setOwn(out, k, v);
  return out;
}

/**
 * Expands the `$` helpers: {$repeat, times, prefix?, suffix?} (a long string), {$json} (a value as JSON text),
 * {$keys, prefix?, value} (an object with many keys), {$entries: [[key, value], …]} (keys that are helpers).
 */
export function expand(v: Json): Json {
  if (Array.isArray(v)) return v.map(expand);
  if (!isObject(v)) return v;
  if (typeof v.$repeat === "string" && typeof v.times === "number") {
    const prefix = typeof v.prefix === "string" ? v.prefix : "";
    const suffix = typeof v.suffix === "string" ? v.suffix : "";
    return prefix + v.$repeat.repeat(v.times) + suffix;
  }
  if ("$json" in v) return JSON.stringify(expand(v.$json ?? null));
  if (Array.isArray(v.$entries)) {
    const pairs = v.$entries.map((e) => (Array.isArray(e) ? e.map(expand) : []));
    return fromEntries(pairs.map(([k, x]) => [typeof k === "string" ? k : JSON.stringify(k), x ?? null]));
  }
  if (typeof v.$keys === "number") {
    const prefix = typeof v.prefix === "string" ? v.prefix : "key_";
    const value = expand(v.value ?? "1");
    return fromEntries(Array.from({ length: v.$keys }, (_, i) => [`${prefix}${i}`, value]));
  }
  return fromEntries(
    Object.entries(v).map(([k, x]) => [k.startsWith("~/") ? ANNOTATION_PREFIX + k.slice(2) : k, expand(x)]),
  );
}

const DELETE = (v: Json | undefined): boolean => isObject(v) && v.$delete === true;

/** Merges a patch into a base: objects merge key by key, anything else replaces; {$delete: true} removes. */
export function merge(base: Json | undefined, patch: Json): Json {
  if (!isObject(base) || !isObject(patch) || DELETE(patch)) return structuredClone(patch);
  const out: JsonObject = structuredClone(base);
  for (const [k, v] of Object.entries(patch)) {
    if (DELETE(v)) Reflect.deleteProperty(out, k);
    else setOwn(out, k, merge(Object.hasOwn(out, k) ? out[k] : undefined, v));
  }
  return out;
}

function substitute(v: Json, value: Json): Json {
  if (v === "$value") return structuredClone(value);
  if (Array.isArray(v)) return v.map((x) => substitute(x, value));
  if (!isObject(v)) return v;
  return fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, value)]));
}

const strings = (v: Json | undefined): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];

function toCase(file: string, id: string, raw: JsonObject): HostileCase {
  const expect = raw.expect;
  if (expect !== "refused" && expect !== "accepted")
    throw new Error(`${id}: expect must be refused or accepted`);
  if (expect === "refused" && (typeof raw.object !== "string" || typeof raw.field !== "string"))
    throw new Error(`${id}: a refused case names the object and the field of its diagnostic`);
  const c: HostileCase = {
    id: `${file}/${id}`,
    about: typeof raw.about === "string" ? raw.about : "",
    services: Array.isArray(raw.services) ? raw.services.map(expand) : [],
    nodes: Array.isArray(raw.nodes) ? raw.nodes.map(expand) : [],
    expect,
    forbiddenVips: strings(raw.forbiddenVips),
    vips: strings(raw.vips),
    lines: strings(raw.lines),
  };
  if (raw.group !== undefined) c.group = expand(raw.group);
  if (typeof raw.password === "string") c.password = raw.password;
  if (typeof raw.object === "string") c.object = raw.object;
  if (typeof raw.field === "string") c.field = raw.field;
  if (typeof raw.maxDiagnostics === "number") c.maxDiagnostics = raw.maxDiagnostics;
  if (typeof raw.serviceCopies === "number") c.serviceCopies = raw.serviceCopies;
  if (raw.excuseBystander === true) c.excuseBystander = true;
  if (raw.otherGroup === true) c.otherGroup = true;
  if (typeof raw.knownDefect === "string") c.knownDefect = raw.knownDefect;
  return c;
}

/** Every case of every file in test/hostile/cases, `values` tables expanded, in file order. */
export function loadCases(): HostileCase[] {
  const out: HostileCase[] = [];
  const dir = join(HOSTILE_DIR, "cases");
  for (const name of readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()) {
    const file = name.replace(/\.yaml$/, "");
    const entries = parse(readFileSync(join(dir, name), "utf8")) as unknown;
    if (!Array.isArray(entries)) throw new Error(`${name}: must be a list of cases`);
    for (const entry of entries as JsonObject[]) {
      const id = entry.id;
      if (typeof id !== "string") throw new Error(`${name}: a case has no id`);
      const values = entry.values;
      if (values === undefined) {
        out.push(toCase(file, id, entry));
        continue;
      }
      if (!isObject(values)) throw new Error(`${name}/${id}: values must be a map of label to value`);
      const { values: _, knownDefects, ...template } = entry;
      for (const [label, value] of Object.entries(values)) {
        const raw = substitute(template, expand(value)) as JsonObject;
        // knownDefects: {<value label>: <defect>} marks single values of a table.
        const defect = isObject(knownDefects ?? null) ? (knownDefects as JsonObject)[label] : undefined;
        if (typeof defect === "string") raw.knownDefect = defect;
        out.push(toCase(file, `${id}/${label}`, raw));
      }
    }
  }
  const seen = new Set<string>();
  for (const c of out) {
    if (seen.has(c.id)) throw new Error(`duplicate case id ${c.id}`);
    seen.add(c.id);
  }
  return out;
}

export function loadWorld(): World {
  return parse(readFileSync(join(HOSTILE_DIR, "world.yaml"), "utf8")) as World;
}

export interface CaseObjects {
  hostileGroup: Json;
  /** The case's Services, then the world's. */
  services: Json[];
  /** How many of `services` are the case's. */
  caseServices: number;
  groups: Json[];
  nodes: Json[];
}

/** The objects a case is played with: the world with the case applied. */
export function caseObjects(world: World, c: HostileCase): CaseObjects {
  const hostileGroup =
    c.group === undefined ? structuredClone(world.hostileGroup) : merge(world.hostileGroup, c.group);
  const kindOf = (o: JsonObject): Json | undefined => o.kind;
  const own = c.services.map((patch) => merge(world.serviceTemplate, patch));
  const copies = c.serviceCopies;
  const mine =
    copies === undefined
      ? own
      : own.flatMap((s) =>
          Array.from({ length: copies }, (_, i) => {
            const copy = structuredClone(s);
            const meta = isObject(copy) ? copy.metadata : undefined;
            if (isObject(meta ?? null)) {
              const m = meta as JsonObject;
              m.name = `${typeof m.name === "string" ? m.name : JSON.stringify(m.name)}-${i}`;
            }
            return copy;
          }),
        );
  return {
    hostileGroup,
    groups: [hostileGroup, ...world.objects.filter((o) => kindOf(o) === "KeepalivedGroup")],
    caseServices: mine.length,
    services: [...mine, ...world.objects.filter((o) => kindOf(o) === "Service")],
    nodes: [...world.objects.filter((o) => kindOf(o) === "Node"), ...c.nodes],
  };
}

/** A case made of objects only, with no expectation of its own: the world, or a fuzzed input in it. */
export function plainCase(
  id: string,
  parts: Partial<Pick<HostileCase, "group" | "services" | "nodes" | "password">> = {},
): HostileCase {
  const c: HostileCase = {
    id,
    about: "",
    services: parts.services ?? [],
    nodes: parts.nodes ?? [],
    expect: "accepted",
    forbiddenVips: [],
    vips: [],
    lines: [],
  };
  if (parts.group !== undefined) c.group = parts.group;
  if (parts.password !== undefined) c.password = parts.password;
  return c;
}
