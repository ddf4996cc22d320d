// GroupPlan → the Kubernetes objects and status the controller applies. Pure: the clock arrives as `now`.
import { createHash } from "node:crypto";
import {
  AGENT_SERVICE_ACCOUNT,
  APPLIED_HASH_ANNOTATION,
  GROUP_LABEL,
  GROUP_VERSION,
  KIND,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  METRICS_PORT,
} from "../api/names.js";
import type { Manifest } from "../api/kube.js";
import type { Condition, KeepalivedGroupStatus } from "../api/types.js";
import type { Diagnostic } from "../core/diagnostics.js";
import type { GroupPlan } from "../core/plan.js";
import { failoverEstimate } from "../core/vrrp.js";

export interface GroupIdentity {
  uid: string;
}

export function hashOf(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);
}

function withHash(obj: Manifest): Manifest {
  const hash = hashOf(obj);
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      annotations: { ...obj.metadata.annotations, [APPLIED_HASH_ANNOTATION]: hash },
    },
  };
}

export function ownedMetadata(plan: GroupPlan, owner: GroupIdentity): Manifest["metadata"] {
  const g = plan.group;
  return {
    name: g.name,
    namespace: g.namespace,
    labels: { [GROUP_LABEL]: g.name, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
    ownerReferences: [
      {
        apiVersion: GROUP_VERSION,
        kind: KIND,
        name: g.name,
        uid: owner.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  };
}

/**
 * The agent's capabilities instead of privileged: NET_* for addresses and VRRP sockets, SYS_NICE when
 * keepalived runs with real-time scheduling (sub-second adverts; see core/vrrp.ts).
 */
function agentCapabilities(realtime: boolean): string[] {
  return ["NET_ADMIN", "NET_RAW", "NET_BROADCAST", ...(realtime ? ["SYS_NICE"] : [])];
}

/**
 * Node's flags for the agent: 1 MiB semi-spaces for V8's young generation instead of up to 16. The agent
 * allocates little and keeps less; measured with 1,000 VIPs per node, its anonymous memory went from about
 * 30 to 17-20 MiB. The lab and the benchmarks start their agents with the same flags.
 */
export const AGENT_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=1"];

/**
 * Node's flags for the controller: 4 MiB semi-spaces instead of up to 16. Creating 10,000 Services at once grows
 * the young generation to its limit, two semi-spaces of 16 MiB, on top of a heap that keeps 80-100 MiB alive;
 * the controller's RSS then peaked at 258-285 MiB, above the Deployment's 256 MiB limit. Set as NODE_OPTIONS
 * in deploy/ (test/integration/install.test.ts checks every install path); the lab and the tests start the
 * controller with the same flags.
 */
export const CONTROLLER_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=4"];

/** The agent's environment: its V8 flags, and its node and Pod from the downward API. */
function agentEnv(): Record<string, unknown>[] {
  return [
    { name: "NODE_OPTIONS", value: AGENT_NODE_FLAGS.join(" ") },
    { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
    { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
  ];
}

/**
 * The agent DaemonSet: host network, a few capabilities instead of privileged, one node down at a time.
 * `metricsPort`: the group's own port (metricsPorts.ts), so that agents of several groups share a node.
 */
export function desiredDaemonSet(
  plan: GroupPlan,
  owner: GroupIdentity,
  metricsPort = METRICS_PORT,
): Manifest {
  const g = plan.group;
  const podSpec: Record<string, unknown> = {
    hostNetwork: true,
    dnsPolicy: "ClusterFirstWithHostNet",
    serviceAccountName: AGENT_SERVICE_ACCOUNT,
    automountServiceAccountToken: true,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: 30,
    nodeSelector: g.nodeSelector,
    tolerations: g.tolerations,
    containers: [
      {
        name: "agent",
        image: g.image,
        imagePullPolicy: "IfNotPresent",
        command: ["keepalived-operator"],
        args: [
          "agent",
          "--group",
          g.key,
          "--node",
          "$(NODE_NAME)",
          "--metrics-address",
          `0.0.0.0:${metricsPort}`,
          "--peer-port",
          `${metricsPort}`,
        ],
        env: agentEnv(),
        ports: [{ name: "metrics", containerPort: metricsPort, hostPort: metricsPort, protocol: "TCP" }],
        livenessProbe: {
          httpGet: { path: "/healthz", port: metricsPort },
          periodSeconds: 10,
          failureThreshold: 3,
        },
        readinessProbe: { httpGet: { path: "/readyz", port: metricsPort }, periodSeconds: 5 },
        securityContext: {
          privileged: false,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsUser: 0,
          capabilities: { drop: ["ALL"], add: agentCapabilities(g.vrrp.realtimeScheduling) },
        },
        resources: g.resources ?? { requests: { cpu: "10m", memory: "48Mi" } },
        volumeMounts: [
          { name: "state", mountPath: "/run/keepalived-operator" },
          { name: "tmp", mountPath: "/tmp" },
        ],
      },
    ],
    volumes: [
      { name: "state", emptyDir: { medium: "Memory" } },
      { name: "tmp", emptyDir: { medium: "Memory" } },
    ],
  };
  if (g.priorityClassName !== undefined) podSpec.priorityClassName = g.priorityClassName;
  const template: Record<string, unknown> = {
    metadata: { labels: { [GROUP_LABEL]: g.name } },
    spec: podSpec,
  };
  if (Object.keys(g.podAnnotations).length > 0) {
    template.metadata = { labels: { [GROUP_LABEL]: g.name }, annotations: g.podAnnotations };
  }
  return withHash({
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: ownedMetadata(plan, owner),
    spec: {
      selector: { matchLabels: { [GROUP_LABEL]: g.name } },
      // Never two nodes of a group down at once: the VIPs always have somewhere to go.
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      template,
    },
  });
}

function condition(
  type: string,
  status: Condition["status"],
  reason: string,
  message: string,
  generation: number,
  previous: Condition[] | undefined,
  now: string,
): Condition {
  const old = previous?.find((c) => c.type === type);
  return {
    type,
    status,
    reason,
    message,
    lastTransitionTime: old !== undefined && old.status === status ? old.lastTransitionTime : now,
    observedGeneration: generation,
  };
}

/** Status of a valid group: router IDs, counts, Ready and Degraded. */
export function groupStatus(
  plan: GroupPlan,
  previous: KeepalivedGroupStatus | undefined,
  now: string,
): KeepalivedGroupStatus {
  const g = plan.group;
  const vips = plan.instances.reduce((n, i) => n + i.vips.length, 0);
  const errors = plan.diagnostics.filter((d) => d.severity === "Error");
  const warnings = plan.diagnostics.filter(
    (d) => d.severity === "Warning" && d.object.kind === "KeepalivedGroup",
  );
  const problem = errors[0] ?? warnings[0];
  const conditions = [
    errors.length === 0
      ? condition(
          "Ready",
          "True",
          "Planned",
          `${vips} VIP(s) on ${plan.nodes.length} node(s) in ${plan.instances.length} VRRP instance(s)`,
          g.generation,
          previous?.conditions,
          now,
        )
      : condition(
          "Ready",
          "False",
          errors[0]?.reason ?? "Error",
          errors.map((d) => d.message).join(" "),
          g.generation,
          previous?.conditions,
          now,
        ),
    problem === undefined
      ? condition(
          "Degraded",
          "False",
          "AsExpected",
          "no problems found",
          g.generation,
          previous?.conditions,
          now,
        )
      : condition(
          "Degraded",
          "True",
          problem.reason,
          [...errors, ...warnings].map((d) => `${d.field}: ${d.message}`).join(" "),
          g.generation,
          previous?.conditions,
          now,
        ),
  ];
  const status: KeepalivedGroupStatus = {
    observedGeneration: g.generation,
    nodes: plan.nodes.length,
    vips,
    failover: failoverEstimate(g.vrrp, g.password !== undefined),
    conditions,
  };
  // An empty map is left out, not written as {}: server-side apply turns a map whose entries were all ours and
  // are all gone into null, which the schema (type: object) refuses with a 422, and the status would stay stale.
  if (Object.keys(plan.routerIDs).length > 0) status.routerIDs = plan.routerIDs;
  if (plan.pools.length > 0) status.addressPools = plan.pools;
  return status;
}

/** Status of a group that failed validation: what is wrong, field by field. */
export function invalidGroupStatus(
  generation: number,
  diagnostics: Diagnostic[],
  previous: KeepalivedGroupStatus | undefined,
  now: string,
): KeepalivedGroupStatus {
  const message = diagnostics.map((d) => `${d.field}: ${d.message}`).join(" ");
  const reason = diagnostics[0]?.reason ?? "InvalidSpec";
  const status: KeepalivedGroupStatus = {
    observedGeneration: generation,
    nodes: 0,
    vips: 0,
    conditions: [
      condition("Ready", "False", reason, message, generation, previous?.conditions, now),
      condition("Degraded", "True", reason, message, generation, previous?.conditions, now),
    ],
  };
  // Keep the recorded router IDs: fixing the spec must not renumber the group's instances. None: left out (see groupStatus).
  const recorded = previous?.routerIDs;
  if (recorded !== undefined && Object.keys(recorded).length > 0) status.routerIDs = recorded;
  return status;
}

/** Compares two statuses ignoring transition times and key order. */
export function sameStatus(a: KeepalivedGroupStatus | undefined, b: KeepalivedGroupStatus): boolean {
  const strip = (s: KeepalivedGroupStatus | undefined): unknown =>
    s === undefined
      ? undefined
      : {
          ...s,
          conditions: (s.conditions ?? [])
            .map((c) => ({ ...c, lastTransitionTime: "" }))
            .sort((x, y) => (x.type < y.type ? -1 : 1)),
        };
  return sortedJson(strip(a)) === sortedJson(strip(b));
}

export function sortedJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val !== null && typeof val === "object" && !Array.isArray(val)
      ? Object.fromEntries(
          Object.entries(val as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1)),
        )
      : val,
  );
}
