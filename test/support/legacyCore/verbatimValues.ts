// Checks of keepalived setting values written by people, each within what keepalived 2.2.7 takes without a
// complaint: any line keepalived prints while reading its config makes `--config-test` fail, so a value it
// would correct ("setting to 1"), round or ignore is refused here, before anything is planned.
import { parseIP } from "./ip.js";
import { configValueProblem } from "./validate.js";

/** Why the value cannot be used, finishing "<key> …", or undefined when it can. */
export type Check = (value: string) => string | undefined;

/**
 * No value may be longer: keepalived splits lines over 1023 characters, and every allowed value is a number, a
 * word or an address. Checked before the value's own rule, so no rule ever sees a long string.
 */
export const MAX_VALUE_LENGTH = 64;

/** A whole number in canonical form (no sign, no leading zeros: "0001" would pass Number() but not keepalived's line limit). */
export const intIn =
  (min: number, max: number): Check =>
  (v) =>
    /^(0|[1-9][0-9]{0,9})$/.test(v) && Number(v) >= min && Number(v) <= max
      ? undefined
      : `must be a whole number from ${min} to ${max}`;

/** A keyword that takes no value: written as "" (or "true", as YAML authors tend to). */
export const flag: Check = (v) =>
  v === "" || v === "true" ? undefined : 'takes no value (write "" or "true")';

/** A keyword that takes no value or an explicit true/false. */
export const flagOrBool: Check = (v) =>
  v === "" || v === "true" || v === "false" ? undefined : 'must be "", "true" or "false"';

/** Seconds with at most `decimals` decimals, from min to max. */
export const secondsIn =
  (min: number, max: number, decimals: number): Check =>
  (v) => {
    const shape = new RegExp(`^(0|[1-9][0-9]{0,5})(\\.[0-9]{1,${decimals}})?$`);
    return shape.test(v) && Number(v) >= min && Number(v) <= max
      ? undefined
      : `must be seconds from ${min} to ${max} with at most ${decimals} decimals`;
  };

/** One of the given words. */
export const oneOf =
  (...words: string[]): Check =>
  (v) =>
    words.includes(v) ? undefined : `must be one of ${words.map((w) => JSON.stringify(w)).join(", ")}`;

/** A single token of letters, digits, '.', '_' and '-' (router_id). */
export const token: Check = (v) =>
  /^[A-Za-z0-9._-]{1,64}$/.test(v) ? undefined : "must be one word of letters, digits, '.', '_' and '-'";

/** A multicast address of the family (vrrp_mcast_group4/6). */
export const multicast =
  (family: 4 | 6): Check =>
  (v) => {
    const ip = parseIP(v);
    const ok =
      ip !== undefined &&
      ip.text === v &&
      ip.family === family &&
      (family === 4 ? ip.value >> 28n === 0xen : ip.value >> 120n === 0xffn);
    return ok ? undefined : `must be an IPv${family} multicast address written canonically`;
  };

/** The value's problem: too long, keepalived syntax (said as such), or what its rule says. */
export function valueProblem(check: Check, value: string): string | undefined {
  if (value.length > MAX_VALUE_LENGTH) return `is longer than ${MAX_VALUE_LENGTH} characters`;
  return configValueProblem(value) ?? check(value);
}
