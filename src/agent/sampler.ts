// keepalived's JSON dump, read at the advert interval (within 250 ms–1 s, which bounds the error of the
// failover figure) and on demand (/metrics): its statistics go to the VRRP observations, and each read also
// reschedules a restarted VRRP process. keepalived's own output lines are logged here too.
import type { Logger } from "../lib/log.js";
import type { KeepalivedSupervisor } from "./keepalived.js";
import type { KeepalivedLogLine } from "./keepalivedLog.js";
import type { VrrpScheduling } from "./scheduling.js";
import { keepalivedStats } from "./stats.js";
import type { VrrpObservations } from "./vrrpObservations.js";

export interface SamplerParts {
  supervisor: KeepalivedSupervisor;
  vrrp: VrrpObservations;
  scheduling: VrrpScheduling;
  log: Logger;
  /** Whether the plan asks for real-time scheduling of the VRRP process. */
  realtime(): boolean;
  /** keepalived's output lines held back so far (repeats summed up). */
  heldLines(): KeepalivedLogLine[];
}

export class KeepalivedSampler {
  /** The last read of the dump worked. */
  up = false;
  private timer: NodeJS.Timeout | undefined;
  private every = 0;
  private lastError = "";
  private sampling: Promise<void> | undefined;

  constructor(private readonly p: SamplerParts) {}

  start(advertMs: number): void {
    const every = Math.min(1000, Math.max(250, advertMs));
    if (this.timer !== undefined && this.every === every) return;
    clearInterval(this.timer);
    this.every = every;
    this.timer = setInterval(() => void this.sample(), every);
  }

  /** Stops the timer; resolves when a read in progress has ended. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sampling;
  }

  logLines(lines: KeepalivedLogLine[]): void {
    for (const l of lines) this.p.log.info("keepalived", { line: l.line, repeated: l.repeated });
  }

  /** Reads keepalived's JSON dump once (concurrent callers share the same read). */
  sample(): Promise<void> {
    this.logLines(this.p.heldLines());
    this.sampling ??= (async () => {
      try {
        const dump = this.p.supervisor.running ? await this.p.supervisor.dumpJson() : undefined;
        if (dump === undefined) {
          this.up = false;
          return;
        }
        this.p.vrrp.sampled(keepalivedStats(dump, this.p.vrrp.stats), Date.now());
        this.up = true;
        this.lastError = "";
        await this.p.scheduling.ensure(this.p.realtime());
      } catch (err) {
        this.up = false;
        const error = (err as Error).message;
        // Sampled up to four times a second: say it once per distinct error, not at every sample.
        if (error !== this.lastError) this.p.log.warn("cannot read keepalived statistics", { error });
        this.lastError = error;
      } finally {
        this.sampling = undefined;
      }
    })();
    return this.sampling;
  }
}
