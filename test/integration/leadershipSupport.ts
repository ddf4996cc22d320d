// Helpers of leadership.test.ts: an audit policy that records every write (with the leader Lease's body),
// replicas with their own ServiceAccounts (so the audit log tells them apart), bulk Service creation, and the
// check over the audit history: every write was made by the replica that held the lease at that moment.
import { readFile } from "node:fs/promises";
import type { Manifest } from "../../src/api/kube.js";
import type { ControlPlane } from "../../src/lab/controlplane.js";
import { apply, type KubeClient } from "../support/kube.js";

const OPERATOR_NS = "keepalived-operator";
const LEADER_LEASE = "keepalived-operator";

/** Writes only; the leader Lease with its request body, to read the holder from. */
export const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Request
    verbs: [create, update, patch]
    resources: [{ group: coordination.k8s.io, resources: [leases] }]
    namespaces: [${OPERATOR_NS}]
  - level: Metadata
    verbs: [create, update, patch, delete, deletecollection]
  - level: None
`;

/** A ServiceAccount `name` with the controller's RBAC; returns a kubeconfig holding its token. */
export async function bindReplica(cp: ControlPlane, name: string): Promise<string> {
  const kubeconfig = await cp.mintServiceAccountKubeconfig(OPERATOR_NS, name);
  const admin = cp.client();
  const subjects = [{ kind: "ServiceAccount", name, namespace: OPERATOR_NS }];
  const rbac = "rbac.authorization.k8s.io";
  await apply(admin, {
    apiVersion: `${rbac}/v1`,
    kind: "ClusterRoleBinding",
    metadata: { name: `keepalived-operator-${name}` },
    roleRef: { apiGroup: rbac, kind: "ClusterRole", name: "keepalived-operator" },
    subjects,
  });
  await apply(admin, {
    apiVersion: `${rbac}/v1`,
    kind: "RoleBinding",
    metadata: { name: `leader-election-${name}`, namespace: OPERATOR_NS },
    roleRef: { apiGroup: rbac, kind: "Role", name: "keepalived-operator-leader-election" },
    subjects,
  });
  return kubeconfig;
}

/** Creates `count` objects, `concurrency` at a time; resolves with the milliseconds it took. */
export async function createServices(
  admin: KubeClient,
  count: number,
  make: (i: number) => Manifest,
  concurrency = 32,
): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await apply(admin, make(next++));
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return performance.now() - t0;
}

export interface AuditEvent {
  stage: string;
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  requestObject?: { spec?: { holderIdentity?: string } };
}

export async function readAudit(path: string): Promise<AuditEvent[]> {
  return (await readFile(path, "utf8"))
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as AuditEvent)
    .filter((e) => e.stage === "ResponseComplete");
}

/**
 * Replays the audit history: the lease holder changes when a write of the leader Lease succeeds (at its
 * completion); every other write by a replica (any answer) is checked against the holder when it was
 * received. `identities`: the replicas, whose ServiceAccounts carry the same names. `holders`: who held the
 * lease, in order.
 */
export function holderTimeline(
  events: readonly AuditEvent[],
  identities: readonly string[],
): { writes: Map<string, number>; holders: string[]; violations: string[] } {
  const who = (e: AuditEvent): string | undefined =>
    identities.find((id) => e.user.username === `system:serviceaccount:${OPERATOR_NS}:${id}`);
  const isLease = (e: AuditEvent): boolean =>
    e.objectRef?.resource === "leases" &&
    e.objectRef.namespace === OPERATOR_NS &&
    e.objectRef.name === LEADER_LEASE;
  const ok = (e: AuditEvent): boolean => (e.responseStatus?.code ?? 0) < 300;
  const moves = events
    .filter((e) => isLease(e) && ok(e))
    .map((e) => ({ at: e.stageTimestamp, holder: e.requestObject?.spec?.holderIdentity ?? "" }))
    .sort((x, y) => (x.at < y.at ? -1 : 1));
  const holderAt = (t: string): string => moves.filter((m) => m.at <= t).at(-1)?.holder ?? "";
  const writes = new Map<string, number>();
  const violations: string[] = [];
  for (const e of events) {
    const id = who(e);
    if (id === undefined || (isLease(e) && ok(e))) continue;
    writes.set(id, (writes.get(id) ?? 0) + 1);
    const holder = holderAt(e.requestReceivedTimestamp);
    if (holder !== id) {
      const o = e.objectRef ?? {};
      violations.push(
        `${id} ${e.verb} ${o.resource ?? ""}/${o.subresource ?? ""} ${o.namespace ?? ""}/${o.name ?? ""} at ${e.requestReceivedTimestamp} while ${holder || "nobody"} held the lease`,
      );
    }
  }
  const holders = moves.map((m) => m.holder).filter((h, i, all) => h !== "" && h !== all[i - 1]);
  return { writes, holders, violations };
}
