// The controller: informers fill caches; any change kicks one level-triggered reconcile that plans the whole
// cluster (core/), renders the objects (render/) and applies only what differs (kube/).
import type {
  ConfigMapObject,
  DaemonSetObject,
  EndpointSliceObject,
  Manifest,
  NamespaceObject,
} from "../api/kube.js";
import {
  APPLIED_HASH_ANNOTATION,
  FIELD_MANAGER,
  GROUP_LABEL,
  GROUP_VERSION,
  KIND,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  PLAN_KEY,
  PLURAL,
} from "../api/names.js";
import type { KeepalivedGroup, KeepalivedGroupStatus } from "../api/types.js";
import { formatDiagnostic, type Diagnostic } from "../core/diagnostics.js";
import type { NodeObject } from "../core/objects.js";
import { planCluster, type ClusterPlan } from "../core/plan.js";
import type { Logger } from "../lib/log.js";
import type { Registry } from "../lib/prom.js";
import { Informer } from "../kube/informer.js";
import { ApiError, type KubeClient } from "../kube/rest.js";
import {
  desiredConfigMap,
  desiredDaemonSet,
  groupStatus,
  invalidGroupStatus,
  sameStatus,
} from "../render/objects.js";
import {
  desiredIngress,
  ownsIngress,
  sameIngress,
  type ServiceWithManagedFields,
} from "../render/serviceStatus.js";
import { actualHolders, holderChanges, type AgentLease } from "./holders.js";
import type { OpenShiftNetwork } from "../core/openshift.js";
import { placementOfPlan } from "../render/planCodec.js";
import { buildSnapshot } from "./snapshot.js";
import { ReconcileTrigger, type Outcome } from "./trigger.js";

export interface ControllerOptions {
  client: KubeClient;
  log: Logger;
  metrics: Registry;
  identity: string;
  coalesceMs?: number;
  resyncMs?: number;
  now?: () => Date;
}

