// Reading untrusted JSON one field at a time: each reader returns the value with its type, or throws a
// PlanFormatError naming the field and what it must be. Pure; planCodec.ts composes these into the plan.
import { parseIP } from "../core/ip.js";
import type { PlanFamily } from "../api/plan.js";

/** The plan is not one the agent can run; `field` names where, the message says what it must be. */
export class PlanFormatError extends Error {
  constructor(
    readonly source: string,
    readonly field: string,
    message: string,
  ) {
    super(`${source}: ${field}: ${message}`);
    this.name = "PlanFormatError";
  }
}

export type JsonObject = Record<string, unknown>;
type Problem = (s: string) => string | undefined;

export const isJsonObject = (v: unknown): v is JsonObject =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** What was found instead, short and on one line, so a hostile value cannot forge log lines. */
function got(v: unknown): string {
  const shown = v === undefined ? "nothing" : ((JSON.stringify(v) as string | undefined) ?? typeof v);
  return ` (got ${shown.length > 60 ? `${shown.slice(0, 60)}…` : shown})`;
}

export class FieldReader {
  constructor(private readonly source: string) {}

  fail(field: string, message: string): never {
    throw new PlanFormatError(this.source, field, message);
  }

  object(v: unknown, field: string): JsonObject {
    return isJsonObject(v) ? v : this.fail(field, `must be a JSON object${got(v)}`);
  }

  text(v: unknown, field: string, problem?: Problem): string {
    if (typeof v !== "string") return this.fail(field, `must be a string${got(v)}`);
    const why = problem?.(v);
    return why === undefined ? v : this.fail(field, `${JSON.stringify(v.slice(0, 60))} ${why}`);
  }

  whole(v: unknown, field: string, min: number, max: number): number {
    return typeof v === "number" && Number.isInteger(v) && v >= min && v <= max
      ? v
      : this.fail(field, `must be a whole number from ${min} to ${max}${got(v)}`);
  }

  flag(v: unknown, field: string): boolean {
    return typeof v === "boolean" ? v : this.fail(field, `must be true or false${got(v)}`);
  }

  list<T>(v: unknown, field: string, item: (v: unknown, field: string) => T): T[] {
    if (!Array.isArray(v)) return this.fail(field, `must be a list${got(v)}`);
    return v.map((x: unknown, i) => item(x, `${field}[${i}]`));
  }

  /** A list of [keyword, value] pairs, each part checked for what keepalived would read as syntax. */
  pairs(v: unknown, field: string, keyProblem: Problem, valueProblem: Problem): [string, string][] {
    return this.list(v, field, (pair, at) => {
      if (!Array.isArray(pair) || pair.length !== 2)
        return this.fail(at, `must be a [key, value] pair${got(pair)}`);
      return [this.text(pair[0], `${at}[0]`, keyProblem), this.text(pair[1], `${at}[1]`, valueProblem)];
    });
  }

  /** An IP address, of `family` when given; returned as written. */
  ip(v: unknown, field: string, family?: PlanFamily): string {
    return this.text(v, field, (s) => {
      const parsed = parseIP(s);
      if (parsed === undefined) return "must be an IP address such as 198.18.0.1 or 2001:db8::1";
      return family === undefined || parsed.family === family
        ? undefined
        : `must be an IPv${family} address, as the instance's family is ${family}`;
    });
  }

  /** `read` applied to obj[key] when it is present; undefined when it is absent. */
  optional<T>(
    obj: JsonObject,
    key: string,
    field: string,
    read: (v: unknown, field: string) => T,
  ): T | undefined {
    return obj[key] === undefined ? undefined : read(obj[key], field);
  }
}
