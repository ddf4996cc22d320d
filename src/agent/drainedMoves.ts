// The agent's side of drained moves (drain.ts, handback.ts), kept out of agent.ts: which instances this node
// waits for when it starts, the loop that asks its peers to hand them back, the answer it gives a peer that
// asks, and the drain before its own agent stops. Every VIP a node gives up on purpose is drained first.
import type { PlanV1 } from "../api/plan.js";
import type { Logger } from "../lib/log.js";
import type { RouteResult } from "../lib/http.js";
import { RETURN_DELAY_SECONDS } from "../render/keepalivedConf.js";
import { instancesForNode } from "../render/membership.js";
import type { CommandPrefix } from "./command.js";
import { DRAIN_MS, NftDrain } from "./drain.js";
import {
  askHandback,
  drainedMoves,
  handbackAnswer,
  handbackTargets,
  returningInstances,
} from "./handback.js";

export interface DrainedMovesHost {
  node: string;
  /** The port the group's agents serve /handback on (their --metrics-address port). */
  port: number;
  log: Logger;
  cmdPrefix: CommandPrefix;
  /** The plan keepalived runs. */
  plan(): PlanV1 | undefined;
  /** Instances this node is MASTER of, per keepalived's notifications. */
  masters(): string[];
  /** Renders and loads the last plan again (the returning set changed). */
  reapply(): void;
  /** The drain to use for a group (default: nftables, NftDrain); a recording one in unit tests. */
  newDrain?: (groupKey: string) => Drain;
}

/** What drained moves need of a drain (NftDrain). */
export type Drain = Pick<NftDrain, "setup" | "drain" | "undrain">;

/** How often the returning loop looks at its instances, and how long it waits between asks of one instance. */
const TICK_MS = 100;
const ASK_EVERY_MS = 300;
/**
 * One drain per instance per this long, whoever asks. The caller must come from the preferred node's address,
 * but a Pod whose traffic its node masquerades comes from there too: the most it can do is this, a second's
 * delay for the new connections of a drain window (about half a second) every 5 s, and only while a peer holds
 * its node's instance. The real preferred node, asking meanwhile, waits for the next window.
 */
export const DRAIN_COOLDOWN_MS = 5000;

export class DrainedMoves {
  /** Instances this node waits for; decided once, with the first plan this agent applies. */
  readonly returning = new Set<string>();
  private decided = false;
  private drain: Drain | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly asked = new Map<string, number>();
  private readonly asking = new Set<string>();
  private readonly draining = new Map<string, Promise<RouteResult>>();
  private readonly lastDrain = new Map<string, number>();
  /** When this node started waiting, and the last answer its peers gave, per instance. */
  private waitingSince = 0;
  private readonly lastAnswer = new Map<string, string>();

  constructor(private readonly host: DrainedMovesHost) {}

  /** Called with each plan before it is rendered: the first one decides what this node waits for. */
  decide(plan: PlanV1): void {
    this.drain ??=
      this.host.newDrain?.(plan.group.key) ??
      new NftDrain(plan.group.key, this.host.cmdPrefix, this.host.log);
    void this.drain.setup();
    // Only instances this node still prefers: a plan may have given one to another node meanwhile.
    const preferred = new Set(
      instancesForNode(plan, this.host.node)
        .filter((i) => i.priorities[0]?.node === this.host.node)
        .map((i) => i.name),
    );
    for (const name of this.returning) if (!preferred.has(name)) this.returning.delete(name);
    if (this.decided) return;
    this.decided = true;
    this.waitingSince = Date.now();
    for (const name of returningInstances(plan, this.host.node, new Set(this.host.masters())))
      this.returning.add(name);
    if (this.returning.size > 0)
      this.host.log.info("waiting for peers to hand this node's instances back", {
        instances: [...this.returning].join(" "),
      });
  }

  /** keepalived runs the config: ask for what this node waits for. */
  afterLoad(): void {
    if (this.returning.size === 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => {
      this.tick();
    }, TICK_MS);
  }

  private tick(): void {
    const plan = this.host.plan();
    const masters = new Set(this.host.masters());
    let done = false;
    // keepalived preempts by itself once its delay ends: past that (and a margin), stop waiting in any case.
    const overdue = Date.now() - this.waitingSince > RETURN_DELAY_SECONDS * 1000 + 5000;
    for (const name of [...this.returning]) {
      // Taken: by keepalived when its delay ended, or because no peer held it (the handback path is in ask()).
      if (masters.has(name) || overdue) {
        this.returning.delete(name);
        done = true;
        this.logTaken(name, masters.has(name));
        continue;
      }
      if (plan === undefined || this.asking.has(name)) continue;
      if (Date.now() - (this.asked.get(name) ?? 0) < ASK_EVERY_MS) continue;
      this.asked.set(name, Date.now());
      this.asking.add(name);
      void this.ask(plan, name).finally(() => this.asking.delete(name));
    }
    if (done) this.host.reapply();
    if (this.returning.size === 0) this.stop();
  }