const groupsPath = `/apis/${GROUP_VERSION}/${PLURAL}`;
const ownedSelector = `${GROUP_LABEL},${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;

function nsPath(apiPrefix: string, plural: string, namespace: string, name: string): string {
  return `${apiPrefix}/namespaces/${namespace}/${plural}/${name}`;
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
  private holders: Map<string, Map<string, string[]>> | undefined;
  private readonly trigger: ReconcileTrigger;
  private readonly emitted = new Set<string>();
  private readonly placementCache = new Map<
    string,
    { rv: string; placement: Record<string, string> | undefined }
  >();
  private readonly m;
  private synced = false;
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly now: () => Date;

  constructor(private readonly opts: ControllerOptions) {
    this.client = opts.client;
    this.log = opts.log;
    this.now = opts.now ?? (() => new Date());
    const kick = (): void => {
      this.trigger.kick();
    };
    const inf = <T extends { metadata: { name?: string; namespace?: string; resourceVersion?: string } }>(
      path: string,
      labelSelector?: string,
    ): Informer<T> => {
      const o: ConstructorParameters<typeof Informer>[1] = { path };
      if (labelSelector !== undefined) o.labelSelector = labelSelector;
      return new Informer<T>(this.client, o, kick, this.log);
    };
    this.groups = inf(groupsPath);
    this.services = inf("/api/v1/services");
    this.nodes = inf("/api/v1/nodes");
    this.slices = inf("/apis/discovery.k8s.io/v1/endpointslices");
    this.configMaps = inf("/api/v1/configmaps", ownedSelector);
    this.daemonSets = inf("/apis/apps/v1/daemonsets", ownedSelector);
    this.leases = inf("/apis/coordination.k8s.io/v1/leases", ownedSelector);
    this.namespaces = inf("/api/v1/namespaces");
    // OpenShift only; elsewhere the API answers 404 and the informer reads as empty, looking again later.
    this.networks = inf("/apis/config.openshift.io/v1/networks");
    const r = opts.metrics;
    this.m = {
      reconciles: r.counter("keepalived_operator_reconciles_total", "Reconciles by result (done, retry)."),
      duration: r.histogram(
        "keepalived_operator_reconcile_duration_seconds",
        "Time of one reconcile.",
        [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      ),
      writes: r.counter("keepalived_operator_writes_total", "Objects written, by kind."),
      errors: r.counter("keepalived_operator_write_errors_total", "Failed writes, by kind and reason."),
      vips: r.gauge("keepalived_operator_group_vips", "VIPs announced per group."),
      nodes: r.gauge("keepalived_operator_group_nodes", "Nodes per group."),
      refused: r.gauge("keepalived_operator_services_with_problems", "Services with at least one problem."),
    };
    this.trigger = new ReconcileTrigger(() => this.reconcile(), {
      coalesceMs: opts.coalesceMs ?? 10,
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

  /** Starts reconciling (call when leading). */
  startReconciling(): void {
    this.trigger.start();
  }

  stop(): void {
    this.trigger.stop();
    for (const i of this.informers()) i.stop();
  }

  private parsePlacement = (cm: ConfigMapObject): Record<string, string> | undefined => {
    const key = `${cm.metadata.namespace ?? ""}/${cm.metadata.name ?? ""}`;
    const rv = cm.metadata.resourceVersion ?? "";
    const cached = this.placementCache.get(key);
    if (cached?.rv === rv) return cached.placement;
    const placement = placementOfPlan(cm.data?.[PLAN_KEY] ?? "");
    this.placementCache.set(key, { rv, placement });
    return placement;
  };

  private async apply(obj: Manifest, path: string, subresource?: "status"): Promise<void> {
    await this.client.request("PATCH", subresource === undefined ? path : `${path}/status`, {
      query: { fieldManager: FIELD_MANAGER, force: true },
      body: obj,
      contentType: "application/apply-patch+yaml",
    });
    this.m.writes.inc({ kind: subresource === undefined ? obj.kind : `${obj.kind}/status` });
  }

  private applyGroupStatus(namespace: string, name: string, status: KeepalivedGroupStatus): Promise<void> {
    return this.apply(
      { apiVersion: GROUP_VERSION, kind: KIND, metadata: { name, namespace }, status },
      nsPath(`/apis/${GROUP_VERSION}`, PLURAL, namespace, name),
      "status",
    );
  }

  private async event(
    involved: { apiVersion: string; kind: string; namespace: string; name: string; uid?: string },
    type: "Normal" | "Warning",
    reason: string,
    message: string,
    once = true,
  ): Promise<void> {
    // Problems are reported once per controller lifetime; changes (once=false) every time they happen.
    const key = `${involved.kind}|${involved.namespace}|${involved.name}|${involved.uid ?? ""}|${reason}|${message}`;
    if (once && this.emitted.has(key)) return;
    this.emitted.add(key);
    const now = this.now().toISOString();
    const involvedObject: Record<string, string> = {
      apiVersion: involved.apiVersion,
      kind: involved.kind,
      namespace: involved.namespace,
      name: involved.name,
    };
    if (involved.uid !== undefined) involvedObject.uid = involved.uid;
    try {
      await this.client.request("POST", `/api/v1/namespaces/${involved.namespace}/events`, {
        body: {
          apiVersion: "v1",
          kind: "Event",
          metadata: { generateName: `${involved.name}.`, namespace: involved.namespace },
          involvedObject,
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component: FIELD_MANAGER },
          reportingComponent: FIELD_MANAGER,
          reportingInstance: this.opts.identity,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (err) {
      this.emitted.delete(key);
      this.log.warn("event not recorded", {
        object: `${involved.kind} ${involved.namespace}/${involved.name}`,
        reason,
        error: (err as Error).message,
      });
    }
  }

  /** One pass: plan everything, write what differs. Depends only on the caches. */
  async reconcile(): Promise<Outcome> {
    const started = performance.now();
    const reconcileId = Math.random().toString(36).slice(2, 10);
    const log = this.log.with({ reconcileId });
    const groups = this.groups.list();
    const services = this.services.list();
    const snapshot = buildSnapshot(
      {
        groups,
        services,
        nodes: this.nodes.list(),
        endpointSlices: this.slices.list(),
        configMaps: this.configMaps.list(),
        namespaces: this.namespaces.list(),
        networks: this.networks.list(),
      },
      this.parsePlacement,
    );
    const plan = planCluster(snapshot);
    const failures: Error[] = [];
    const attempt = async (what: string, kind: string, fn: () => Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        this.m.errors.inc({ kind, reason: e instanceof ApiError ? e.reason : "Error" });
        log.error("write failed", { object: what, error: e.message });
        if (!(e instanceof ApiError) || e.retryable) failures.push(e);
      }
    };
    const nowText = this.now().toISOString();

    // Per valid group: ConfigMap, DaemonSet, status; placement Events on its Services.
    this.m.vips.reset();
    this.m.nodes.reset();
    for (const gp of plan.groups) {
      const g = gp.group;
      const live = this.groups.get(g.namespace, g.name);
      const uid = live?.metadata.uid ?? "";
      if (live === undefined || uid === "") continue;
      const cm = desiredConfigMap(gp, { uid });
      const ds = desiredDaemonSet(gp, { uid });
      const liveCm = this.configMaps.get(g.namespace, g.name);
      const previousPlacement = liveCm === undefined ? {} : (this.parsePlacement(liveCm) ?? {});
      if (
        liveCm?.metadata.annotations?.[APPLIED_HASH_ANNOTATION] !==
        cm.metadata.annotations?.[APPLIED_HASH_ANNOTATION]
      ) {
        await attempt(`ConfigMap ${g.key}`, "ConfigMap", () =>
          this.apply(cm, nsPath("/api/v1", "configmaps", g.namespace, g.name)),
        );
      }
      if (
        this.daemonSets.get(g.namespace, g.name)?.metadata.annotations?.[APPLIED_HASH_ANNOTATION] !==
        ds.metadata.annotations?.[APPLIED_HASH_ANNOTATION]
      ) {
        await attempt(`DaemonSet ${g.key}`, "DaemonSet", () =>
          this.apply(ds, nsPath("/apis/apps/v1", "daemonsets", g.namespace, g.name)),
        );
      }
      const status = groupStatus(gp, live.status, nowText);
      if (!sameStatus(live.status, status)) {
        await attempt(`KeepalivedGroup ${g.key} status`, KIND, () =>
          this.applyGroupStatus(g.namespace, g.name, status),
        );
      }
      this.m.vips.set(status.vips ?? 0, { group: g.key });
      this.m.nodes.set(status.nodes ?? 0, { group: g.key });
      for (const d of gp.diagnostics) await this.diagnosticEvent(d, live);
      for (const [vip, node] of Object.entries(gp.placement)) {
        const before = previousPlacement[vip];
        if (before === node) continue;
        const svc = plan.services.find((s) => s.announced.some((a) => a.ip === vip));
        if (svc === undefined) continue;
        const who = this.serviceIdentity(svc.key);
        const instance = svc.announced.find((a) => a.ip === vip)?.instance ?? "";
        if (before === undefined)
          await this.event(
            who,
            "Normal",
            "VIPAssigned",
            `${vip} is announced by KeepalivedGroup ${g.key}; node ${node} holds it (VRRP instance ${instance}).`,
          );
        else
          await this.event(
            who,
            "Normal",
            "VIPMoved",
            `${vip} moved from node ${before} to node ${node} (VRRP instance ${instance}).`,
          );
      }
    }
    // Invalid groups: status says why; what they created stays, so agents keep the last good plan.
    for (const bad of plan.invalidGroups) {
      const [ns = "", name = ""] = bad.key.split("/");
      const live = this.groups.get(ns, name);
      if (live === undefined) continue;
      const status = invalidGroupStatus(live.metadata.generation ?? 0, bad.diagnostics, live.status, nowText);
      if (!sameStatus(live.status, status)) {
        await attempt(`KeepalivedGroup ${bad.key} status`, KIND, () =>
          this.applyGroupStatus(ns, name, status),
        );
      }
      for (const d of bad.diagnostics) await this.diagnosticEvent(d, live);
    }

    await this.holderEvents(plan);

    // Services: status.loadBalancer.ingress where nobody else writes it; Warnings for their problems.
    const byKey = new Map(plan.services.map((s) => [s.key, s]));
    let withProblems = 0;
    for (const s of services) {
      const key = `${s.metadata.namespace ?? ""}/${s.metadata.name ?? ""}`;
      const sp = byKey.get(key);
      if (sp === undefined && !ownsIngress(s)) continue;
      const ingress = desiredIngress(s, sp);
      // desiredIngress is undefined where we must not write; write only what differs from what we wrote.
      if (ingress !== undefined && !(ownsIngress(s) && sameIngress(s, ingress))) {
        const ns = s.metadata.namespace ?? "";
        const name = s.metadata.name ?? "";
        const body: Manifest = {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name, namespace: ns },
          status: { loadBalancer: ingress.length > 0 ? { ingress } : {} },
        };
        await attempt(`Service ${key} status`, "Service", () =>
          this.apply(body, nsPath("/api/v1", "services", ns, name), "status"),
        );
      }
      if (sp === undefined) continue;
      if (sp.diagnostics.length > 0) withProblems++;
      for (const d of sp.diagnostics) await this.diagnosticEvent(d, s);
    }
    this.m.refused.set(withProblems);

    // Objects of groups that no longer exist (the garbage collector does the same through owner references).
    for (const obj of [
      ...this.configMaps.list().map((o) => ["configmaps", "/api/v1", o] as const),
      ...this.daemonSets.list().map((o) => ["daemonsets", "/apis/apps/v1", o] as const),
    ]) {
      const [plural, prefix, o] = obj;
      const group = o.metadata.labels?.[GROUP_LABEL];
      const ns = o.metadata.namespace ?? "";
      if (group === undefined || group !== o.metadata.name || this.groups.get(ns, group) !== undefined)
        continue;
      await attempt(`${plural} ${ns}/${group}`, plural, async () => {
        try {
          await this.client.request("DELETE", nsPath(prefix, plural, ns, group));
        } catch (err) {
          if (!(err instanceof ApiError) || err.status !== 404) throw err;
        }
      });
    }

    const seconds = (performance.now() - started) / 1000;
    this.m.duration.observe(seconds);
    const result = failures.length === 0 ? "done" : "retry";
    this.m.reconciles.inc({ result });
    log.info("reconciled", {
      groups: plan.groups.length,
      invalidGroups: plan.invalidGroups.length,
      services: plan.services.length,
      seconds: Number(seconds.toFixed(4)),
      result,
    });
    this.lastPlan = plan;
    return failures.length === 0
      ? { kind: "done" }
      : { kind: "retry", error: failures[0] ?? new Error("write failed") };
  }

  /** What an Event on the Service `namespace/name` points at. */
  private serviceIdentity(key: string): {
    apiVersion: string;
    kind: string;
    namespace: string;
    name: string;
    uid?: string;
  } {
    const [namespace = "", name = ""] = key.split("/");
    const uid = this.services.get(namespace, name)?.metadata.uid;
    return {
      apiVersion: "v1",
      kind: "Service",
      namespace,
      name,
      ...(typeof uid === "string" ? { uid } : {}),
    };
  }

  /** Events on a Service when the node that actually holds its VIP changes, as the agents report it. */
  private async holderEvents(plan: ClusterPlan): Promise<void> {
    const now = actualHolders(this.leases.list(), this.now().getTime());
    const before = this.holders;
    this.holders = now;
    if (before === undefined) return;
    for (const gp of plan.groups) {
      for (const change of holderChanges(
        before.get(gp.group.key) ?? new Map(),
        now.get(gp.group.key) ?? new Map(),
      )) {
        const svc = plan.services.find((s) => s.announced.some((a) => a.ip === change.vip));
        if (svc === undefined) continue;
        const who = this.serviceIdentity(svc.key);
        const was = change.before.length === 0 ? "no node" : change.before.join(", ");
        if (change.after.length === 1) {
          await this.event(
            who,
            "Normal",
            "VIPHeld",
            `${change.vip} is held by node ${change.after[0] ?? ""} (was ${was}).`,
            false,
          );
        } else if (change.after.length > 1) {
          await this.event(
            who,
            "Warning",
            "VIPOnSeveralNodes",
            `${change.vip} is reported by nodes ${change.after.join(", ")} at once; VRRP should settle it within one advert interval. If it persists, check that VRRP adverts pass between these nodes.`,
            false,
          );
        } else {
          await this.event(
            who,
            "Warning",
            "VIPNotHeld",
            `no node reports holding ${change.vip} (was ${was}); check the agent pods of group ${gp.group.key}.`,
            false,
          );
        }
      }
    }
  }

  /** The plan of the last reconcile, for tests and debugging. */
  lastPlan: ClusterPlan | undefined;

  private async diagnosticEvent(d: Diagnostic, fallback: { metadata: { uid?: unknown } }): Promise<void> {
    const apiVersion = d.object.kind === "KeepalivedGroup" ? GROUP_VERSION : "v1";
    const ns = d.object.namespace ?? "";
    const uid =
      d.object.kind === "Service"
        ? this.services.get(ns, d.object.name)?.metadata.uid
        : d.object.kind === "KeepalivedGroup"
          ? this.groups.get(ns, d.object.name)?.metadata.uid
          : fallback.metadata.uid;
    if (d.object.kind === "Node") {
      this.log.warn("node problem", { diagnostic: formatDiagnostic(d) });
      return;
    }
    await this.event(
      {
        apiVersion,
        kind: d.object.kind,
        namespace: ns,
        name: d.object.name,
        ...(typeof uid === "string" ? { uid } : {}),
      },
      "Warning",
      d.reason,
      `${d.field}: ${d.message}`,
    );
  }
}
