// The controller: informers fill caches; any change kicks one level-triggered reconcile that decides from the
// caches, overlaid with its own writes they have not caught up with yet (ownWrites.ts, decide.ts), and writes
// only what differs (writer.ts), every write bound to the leadership term (kube/term.ts).
import type { ConfigMapObject, DaemonSetObject, EndpointSliceObject, NamespaceObject } from "../api/kube.js";
import {
  APPLIED_HASH_ANNOTATION,
  GROUP_LABEL,
  KIND,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
} from "../api/names.js";
import type { KeepalivedGroup } from "../api/types.js";
import type { NodeObject } from "../core/objects.js";
import type { OpenShiftNetwork } from "../core/openshift.js";
import { Informer, type InformerOptions } from "../kube/informer.js";
import type { KubeClient } from "../kube/rest.js";
import { LeadershipLostError, type LeadershipTerm } from "../kube/term.js";
import type { Logger } from "../lib/log.js";
import type { Registry } from "../lib/prom.js";
import type { ServiceWithManagedFields } from "../render/serviceStatus.js";
import {
  decideGroups,
  decideRest,
  placementOfConfigMap,
  planState,
  serviceStatusWrites,
  type ClusterState,
  type Decision,
  type Holders,
} from "./decide.js";
import type { AgentLease } from "./holders.js";
import { ReconcileTrigger, burstPauseMs, type Outcome } from "./trigger.js";
import { cachedEndpointSlice, cachedNode, cachedObject, cachedService, cachedWrite } from "./cachedFields.js";
import { EventCorrelator } from "./eventCorrelator.js";
import { GROUPS_PATH, OwnEchoes, OwnWrites, PATH_OF, PATHS } from "./ownWrites.js";
import { controllerMetrics, setGauges, type ControllerMetrics } from "./metrics.js";
import { ReconcileMemo } from "./snapshot.js";
import { ActionRunner, apiServerWriter } from "./writer.js";

export interface ControllerOptions {
  client: KubeClient;
  /** Requests at a time for independent writes (default 8). */
  writeConcurrency?: number;
  log: Logger;
  metrics: Registry;
  identity: string;
  /** How long a change waits for others before a reconcile starts, when none is running (default 2 ms). */
  coalesceMs?: number;
  resyncMs?: number;
  now?: () => Date;
}