  /** Why this node stopped waiting without a handback: nobody held the instance, or no peer answered in time. */
  private logTaken(name: string, master: boolean): void {
    const fields = { instance: name, lastAnswer: this.lastAnswer.get(name) ?? "(no peer answered)" };
    if (master && Date.now() - this.waitingSince < RETURN_DELAY_SECONDS * 1000)
      this.host.log.info("holds its instance: no peer held it", fields);
    else if (master)
      this.host.log.warn(
        "took its instance when keepalived's delay ended: no peer handed it back (is the agents' port open between nodes?)",
        fields,
      );
    else
      this.host.log.warn("stopped waiting for a handback; keepalived decides who holds the instance", fields);
  }

  /** Asks each peer in turn; the one holding the instance drains it and answers 200: then take it. */
  private async ask(plan: PlanV1, name: string): Promise<void> {
    const instance = plan.instances.find((i) => i.name === name);
    if (instance === undefined) return;
    for (const target of handbackTargets(plan, this.host.node, instance)) {
      const answer = await askHandback(target, this.host.port, name, 2000);
      if (answer.status !== 200) {
        this.lastAnswer.set(name, `${target.node}: ${answer.status} ${answer.body}`);
        continue;
      }
      this.host.log.info("peer handed the instance back; taking it", {
        instance: name,
        peer: target.node,
        answer: answer.body,
      });
      if (this.returning.delete(name)) this.host.reapply();
      return;
    }
  }

  /** A peer asks for an instance back: drain its VIPs, wait DRAIN_MS, then say so. */
  handback(instance: string, remote: string | undefined): Promise<RouteResult> {
    const plan = this.host.plan();
    const answer = handbackAnswer(plan, this.host.node, instance, remote, new Set(this.host.masters()));
    if (answer.status !== 200 || plan === undefined)
      return Promise.resolve({ status: answer.status, body: `${answer.reason}\n` });
    const running = this.draining.get(instance);
    if (running !== undefined) return running;
    const ago = Date.now() - (this.lastDrain.get(instance) ?? -Infinity);
    if (ago < DRAIN_COOLDOWN_MS)
      return Promise.resolve({
        status: 429,
        body: `${instance} was drained ${ago} ms ago; ask again in ${DRAIN_COOLDOWN_MS - ago} ms\n`,
      });
    this.lastDrain.set(instance, Date.now());
    const advert = plan.group.vrrp.advertIntervalMs;
    const done = (async (): Promise<RouteResult> => {
      const error = await this.drainFor(answer.vips, DRAIN_MS + 4 * advert + 1000);
      this.host.log.info(answer.reason, { drainedMs: error === undefined ? DRAIN_MS : 0, error });
      return { status: 200, body: error === undefined ? "drained\n" : `not drained: ${error}\n` };
    })().finally(() => {
      setTimeout(() => this.draining.delete(instance), DRAIN_MS);
    });
    this.draining.set(instance, done);
    return done;
  }

  /**
   * Before this node hands over the instances it holds: drain their VIPs (sub-second adverts only). True when
   * drained: keepalived's stop then moves them at once (priority 0), and no connection is open here.
   */
  async beforeHandover(plan: PlanV1, held: string[], stopping: boolean): Promise<boolean> {
    if (!drainedMoves(plan.group)) return false;
    const vips = plan.instances.filter((i) => held.includes(i.name)).flatMap((i) => i.vips);
    const advert = plan.group.vrrp.advertIntervalMs;
    const error = await this.drainFor(vips, DRAIN_MS + (stopping ? 1 : 4) * advert + 1000);
    if (error === undefined)
      this.host.log.info("drained the VIPs before handing them over", {
        vips: vips.length,
        drainMs: DRAIN_MS,
      });
    return error === undefined;
  }

  private async drainFor(vips: string[], ttlMs: number): Promise<string | undefined> {
    if (this.drain === undefined) return "no plan yet";
    const error = await this.drain.drain(vips, ttlMs);
    if (error === undefined && vips.length > 0) await new Promise((r) => setTimeout(r, DRAIN_MS));
    return error;
  }

  /** This node became MASTER of an instance: take new connections to its VIPs again, if it drained them. */
  onMaster(instance: string): void {
    const vips = this.host.plan()?.instances.find((i) => i.name === instance)?.vips ?? [];
    if (this.drain !== undefined && vips.length > 0) void this.drain.undrain(vips);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
