// The node agent: desired plan (PlanV1) → this node's keepalived.conf → validated (a refused instance never
// holds back the others) → written → keepalived (re)loaded, or adopted from an agent that died; its states and
// statistics → metrics and the Lease report. Pure decisions: render/, config.ts, isolate.ts, addresses.ts,
// stats.ts, vrrpObservations.ts, metrics.ts; I/O: candidate.ts, keepalived.ts, orphan.ts; this file sequences.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { PlanInstanceV1, PlanV1 } from "../api/plan.js";
import type { Logger } from "../lib/log.js";
import { renderKeepalivedConf, type NodeContext } from "../render/keepalivedConf.js";
import { instancesForNode, planVips } from "../render/membership.js";
import { removeLeftoverVips, vipInterface } from "./addresses.js";
import { checkedConfig, logRefusedChanges } from "./candidate.js";
import { DrainedMoves } from "./drainedMoves.js";
import { NO_PREFIX, type CommandPrefix } from "./command.js";
import { VrrpScheduling } from "./scheduling.js";
import { ensureFifo, writeFileAtomic } from "./files.js";
import type { RefusedInstance } from "./isolate.js";
import { RepeatFilter } from "./keepalivedLog.js";
import { keepalivedPaths, KeepalivedSupervisor, testConfigFile } from "./keepalived.js";
import type { AgentMetrics } from "./metrics.js";
import { NotifyFifoReader, type VrrpEvent } from "./notify.js";
import type { PlanSource } from "./planSource.js";
import { vrrpReport, type VrrpReport } from "./report.js";
import { KeepalivedSampler } from "./sampler.js";
import { VrrpObservations } from "./vrrpObservations.js";

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
  /** The group's agents' HTTP port (--peer-port): drained moves and handbacks (drainedMoves.ts) when set. */
  peerPort?: number;
}

export class Agent {
  private readonly paths;
  private readonly supervisor: KeepalivedSupervisor;
  private readonly fifo: NotifyFifoReader;
  private readonly fifoPath: string;
  /** The plan keepalived runs: the last applied one without the instances keepalived refused. */
  private plan: PlanV1 | undefined;
  private iface: string | undefined;
  /** VIPs of the current and previous plan: what a dead keepalived may have left on the interface. */
  private cleanupVips = new Set<string>();
  private lastPlanVips: string[] = [];
  /** This node's instances of the last plan that keepalived refused. */
  private refused: RefusedInstance[] = [];
  /** The password the running config was rendered with. */
  private password: string | undefined;
  private pending: { plan: PlanV1; password: string | undefined } | undefined;
  private desired: { plan: PlanV1; password: string | undefined } | undefined;
  private readonly moves: DrainedMoves | undefined;
  private applying: Promise<void> | undefined;
  private handingOver = false;
  /** An adopted keepalived may run another config than the file says: reload it on the first plan. */
  private reloadAdopted = false;
  private readonly sampler: KeepalivedSampler;
  private readonly vrrp = new VrrpObservations();
  private reloads = 0;
  private rejected = 0;
  private planReadErrors = 0;
  private readonly cmdPrefix: CommandPrefix;
  private readonly log: Logger;
  /** keepalived's output: a line it repeats (each poll, each ARP refresh) is summed up, not logged each time. */
  private readonly keepalivedLines = new RepeatFilter(() => Date.now());

