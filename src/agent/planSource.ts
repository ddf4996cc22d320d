// Where the agent's desired PlanV1 comes from: a file here (FilePlanSource), the group's ConfigMap in
// apiPlanSource.ts. Both deliver the same DesiredConfig.
import { watch, type FSWatcher } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { basename, dirname } from "node:path";
import type { PlanV1 } from "../api/plan.js";
import { parsePlan } from "../render/planCodec.js";

export interface DesiredConfig {
  plan: PlanV1;
  /** The plan as read (plus what else went into it), to tell a change from a repeat. */
  text: string;
  /** VRRP password read from the group's Secret; absent when the source carries none. */
  password?: string;
}

export interface PlanSource {
  /** Calls onPlan with each new plan (the first as soon as it is read) and onError when one cannot be read. */
  start(onPlan: (desired: DesiredConfig) => void, onError: (err: Error) => void): void;
  stop(): void;
}

/** A plan file, followed with fs.watch plus a periodic stat (watch misses renames on some filesystems). */
export class FilePlanSource implements PlanSource {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastText: string | undefined;
  private lastStamp = "";
  private lastError = "";
  private reading = false;
  private again = false;
  private stopped = false;

  constructor(
    readonly path: string,
    private readonly pollMs = 500,
  ) {}

  start(onPlan: (desired: DesiredConfig) => void, onError: (err: Error) => void): void {
    const check = async (force: boolean): Promise<void> => {
      if (this.reading) {
        this.again = true;
        return;
      }
      this.reading = true;
      try {
        const s = await stat(this.path);
        const stamp = `${s.ino}:${s.size}:${s.mtimeMs}`;
        if (!force && stamp === this.lastStamp) return;
        this.lastStamp = stamp;
        const text = await readFile(this.path, "utf8");
        if (text === this.lastText || this.stopped) return;
        this.lastText = text;
        this.lastError = "";
        onPlan({ plan: parsePlan(text, this.path), text });
      } catch (err) {
        // A missing or broken file is reported once, not at every poll.
        const message = (err as Error).message;
        if (!this.stopped && message !== this.lastError) onError(err as Error);
        this.lastError = message;
      } finally {
        this.reading = false;
        if (this.again && !this.stopped) {
          this.again = false;
          void check(true);
        }
      }
    };
    // Watch the directory: the file is usually replaced by rename, which ends a watch on the file itself.
    try {
      this.watcher = watch(dirname(this.path), (_event, name) => {
        if (name === null || name === basename(this.path)) void check(true);
      });
      this.watcher.on("error", () => undefined);
    } catch {
      // The periodic stat below still follows the file.
    }
    this.timer = setInterval(() => void check(false), this.pollMs);
    void check(true);
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    if (this.timer !== undefined) clearInterval(this.timer);
  }
}
