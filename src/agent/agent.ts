// The node agent: desired plan (PlanV1) → this node's keepalived.conf → validated → written → keepalived
// (re)loaded; keepalived's state changes and statistics → metrics. Pure decisions live in render/
// (keepalivedConf.ts, membership.ts), config.ts, addresses.ts, stats.ts and metrics.ts; this file
// sequences them.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { PlanInstanceV1, PlanV1 } from "../api/plan.js";
import type { Logger } from "../lib/log.js";
import { renderKeepalivedConf, type NodeContext } from "../render/keepalivedConf.js";
import { instancesForNode, planVips } from "../render/membership.js";
import { VrrpScheduling } from "./scheduling.js";
import { interfaceAddresses, leftoverVips, removeAddresses, routeInterface } from "./addresses.js";
import { ensureFifo, writeFileAtomic } from "./files.js";
import { keepalivedPaths, KeepalivedSupervisor, testConfigFile } from "./keepalived.js";
import { FAILOVER_BUCKETS, Histogram, type AgentMetrics } from "./metrics.js";
import { NotifyFifoReader, STATE_NUMBER, type VrrpEvent, type VrrpState } from "./notify.js";
import type { PlanSource } from "./planSource.js";
import { vrrpReport, type VrrpReport } from "./report.js";
import { parseKeepalivedJson, type InstanceStats } from "./stats.js";
import { NO_PREFIX, type CommandPrefix } from "./command.js";

export interface AgentOptions {
  node: string;
  /** Overrides the group's spec.interface / spec.interfaceFromIP. */
  interface?: string;
  /** Used when the plan source carries no password (file mode's --password-file). */
  password?: string;
  stateDir: string;
  source: PlanSource;
  log: Logger;
  keepalivedBinary?: string;
  /** Put before keepalived, its config test and every `ip` command (--netns). */
  commandPrefix?: CommandPrefix;
  /** Called when what vrrpReport() returns may have changed: a VRRP state change, a new plan, keepalived gone. */
  onVrrpChange?: () => void;
}

export class Agent {
  private readonly paths;
  private readonly scheduling: VrrpScheduling;
  private readonly supervisor: KeepalivedSupervisor;
  private readonly fifo: NotifyFifoReader;
  private readonly fifoPath: string;
  private plan: PlanV1 | undefined;
  private iface: string | undefined;
  /** VIPs of the current and previous plan: what a dead keepalived may have left on the interface. */
  private cleanupVips = new Set<string>();
  /** The password the running config was rendered with. */
  private password: string | undefined;
  private pending: { plan: PlanV1; password: string | undefined } | undefined;
  private applying: Promise<void> | undefined;
  private handingOver = false;
  private sampler: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;
  private readonly states = new Map<string, VrrpState>();
  /** Last time a stats sample showed the instance, in BACKUP, receiving adverts from a live MASTER. */
  private readonly peerSeenAt = new Map<string, number>();
  private readonly advertsSeen = new Map<string, number>();
  private instanceStats: InstanceStats[] = [];
  private keepalivedUp = false;
  private reloads = 0;
  private rejected = 0;
  private planReadErrors = 0;
  private readonly cmdPrefix: CommandPrefix;
  private readonly failover = new Histogram(FAILOVER_BUCKETS);
  private readonly log: Logger;

  constructor(private readonly opts: AgentOptions) {
    this.log = opts.log.with({ node: opts.node });
    this.cmdPrefix = opts.commandPrefix ?? NO_PREFIX;
    this.paths = keepalivedPaths(opts.stateDir);
    this.scheduling = new VrrpScheduling(this.paths.vrrpPid, this.log);
    this.fifoPath = join(opts.stateDir, "notify.fifo");
    this.fifo = new NotifyFifoReader(this.fifoPath, (e) => {
      this.onVrrpEvent(e);
    });
    this.supervisor = new KeepalivedSupervisor(
      this.paths,
      this.log,
      {
        beforeStart: () => this.removeLeftoverVips(),
        onExit: (code, signal) => {
          this.keepalivedUp = false;
          this.states.clear();
          this.opts.onVrrpChange?.();
          this.log.warn("keepalived exited", { code: code ?? undefined, signal: signal ?? undefined });
          // Never two owners: drop what the dead keepalived held at once, not at the next start.
          if (!this.handingOver) void this.removeLeftoverVips();
        },
        onLine: (line) => {
          this.log.info("keepalived", { line });
        },
      },
      opts.keepalivedBinary,
      this.cmdPrefix,
    );
  }