  constructor(private readonly opts: AgentOptions) {
    this.log = opts.log.with({ node: opts.node });
    this.cmdPrefix = opts.commandPrefix ?? NO_PREFIX;
    this.paths = keepalivedPaths(opts.stateDir);
    if (opts.peerPort !== undefined)
      this.moves = new DrainedMoves({
        node: opts.node,
        port: opts.peerPort,
        log: this.log,
        cmdPrefix: this.cmdPrefix,
        plan: () => this.plan,
        masters: () => this.masters(),
        reapply: () => {
          if (this.desired !== undefined) this.submit(this.desired.plan, this.desired.password);
        },
      });
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
          this.sampler.up = false;
          this.vrrp.forget();
          this.opts.onVrrpChange?.();
          this.log.warn("keepalived exited", { code: code ?? undefined, signal: signal ?? undefined });
          // Never two owners: drop what the dead keepalived held at once, not at the next start.
          if (!this.handingOver) void this.removeLeftoverVips();
        },
        onLine: (line) => {
          this.sampler.logLines(this.keepalivedLines.accept(line));
        },
      },
      opts.keepalivedBinary,
      this.cmdPrefix,
    );
    this.sampler = new KeepalivedSampler({
      supervisor: this.supervisor,
      vrrp: this.vrrp,
      log: this.log,
      scheduling: new VrrpScheduling(this.paths.vrrpPid, this.log),
      realtime: () => this.plan?.group.vrrp.realtimeScheduling === true,
      heldLines: () => this.keepalivedLines.flush(),
    });
  }

  async start(): Promise<void> {
    await mkdir(this.opts.stateDir, { recursive: true, mode: 0o700 });
    await ensureFifo(this.fifoPath);
    this.fifo.open();
    // Before any plan: a keepalived an earlier agent left keeps its VIPs, and is never joined by a second.
    if ((await this.supervisor.adoptLeftover()) !== undefined) {
      this.reloadAdopted = true;
      await this.sample();
      if (this.vrrp.seed(this.vrrp.stats)) this.opts.onVrrpChange?.();
      this.sampler.start(1000);
    }
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

  private context(iface: string, handover: boolean, password: string | undefined): NodeContext {
    const ctx: NodeContext = { node: this.opts.node, interface: iface, notifyFifo: this.fifoPath };
    if (password !== undefined) ctx.password = password;
    if (handover) ctx.handover = true;
    else if (this.moves !== undefined) ctx.returning = this.moves.returning;
    return ctx;
  }

  private async apply(plan: PlanV1, password: string | undefined): Promise<void> {
    const iface = await vipInterface(plan.group, this.opts.interface, this.cmdPrefix);
    if (iface === undefined) {
      this.reject(
        plan,
        `no interface: spec.interfaceFromIP ${plan.group.interfaceFromIP ?? "(unset)"} has no route on this node; set spec.interface or pass --interface`,
      );
      return;
    }
    if (!plan.nodes.some((n) => n.name === this.opts.node)) {
      this.log.warn("this node is not in the group; it holds none of its VIPs", { group: plan.group.key });
      // It just left (e.g. its label was removed): hand the VIPs over first, so that the nodes that now
      // carry them have loaded the new plan before this one lets go.
      if (this.plan?.nodes.some((n) => n.name === this.opts.node) === true) await this.handOver(false);
    }
    this.desired = { plan, password };
    this.moves?.decide(plan);
    const checked = await checkedConfig(
      plan,
      this.context(iface, false, password),
      join(this.opts.stateDir, "keepalived.conf.candidate"),
      (path) => testConfigFile(path, this.opts.keepalivedBinary, this.cmdPrefix),
    );
    if (!checked.ok) {
      if (checked.refused !== undefined) this.reportRefused(plan, checked.refused);
      this.reject(plan, checked.reason);
      return;
    }
    this.reportRefused(plan, checked.refused);
    const changed = await writeFileAtomic(this.paths.config, checked.text);
    this.cleanupVips = new Set([...planVips(plan), ...this.lastPlanVips]);
    this.lastPlanVips = planVips(plan);
    this.plan = checked.plan;
    this.password = password;
    this.iface = iface;
    // The set of this node's instances may have changed with the plan.
    this.opts.onVrrpChange?.();
    await this.load(changed);
    if (changed)
      this.log.info("config applied", { group: plan.group.key, instances: this.myInstances().length });
    else this.log.info("plan applied; this node's config is unchanged", { group: plan.group.key });
  }

  /** Starts keepalived on the written config, or makes the running one read it if it changed. */
  private async load(changed: boolean): Promise<void> {
    if (!this.supervisor.running) {
      this.reloads++;
      await this.supervisor.start();
    } else if (changed || (this.reloadAdopted && this.supervisor.adopted)) {
      this.reloads++;
      this.supervisor.reload();
    }
    this.reloadAdopted = false;
    this.sampler.start(this.plan?.group.vrrp.advertIntervalMs ?? 1000);
    this.moves?.afterLoad();
  }

  private reportRefused(plan: PlanV1, refused: RefusedInstance[]): void {
    logRefusedChanges(this.log, plan.group.key, this.refused, refused);
    this.refused = refused;
  }

  private async removeLeftoverVips(): Promise<void> {
    if (this.iface === undefined) return;
    const removed = await removeLeftoverVips(this.iface, this.cleanupVips, this.cmdPrefix);
    if (removed.length > 0)
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
    const previous = this.vrrp.notified(e, Date.now());
    this.log.info("vrrp state", { instance: e.name, state: e.state, previous, priority: e.priority });
    if (e.state === "MASTER") this.moves?.onMaster(e.name);
    if (previous !== e.state) this.opts.onVrrpChange?.();
  }

  /** This node's instances of the current plan, their VRRP states, the VIPs it holds as MASTER, the refused. */
  vrrpReport(): VrrpReport {
    return vrrpReport(this.myInstances(), this.vrrp.states, this.refused);
  }

  /** Reads keepalived's JSON dump once (concurrent callers share the same read). */
  sample(): Promise<void> {
    return this.sampler.sample();
  }

  metrics(): AgentMetrics {
    return {
      keepalivedUp: this.sampler.up && this.supervisor.running,
      instances: this.supervisor.running ? this.vrrp.stats : [],
      vipStates: this.vrrp.vipStates(this.myInstances()),
      configReloads: this.reloads,
      configRejected: this.rejected,
      planReadErrors: this.planReadErrors,
      refusedInstances: this.refused.length,
      failover: this.vrrp.failover,
    };
  }

  /** Ready once keepalived runs a validated config. */
  ready(): boolean {
    return this.plan !== undefined && this.supervisor.running;
  }

  /** Instance names this node holds as MASTER right now, per keepalived's notifications. */
  masters(): string[] {
    return this.vrrp.masters();
  }

  /**
   * Hands the VIPs over before stopping: drained (drainedMoves.ts), then keepalived's stop moves them at once;
   * otherwise lowest priority everywhere, reload, wait (bounded) until no instance of this node is MASTER, then
   * stop keepalived.
   */
  async stop(): Promise<void> {
    this.opts.source.stop();
    this.handingOver = true;
    await this.applying;
    const sampled = this.sampler.stop();
    this.moves?.stop();
    await this.handOver(true);
    await this.supervisor.stop();
    await sampled;
    this.fifo.close();
  }

  /** A peer asks for an instance back (POST /handback, drainedMoves.ts). */
  handback(instance: string, remote: string | undefined): Promise<{ status: number; body: string }> {
    return this.moves?.handback(instance, remote) ?? Promise.resolve({ status: 404, body: "not found\n" });
  }

  private async handOver(stopping: boolean): Promise<void> {
    const plan = this.plan;
    if (plan === undefined || this.iface === undefined || !this.supervisor.running) return;
    if (this.masters().length === 0) return;
    if ((await this.moves?.beforeHandover(plan, this.masters(), stopping)) === true && stopping) return;
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
}
