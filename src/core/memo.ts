// What a planner run can reuse from the runs before it, so that a change costs in proportion to what it
// touches. Opt-in (planCluster(snapshot, memo)): the caller promises that an input object is never changed in
// place once planned (the controller's caches replace objects, they never edit them). Every answer is the one
// a fresh plan gives: a memo only skips work whose inputs are the same as last time, and hands out copies of
// whatever a plan goes on to change. test/unit/incrementalPlan.test.ts replays changes against fresh plans.
import type { GroupResult } from "./group.js";
import type { ServiceClaim } from "./service.js";
import type { GroupRouters } from "./routers.js";
import type { Diagnostic } from "./diagnostics.js";
import type { GroupPlan } from "./clusterPlan.js";
import type { NumberedGroup } from "./numbering.js";
import type { AddressOutcome } from "./addresses.js";

/** A Service as the planner read it (see planInputs.ts readService). */
export type ReadService =
  | { kind: "ignored" }
  | { kind: "invalid"; key: string; diagnostics: Diagnostic[] }
  | { kind: "claim"; key: string; claim: ServiceClaim; diagnostics: Diagnostic[] };

/** A group's placement and routers (placeGroup), with the diagnostics it gave, by the inputs that made it. */
export interface PlacedGroup {
  routers: GroupRouters["routers"];
  placement: GroupRouters["placement"];
  diagnostics: Diagnostic[];
}

const isObject = (o: unknown): o is object => typeof o === "object" && o !== null;

/**
 * Every input of a group's step, as a flat list of values compared one by one with `===`: numbers and text as
 * they are, objects by identity (an object that is not the same one counts as changed, which only costs a
 * recomputation). Cheaper than one text: nothing is joined, and most entries are the same strings as last time.
 */
export type InputKey = readonly unknown[];

function sameKey(a: InputKey, b: InputKey): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** One value per group, made again when its key (every input of it) changes; kept for one run. */
class PerGroup<T> {
  private last = new Map<string, { key: InputKey; value: T }>();
  private next = new Map<string, { key: InputKey; value: T }>();

  get(group: string, key: InputKey, make: () => T): T {
    const hit = this.last.get(group);
    const value = hit !== undefined && sameKey(hit.key, key) ? hit.value : make();
    this.next.set(group, { key, value });
    return value;
  }

  /** Values of groups that were not asked for in this run are forgotten. */
  endRun(): void {
    this.last = this.next;
    this.next = new Map();
  }
}

export class PlannerMemo {
  private readonly services = new WeakMap<object, ReadService>();
  private readonly groups = new WeakMap<object, GroupResult>();
  /** A claim as read → its copy with the VIPs it was last given (the same copy while they are the same list). */
  private readonly accepted = new WeakMap<ServiceClaim, ServiceClaim>();
  private readonly modelIds = new WeakMap<object, number>();
  private readonly placed = new PerGroup<PlacedGroup>();
  private readonly addresses = new PerGroup<AddressOutcome>();
  private readonly numbered = new PerGroup<NumberedGroup>();
  private plans = new Map<string, { routers: unknown; text: string; plan: GroupPlan }>();
  private readonly conformed = new WeakMap<object, WeakMap<object, unknown>>();
  private ids = 0;

  /**
   * The reading of Service object `s`, made once per object and handed out as it is: the caller copies its
   * diagnostics before adding to them, and a claim is never changed (withVips makes the copy a plan changes).
   */
  readService(s: unknown, read: () => ReadService): ReadService {
    if (!isObject(s)) return read();
    let hit = this.services.get(s);
    if (hit === undefined) this.services.set(s, (hit = read()));
    return hit;
  }

  /** Claim `c` with `vips` as its VIPs: the same object as last time while `vips` is the same list. */
  withVips(c: ServiceClaim, vips: ServiceClaim["vips"]): ServiceClaim {
    const hit = this.accepted.get(c);
    if (hit?.vips === vips) return hit;
    const copy = { ...c, vips };
    this.accepted.set(c, copy);
    return copy;
  }

  /** Values of one shape conformed so far (conformMapReusing), by the value object: never changed in place. */
  conformedValues(shape: object): WeakMap<object, unknown> {
    let seen = this.conformed.get(shape);
    if (seen === undefined) this.conformed.set(shape, (seen = new WeakMap()));
    return seen;
  }

  /** The validation of group object `g`, made once per object (its model then keeps its identity). */
  validateGroup(g: unknown, validate: () => GroupResult): GroupResult {
    if (!isObject(g)) return validate();
    let hit = this.groups.get(g);
    if (hit === undefined) this.groups.set(g, (hit = validate()));
    return hit;
  }

  /** A number that stands for the content of `o` (a group model, a group's routers). */
  idOf(o: object): number {
    let id = this.modelIds.get(o);
    if (id === undefined) this.modelIds.set(o, (id = ++this.ids));
    return id;
  }

  /** The group's placement when `key` (every input of it, see plan.ts placementKey) is as last time. */
  placeGroup(groupKey: string, key: InputKey, place: () => PlacedGroup): PlacedGroup {
    return this.placed.get(groupKey, key, place);
  }

  /** The group's addresses when `key` (every input of it, see addressGroups.ts) is as last time. */
  assignAddresses(groupKey: string, key: InputKey, assign: () => AddressOutcome): AddressOutcome {
    return this.addresses.get(groupKey, key, assign);
  }

  /** The group's instances and announcements when `key` (its routers, model and router IDs) is as last time. */
  numberGroup(groupKey: string, key: InputKey, number: () => NumberedGroup): NumberedGroup {
    return this.numbered.get(groupKey, key, number);
  }

  /** Ends a run: what groups not planned in it had is forgotten. */
  endRun(): void {
    this.placed.endRun();
    this.addresses.endRun();
    this.numbered.endRun();
  }

  /**
   * The group's plan of the run before when `plan` says the same (so that what is made of a group plan can be
   * reused by its identity), else `plan`. The same routers (one placement, reused) numbered the same way by
   * the same model give the same instances; the rest is compared as text.
   */
  samePlan(plan: GroupPlan, routers: unknown): GroupPlan {
    const key = plan.group.key;
    const text = JSON.stringify([plan.routerIDs, plan.nodes, plan.diagnostics, plan.pools]);
    const before = this.plans.get(key);
    const same =
      before !== undefined &&
      before.routers === routers &&
      before.text === text &&
      before.plan.group === plan.group &&
      before.plan.placement === plan.placement;
    if (same) return before.plan;
    this.plans.set(key, { routers, text, plan });
    return plan;
  }
}