  async start(): Promise<void> {
    await mkdir(this.opts.stateDir, { recursive: true, mode: 0o700 });
    await ensureFifo(this.fifoPath);
    this.fifo.open();
    this.opts.source.start(
      (desired) => {
        this.submit(desired.plan, desired.password);
      },
      (err) => {
        this.rejected++;
        this.planReadErrors++;
        this.log.error("plan rejected", { reason: err.message });
      },
    );
  }

  /** Applies plans one at a time; a plan that arrives meanwhile replaces any still waiting. */
  submit(plan: PlanV1, password?: string): void {
    this.pending = { plan, password: password ?? this.opts.password };
    if (this.applying !== undefined) return;
    this.applying = (async () => {
      while (this.pending !== undefined && !this.handingOver) {
        const next = this.pending;
        this.pending = undefined;
        await this.apply(next.plan, next.password);
      }
      this.applying = undefined;
    })();
  }

  /** Resolves when every submitted plan has been applied or rejected. */
  async settled(): Promise<void> {
    while (this.applying !== undefined) await this.applying;
  }

  private reject(plan: PlanV1, reason: string): void {
    this.rejected++;
    this.log.error("config rejected; the last good one keeps running", { group: plan.group.key, reason });
  }

  private async resolveInterface(plan: PlanV1): Promise<string | undefined> {
    if (this.opts.interface !== undefined) return this.opts.interface;
    if (plan.group.interface !== undefined) return plan.group.interface;
    const ip = plan.group.interfaceFromIP;
    return ip === undefined ? undefined : routeInterface(ip, this.cmdPrefix);
  }

  private context(iface: string, handover: boolean, password: string | undefined): NodeContext {
    const ctx: NodeContext = { node: this.opts.node, interface: iface, notifyFifo: this.fifoPath };
    if (password !== undefined) ctx.password = password;
    if (handover) ctx.handover = true;
    return ctx;
  }

  private async apply(plan: PlanV1, password: string | undefined): Promise<void> {
    const iface = await this.resolveInterface(plan);
    if (iface === undefined) {
      this.reject(
        plan,
        `no interface: spec.interfaceFromIP ${plan.group.interfaceFromIP ?? "(unset)"} has no route on this node; set spec.interface or pass --interface`,
      );
      return;
    }
    if (!plan.nodes.some((n) => n.name === this.opts.node)) {
      this.log.warn("this node is not in the group; it holds none of its VIPs", { group: plan.group.key });
    }
    let text: string;
    try {
      text = renderKeepalivedConf(plan, this.context(iface, false, password));
    } catch (err) {
      this.reject(plan, (err as Error).message);
      return;
    }
    const candidate = join(this.opts.stateDir, "keepalived.conf.candidate");
    await writeFileAtomic(candidate, text);
    const problems = await testConfigFile(candidate, this.opts.keepalivedBinary, this.cmdPrefix);
    if (problems.length > 0) {
      this.reject(plan, `keepalived --config-test: ${problems.join("; ")}`);
      return;
    }
    const changed = await writeFileAtomic(this.paths.config, text);
    this.cleanupVips = new Set([...planVips(plan), ...(this.plan === undefined ? [] : planVips(this.plan))]);
    this.plan = plan;
    this.password = password;
    this.iface = iface;
    // The set of this node's instances may have changed with the plan.
    this.opts.onVrrpChange?.();
    if (!this.supervisor.running) {
      this.reloads++;
      await this.supervisor.start();
      this.startSampler();
    } else if (changed) {
      this.reloads++;
      this.supervisor.reload();
    }
    if (changed)
      this.log.info("config applied", { group: plan.group.key, instances: this.myInstances().length });
    else this.log.info("plan applied; this node's config is unchanged", { group: plan.group.key });
  }

  private async removeLeftoverVips(): Promise<void> {
    if (this.iface === undefined) return;
    const present = await interfaceAddresses(this.iface, this.cmdPrefix).catch(() => []);
    const left = leftoverVips(present, [...this.cleanupVips]);
    if (left.length === 0) return;
    const removed = await removeAddresses(this.iface, left, this.cmdPrefix);
    this.log.warn("removed VIPs a dead keepalived left on the interface", {
      interface: this.iface,
      vips: removed.join(" "),
    });
  }

  private myInstances(): PlanInstanceV1[] {
    return this.plan === undefined ? [] : instancesForNode(this.plan, this.opts.node);
  }

