// Planning one group must never stop the others. Every per-group step runs guarded: a group whose step throws
// (a bug: every input is type-checked before) is set aside with a PlanningFailed error on its status, and the
// other groups are planned as usual. A step over all groups at once (addresses, router IDs) that throws is
// replayed group by group to find the ones that make it throw; it then runs without them. Pure and
// deterministic: groups are tried in key order.
import { groupObject } from "./diagnostics.js";
import { byKey } from "./keys.js";
import { planningFailed, type InvalidGroup, type PendingGroup } from "./planInputs.js";

/** The groups still being planned, and those set aside because a step threw. */
export class GroupIsolation {
  readonly failed: InvalidGroup[] = [];

  constructor(readonly groups: Map<string, PendingGroup>) {}

  /** Sets the group aside with a PlanningFailed error naming the step. */
  fail(group: PendingGroup, step: string, err: unknown): void {
    this.groups.delete(group.model.key);
    this.failed.push({
      key: group.model.key,
      diagnostics: [planningFailed(groupObject(group.model), step, err)],
    });
  }

  /** The groups still being planned, in key order. */
  live(): PendingGroup[] {
    return [...this.groups.values()].sort((a, b) => byKey(a.model, b.model));
  }

  /** Runs `step` for each group in key order; a group whose step throws is set aside. */
  each(step: string, run: (group: PendingGroup) => void): void {
    for (const group of this.live()) {
      try {
        run(group);
      } catch (err) {
        this.fail(group, step, err);
      }
    }
  }

  /**
   * Runs a step over all groups (`run` must be pure: it may be replayed). When it throws, each group is tried
   * on its own; those that throw are set aside and the step runs over the rest. If that still throws (only
   * groups together fail), every group left is set aside and `none` is the result.
   */
  all<R>(step: string, run: (groups: readonly PendingGroup[]) => R, none: R): R {
    try {
      return run(this.live());
    } catch {
      for (const group of this.live()) {
        try {
          run([group]);
        } catch (err) {
          this.fail(group, step, err);
        }
      }
    }
    try {
      return run(this.live());
    } catch (err) {
      for (const group of this.live()) this.fail(group, `${step} (together with the other groups)`, err);
      return none;
    }
  }

  /** Keys of the groups set aside so far. */
  failedKeys(): Set<string> {
    return new Set(this.failed.map((f) => f.key));
  }
}
