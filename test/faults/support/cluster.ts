// The cluster a fault runs in: a real control plane with the operator's RBAC (deploy/rbac), Nodes, one
// KeepalivedGroup with an address pool, ServiceAccount kubeconfigs (one per controller replica, so that the
// audit log tells the replicas apart), and Service traffic: bulk creation and background churn.
import type { Manifest } from "../../../src/api/kube.js";
import { GROUP_ANNOTATION, VERBATIM_CONFIG_ANNOTATION } from "../../../src/api/names.js";
import type { KeepalivedGroupSpec } from "../../../src/api/types.js";
import { startControlPlane, type ControlPlane } from "../../../src/lab/controlplane.js";
import { sleep } from "../../../src/lab/wait.js";
import { adminClient, apply, applyFile, ApiError, del, type KubeClient } from "../../support/kube.js";
import { OPERATOR_NS } from "./operator.js";

export const APPS_NS = "apps";
export const MEMBER_LABEL = "kao-fault/member";

export interface FaultCluster {
  cp: ControlPlane;
  admin: KubeClient;
  /** Kubeconfig of the agents' ServiceAccount (deploy/rbac/agent.yaml). */
  agentKubeconfig: string;
}

export async function startFaultCluster(opts: { auditPolicy?: string } = {}): Promise<FaultCluster> {
  const cp = await startControlPlane(opts.auditPolicy === undefined ? {} : { auditPolicy: opts.auditPolicy });
  try {
    const admin = adminClient(cp);
    for (const name of [OPERATOR_NS, APPS_NS])
      await apply(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
    await applyFile(admin, "deploy/rbac/controller.yaml");
    await applyFile(admin, "deploy/rbac/agent.yaml");
    const agentKubeconfig = await cp.mintServiceAccountKubeconfig(OPERATOR_NS, "keepalived-agent");
    return { cp, admin, agentKubeconfig };
  } catch (err) {
    await cp.stop();
    throw err;
  }
}

/** The username the API server (and its audit log) gives a controller replica's ServiceAccount. */
export const replicaUser = (replica: string): string => `system:serviceaccount:${OPERATOR_NS}:${replica}`;

/** A ServiceAccount of its own for a controller replica, bound to the controller's roles of deploy/rbac. */
export async function replicaKubeconfig(c: FaultCluster, replica: string): Promise<string> {
  const subjects = [{ kind: "ServiceAccount", name: replica, namespace: OPERATOR_NS }];
  await apply(c.admin, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: `keepalived-operator-${replica}` },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "keepalived-operator" },
    subjects,
  });
  await apply(c.admin, {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: { name: `keepalived-operator-leader-election-${replica}`, namespace: OPERATOR_NS },
    roleRef: {
      apiGroup: "rbac.authorization.k8s.io",
      kind: "Role",
      name: "keepalived-operator-leader-election",
    },
    subjects,
  });
  return c.cp.mintServiceAccountKubeconfig(OPERATOR_NS, replica);
}

/** A Node with its InternalIP, labelled as a member of the fault groups (or not). */
export async function applyNode(admin: KubeClient, name: string, ip: string, member = true): Promise<void> {
  const labels = member ? { [MEMBER_LABEL]: "true" } : {};
  await apply(admin, { apiVersion: "v1", kind: "Node", metadata: { name, labels } });
  // Status on its own: applied with the labels, it would own them too and a later apply could not drop them.
  await apply(
    admin,
    {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name },
      status: { addresses: [{ type: "InternalIP", address: ip }] },
    },
    "status",
  );
}

export function groupManifest(name: string, spec: KeepalivedGroupSpec): Manifest {
  return {
    apiVersion: "redhatcop.redhat.io/v1alpha1",
    kind: "KeepalivedGroup",
    metadata: { name, namespace: OPERATOR_NS },
    spec: { interface: "eth0", nodeSelector: { [MEMBER_LABEL]: "true" }, ...spec },
  };
}

/**
 * A LoadBalancer Service of the group, its IP from the group's pool. `dedicated` gives it a VRRP instance
 * (and a router ID) of its own, through a harmless verbatimconfig key.
 */
export function lbService(name: string, group: string, opts: { dedicated?: boolean } = {}): Manifest {
  const annotations: Record<string, string> = { [GROUP_ANNOTATION]: `${OPERATOR_NS}/${group}` };
  if (opts.dedicated === true) annotations[VERBATIM_CONFIG_ANNOTATION] = '{"garp_master_refresh": "60"}';
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: APPS_NS, annotations },
    spec: {
      type: "LoadBalancer",
      ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 80 }],
      selector: { app: name },
    },
  };
}

/** Creates Services with `concurrency` requests in flight (POST; an existing one is left alone). */
export async function createServices(
  admin: KubeClient,
  services: Manifest[],
  concurrency = 16,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < services.length) {
      const s = services[next++]!;
      try {
        await admin.request("POST", `/api/v1/namespaces/${APPS_NS}/services`, { body: s });
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 409)) throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/**
 * Background Service churn: every `everyMs` creates one Service (every third with an instance of its own)
 * and, above `live` Services, deletes the oldest. Requests that fail (an API server away) are skipped.
 */
export class Churn {
  created = 0;
  deleted = 0;
  failed = 0;
  private readonly live: string[] = [];
  private running = true;
  private readonly loop: Promise<void>;

  constructor(admin: KubeClient, group: string, opts: { prefix: string; everyMs: number; live: number }) {
    this.loop = (async () => {
      for (let i = 0; this.running; i++) {
        const name = `${opts.prefix}-${i}`;
        try {
          await apply(admin, lbService(name, group, { dedicated: i % 3 === 0 }));
          this.live.push(name);
          this.created++;
          while (this.live.length > opts.live) {
            await del(admin, lbService(this.live[0]!, group));
            this.live.shift();
            this.deleted++;
          }
        } catch {
          this.failed++;
        }
        await sleep(opts.everyMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