const ownedSelector = `${GROUP_LABEL},${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;

/**
 * A plan object's placement: the one the controller computed for that content hash when it decided (its own
 * writes are never parsed back), else parsed once per resourceVersion (objects written before a restart).
 */
function memoizedPlacement(): {
  read: (cm: ConfigMapObject) => Record<string, string> | undefined;
  decided: (byHash: Map<string, Record<string, string>>) => void;
} {
  const cache = new Map<string, { rv: string; placement: Record<string, string> | undefined }>();
  let byHash = new Map<string, Record<string, string>>();
  return {
    read: (cm) => {
      const known = byHash.get(cm.metadata.annotations?.[APPLIED_HASH_ANNOTATION] ?? "");
      if (known !== undefined) return known;
      const key = `${cm.metadata.namespace ?? ""}/${cm.metadata.name ?? ""}`;
      const rv = cm.metadata.resourceVersion ?? "";
      const cached = cache.get(key);
      if (cached?.rv === rv) return cached.placement;
      const placement = placementOfConfigMap(cm);
      cache.set(key, { rv, placement });
      return placement;
    },
    decided: (next) => {
      byHash = next;
    },
  };
}

export class Controller {
  private readonly groups: Informer<KeepalivedGroup>;
  private readonly services: Informer<ServiceWithManagedFields>;
  private readonly nodes: Informer<NodeObject>;
  private readonly slices: Informer<EndpointSliceObject>;
  private readonly configMaps: Informer<ConfigMapObject>;
  private readonly daemonSets: Informer<DaemonSetObject>;
  private readonly leases: Informer<AgentLease>;
  private readonly namespaces: Informer<NamespaceObject>;
  private readonly networks: Informer<OpenShiftNetwork>;
  /** Holders last reported by the agents; undefined until first seen, so a restart emits no stale Events. */
  private holders: Holders | undefined;
  private readonly trigger: ReconcileTrigger;
  private runner: ActionRunner | undefined;
  private readonly correlator = new EventCorrelator();
  /** What this controller wrote, read before the caches catch up with it. */
  private readonly own = {
    groups: new OwnWrites(false),
    services: new OwnWrites(false),
    configMaps: new OwnWrites(true),
    daemonSets: new OwnWrites(true),
  };
  private readonly placementOf = memoizedPlacement();
  private readonly memo = new ReconcileMemo();
  /** Changes that only echo our own writes reconcile nothing (ownWrites.ts); nor after a pass that failed. */
  private readonly echoes = new OwnEchoes();
  private lastDone = false;
  private readonly m: ControllerMetrics;
  private synced = false;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly opts: ControllerOptions;

  constructor(opts: ControllerOptions) {
    this.opts = opts;
    this.log = opts.log;
    this.now = opts.now ?? (() => new Date());
    const inf = <T extends { metadata: { name?: string; namespace?: string; resourceVersion?: string } }>(
      path: string,
      labelSelector?: string,
      transform: (o: T) => T = cachedObject,
    ): Informer<T> => {
      const o: InformerOptions<T> = { path, transform };
      if (labelSelector !== undefined) o.labelSelector = labelSelector;
      return new Informer<T>(
        opts.client,
        o,
        (change) => {
          this.echoes.observe(path, change);
          this.trigger.kick();
        },
        this.log,
      );
    };
    this.groups = inf(GROUPS_PATH);
    this.services = inf(PATHS.Service, undefined, cachedService);
    this.nodes = inf("/api/v1/nodes", undefined, cachedNode);
    this.slices = inf("/apis/discovery.k8s.io/v1/endpointslices", undefined, cachedEndpointSlice);
    this.configMaps = inf(PATHS.ConfigMap, ownedSelector);
    this.daemonSets = inf(PATHS.DaemonSet, ownedSelector);
    this.leases = inf("/apis/coordination.k8s.io/v1/leases", ownedSelector);
    this.namespaces = inf("/api/v1/namespaces");
    // OpenShift only; elsewhere the API answers 404 and the informer reads as empty, looking again later.
    this.networks = inf("/apis/config.openshift.io/v1/networks");
    this.m = controllerMetrics(opts.metrics);
    this.trigger = new ReconcileTrigger(() => this.reconcile(), {
      coalesceMs: opts.coalesceMs ?? 2,
      resyncMs: opts.resyncMs ?? 300_000,
      onError: (err, retryInMs) => {
        this.log.warn("reconcile failed; retrying", { error: err.message, retryInMs });
      },
    });
  }

  private informers(): Informer<{ metadata: { name?: string } }>[] {
    return [
      this.groups,
      this.services,
      this.nodes,
      this.slices,
      this.configMaps,
      this.daemonSets,
      this.leases,
      this.namespaces,
      this.networks,
    ] as Informer<{ metadata: { name?: string } }>[];
  }

  /** Starts the watches; resolves when every cache has been listed once. */
  async startCaches(): Promise<void> {
    for (const i of this.informers()) i.start();
    await Promise.all(this.informers().map((i) => i.synced));
    this.synced = true;
  }

  get cachesSynced(): boolean {
    return this.synced;
  }

  /**
   * Starts reconciling (call when leading). Every write is bound to `term`: when it ends, requests in flight
   * are aborted, no further one is sent, and reconciling stops. Without a term the controller always leads.
   */
  startReconciling(term?: LeadershipTerm): void {
    const writer = apiServerWriter(this.opts.client, {
      identity: this.opts.identity,
      ...(term === undefined ? {} : { fence: term }),
      afterLeaseLost: (what) => {
        this.m.afterLeaseLost.inc();
        this.log.error("a write was answered after the leadership term ended", { write: what });
      },
    });
    this.runner = new ActionRunner(writer, this.m, this.log, {
      now: () => this.now().getTime(),
      correlator: this.correlator,
      concurrency: this.opts.writeConcurrency ?? 8,
      onWritten: (o) => {
        this.ownWritesOf(o.kind)?.remember(cachedWrite(o));
        const path = PATH_OF[o.kind];
        if (path !== undefined) this.echoes.wrote(path, o);
      },
    });
    term?.signal.addEventListener(
      "abort",
      () => {
        this.trigger.stop();
      },
      { once: true },
    );
    this.trigger.start();
  }

  private ownWritesOf(kind: string): OwnWrites | undefined {
    if (kind === "Service") return this.own.services;
    if (kind === KIND) return this.own.groups;
    if (kind === "ConfigMap") return this.own.configMaps;
    return kind === "DaemonSet" ? this.own.daemonSets : undefined;
  }

  stop(): void {
    this.trigger.stop();
    for (const i of this.informers()) i.stop();
  }

  /** The caches, with what this controller wrote where they have not caught up yet. */
  private state(): ClusterState {
    const own = this.own;
    return {
      groups: own.groups.overlay(this.groups.list(), this.groups.resourceVersion),
      // Keys from the memo, made once per cached object.
      services: own.services.overlay(this.services.list(), this.services.resourceVersion, (s) =>
        this.memo.keyOf(s),
      ),
      nodes: this.nodes.list(),
      endpointSlices: this.slices.list(),
      configMaps: own.configMaps.overlay(this.configMaps.list(), this.configMaps.resourceVersion),
      daemonSets: own.daemonSets.overlay(this.daemonSets.list(), this.daemonSets.resourceVersion),
      leases: this.leases.list(),
      namespaces: this.namespaces.list(),
      networks: this.networks.list(),
    };
  }

  /**
   * Decides from the caches and writes what differs. The groups' objects are decided first and their writes
   * (node plans first) start at once; the Services' statuses and Events are decided while those are in flight,
   * and written after them. Between the halves the event loop runs (timers: the lease).
   */
  private async decideAndWrite(
    runner: ActionRunner,
    log: Logger,
  ): Promise<{ decision: Decision; planMs: number; decideMs: number; failures: Error[] }> {
    const t0 = performance.now();
    const state = this.state();
    const seen = {
      nowMs: this.now().getTime(),
      holders: this.holders,
      placementOf: this.placementOf.read,
      memo: this.memo,
    };
    const plan = planState(state, seen);
    const t1 = performance.now();
    await new Promise((resolve) => setImmediate(resolve));
    const t2 = performance.now();
    const first = decideGroups(plan, state, seen);
    let decideMs = performance.now() - t2;
    const writing = runner.run(first.actions, log);
    // Handled now: it may fail (the term ended) while the rest is decided; awaited below, where it throws.
    writing.catch(() => undefined);
    let decision: Decision;
    try {
      await new Promise((resolve) => setImmediate(resolve));
      const t3 = performance.now();
      decision = decideRest(first, plan, state, seen);
      decideMs += performance.now() - t3;
    } catch (err) {
      await writing.catch(() => undefined);
      throw err;
    }
    this.holders = decision.holders;
    this.placementOf.decided(decision.planPlacements);
    setGauges(this.m, decision.gauges);
    for (const diagnostic of decision.nodeProblems) this.log.warn("node problem", { diagnostic });
    const failures = await writing;
    failures.push(...(await runner.run(decision.actions.slice(first.actions.length), log)));
    return { decision, planMs: t1 - t0, decideMs, failures };
  }

  /** One pass: decide from the caches, write what differs. */
  async reconcile(): Promise<Outcome> {
    const runner = this.runner;
    if (runner === undefined) throw new Error("reconcile before startReconciling");
    if (this.echoes.onlyEchoes() && this.lastDone) return { kind: "done" };
    const started = performance.now();
    const log = this.log.with({ reconcileId: Math.random().toString(36).slice(2, 10) });
    const held = this.correlator.suppressed;
    let pass: Awaited<ReturnType<Controller["decideAndWrite"]>>;
    try {
      pass = await this.decideAndWrite(runner, log);
    } catch (err) {
      if (!(err instanceof LeadershipLostError)) throw err;
      log.warn("reconcile stopped: not leading any more", { why: err.why });
      return { kind: "done" };
    } finally {
      this.m.eventsHeld.inc({}, this.correlator.suppressed - held);
    }
    const { decision, planMs, decideMs, failures } = pass;
    const { plan } = decision;
    const seconds = (performance.now() - started) / 1000;
    this.m.duration.observe(seconds);
    const result = failures.length === 0 ? "done" : "retry";
    const statuses = serviceStatusWrites(decision.actions);
    const pauseMs = burstPauseMs(seconds * 1000, statuses);
    this.m.reconciles.inc({ result });
    log.info("reconciled", {
      groups: plan.groups.length,
      invalidGroups: plan.invalidGroups.length,
      services: plan.services.length,
      actions: decision.actions.length,
      seconds: Number(seconds.toFixed(4)),
      // Where the time went: the planner (core/), the decision (render/ and controller/), the writes (the rest).
      planSeconds: Number((planMs / 1000).toFixed(4)),
      decideSeconds: Number((decideMs / 1000).toFixed(4)),
      serviceStatuses: statuses,
      // A burst: the next pass waits this long if more changes are waiting (trigger.ts burstPauseMs).
      ...(pauseMs > 0 ? { pauseMs } : {}),
      result,
    });
    this.lastDone = failures.length === 0;
    const [first] = failures;
    return first === undefined ? { kind: "done", pauseMs } : { kind: "retry", error: first };
  }
}