  private onVrrpEvent(e: VrrpEvent): void {
    if (e.kind !== "INSTANCE") return;
    const previous = this.states.get(e.name);
    this.states.set(e.name, e.state);
    const seen = this.peerSeenAt.get(e.name);
    if (e.state === "MASTER" && previous === "BACKUP" && seen !== undefined) {
      this.failover.observe((Date.now() - seen) / 1000);
      this.peerSeenAt.delete(e.name);
    }
    this.log.info("vrrp state", { instance: e.name, state: e.state, previous, priority: e.priority });
    if (previous !== e.state) this.opts.onVrrpChange?.();
  }

  /** This node's instances of the current plan, their VRRP states and the VIPs it holds as MASTER. */
  vrrpReport(): VrrpReport {
    return vrrpReport(this.myInstances(), this.states);
  }

  private startSampler(): void {
    if (this.sampler !== undefined) return;
    const advert = this.plan?.group.vrrp.advertIntervalMs ?? 1000;
    // Sampling at the advert interval (within 250 ms–1 s) bounds the error of the failover figure.
    this.sampler = setInterval(() => void this.sample(), Math.min(1000, Math.max(250, advert)));
  }

  /** Reads keepalived's JSON dump once (concurrent callers share the same read). */
  sample(): Promise<void> {
    this.sampling ??= (async () => {
      try {
        const text = this.supervisor.running ? await this.supervisor.dumpJson() : undefined;
        if (text === undefined) {
          this.keepalivedUp = false;
          return;
        }
        const now = Date.now();
        this.instanceStats = parseKeepalivedJson(text);
        for (const s of this.instanceStats) {
          const before = this.advertsSeen.get(s.iname) ?? 0;
          if (s.state === STATE_NUMBER.BACKUP && s.advertRcvd > before) this.peerSeenAt.set(s.iname, now);
          this.advertsSeen.set(s.iname, s.advertRcvd);
        }
        this.keepalivedUp = true;
        // Each sample also catches a restarted keepalived: its new VRRP process gets the plan's scheduling.
        await this.scheduling.ensure(this.plan?.group.vrrp.realtimeScheduling === true);
      } catch (err) {
        this.keepalivedUp = false;
        this.log.warn("cannot read keepalived statistics", { error: (err as Error).message });
      } finally {
        this.sampling = undefined;
      }
    })();
    return this.sampling;
  }

  metrics(): AgentMetrics {
    const vipStates = this.myInstances().flatMap((i) =>
      i.vips.map((vip) => ({
        vip,
        instance: i.name,
        state: STATE_NUMBER[this.states.get(i.name) ?? "INIT"],
      })),
    );
    return {
      keepalivedUp: this.keepalivedUp && this.supervisor.running,
      instances: this.supervisor.running ? this.instanceStats : [],
      vipStates,
      configReloads: this.reloads,
      configRejected: this.rejected,
      planReadErrors: this.planReadErrors,
      failover: this.failover,
    };
  }

  /** Ready once keepalived runs a validated config. */
  ready(): boolean {
    return this.plan !== undefined && this.supervisor.running;
  }

  /** Instance names this node holds as MASTER right now, per keepalived's notifications. */
  masters(): string[] {
    return [...this.states.entries()]
      .filter(([, s]) => s === "MASTER")
      .map(([n]) => n)
      .sort();
  }

  /**
   * Hands the VIPs over before stopping: lowest priority everywhere, reload, wait (bounded) until no
   * instance of this node is MASTER, then stop keepalived.
   */
  async stop(): Promise<void> {
    this.opts.source.stop();
    this.handingOver = true;
    await this.applying;
    if (this.sampler !== undefined) clearInterval(this.sampler);
    const plan = this.plan;
    if (
      plan !== undefined &&
      this.iface !== undefined &&
      this.supervisor.running &&
      this.masters().length > 0
    ) {
      const advert = plan.group.vrrp.advertIntervalMs;
      // Peers take over after their master-down interval: 3 adverts plus skew (< 1 advert).
      const bound = 4 * advert + 1000;
      const held = this.masters();
      this.log.info("handing VIPs over before stopping", { instances: held.join(" "), boundMs: bound });
      await writeFileAtomic(
        this.paths.config,
        renderKeepalivedConf(plan, this.context(this.iface, true, this.password)),
      );
      this.supervisor.reload();
      const started = Date.now();
      while (this.masters().length > 0 && Date.now() - started < bound)
        await new Promise((r) => setTimeout(r, 10));
      const left = this.masters();
      if (left.length > 0)
        this.log.warn("no peer took over in time; stopping anyway", { instances: left.join(" ") });
      else this.log.info("VIPs handed over", { ms: Date.now() - started });
    }
    await this.supervisor.stop();
    await this.sampling;
    this.fifo.close();
  }
}
