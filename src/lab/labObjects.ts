// The lab's cluster objects: the walkthrough's KeepalivedGroup and demo Service, the Nodes, the operator's RBAC,
// and kubeconfigs for the controller's and the agents' ServiceAccounts. Applied as the lab's field manager.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import type { Manifest } from "../api/kube.js";
import { GROUP_ANNOTATION } from "../api/names.js";
import { applyManifest, applyManifestFile } from "../kube/apply.js";
import type { KubeClient } from "../kube/rest.js";
import { serviceAccountToken } from "./credentials.js";
import { NODE_IFACE, type LabNode } from "./netns.js";
import { repoRoot } from "./processes.js";
import { waitFor } from "./wait.js";

export const OPERATOR_NAMESPACE = "keepalived-operator";
export const GROUP_NAME = "keepalivedgroup-workers";
export const DEMO = { namespace: "demo", name: "demo" };
export const LAB_POOL = "198.18.0.200-198.18.0.220";
const LOADBALANCER_LABEL = "node-role.kubernetes.io/loadbalancer";
const FIELD_MANAGER = "keepalived-operator-lab";

/**
 * The walkthrough's KeepalivedGroup, whose Default timing (100 ms adverts) fails over in about 0.3 s; the
 * lab's pool stands in for OpenShift's autoAssignCIDRs.
 */
export function labGroup(): Manifest {
  return {
    apiVersion: "redhatcop.redhat.io/v1alpha1",
    kind: "KeepalivedGroup",
    metadata: { name: GROUP_NAME, namespace: OPERATOR_NAMESPACE },
    spec: {
      interface: NODE_IFACE,
      nodeSelector: { [LOADBALANCER_LABEL]: "" },
      blacklistRouterIDs: [1, 2],
      addressPools: [{ name: "lab", addresses: [LAB_POOL] }],
    },
  };
}

/** The walkthrough's demo Service, unchanged. */
export function demoService(): Manifest {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: DEMO.name,
      namespace: DEMO.namespace,
      annotations: { [GROUP_ANNOTATION]: `${OPERATOR_NAMESPACE}/${GROUP_NAME}` },
    },
    spec: {
      type: "LoadBalancer",
      ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 80 }],
      selector: { env: "test" },
    },
  };
}

export function labNodeObject(node: LabNode): Manifest {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: node.name, labels: { [LOADBALANCER_LABEL]: "" } },
  };
}

/** Server-side apply as the lab's field manager. */
export function apply(client: KubeClient, o: Manifest, subresource?: "status"): Promise<unknown> {
  return applyManifest(client, o, FIELD_MANAGER, subresource);
}

/** Namespaces, the operator's RBAC (deploy/rbac), one Node per lab node, and the KeepalivedGroup. */
export async function applyClusterObjects(admin: KubeClient, nodes: LabNode[]): Promise<void> {
  for (const name of [OPERATOR_NAMESPACE, DEMO.namespace])
    await apply(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  for (const rbac of ["controller.yaml", "agent.yaml"])
    await applyManifestFile(admin, join(repoRoot(), "deploy", "rbac", rbac), FIELD_MANAGER);
  for (const node of nodes) {
    await apply(admin, labNodeObject(node));
    // IPv4 only: server-side apply keys status.addresses by type, so two InternalIPs collide.
    await apply(
      admin,
      { ...labNodeObject(node), status: { addresses: [{ type: "InternalIP", address: node.ip }] } },
      "status",
    );
  }
  await apply(admin, labGroup());
}

/** A kubeconfig for a ServiceAccount: the admin's cluster entry with a token valid as long as the lab CA. */
export async function mintServiceAccountKubeconfig(
  client: KubeClient,
  adminKubeconfig: string,
  serviceAccount: { namespace: string; name: string },
  path: string,
): Promise<void> {
  const token = await serviceAccountToken(client, serviceAccount.namespace, serviceAccount.name, {
    expirationSeconds: 7 * 24 * 3600,
  });
  const config = parse(await readFile(adminKubeconfig, "utf8")) as {
    users: { name: string; user: unknown }[];
  };
  config.users = config.users.map((u) => ({ name: u.name, user: { token } }));
  await writeFile(path, stringify(config), { mode: 0o600 });
}

/** Applies the demo Service and waits for the controller to give it an EXTERNAL-IP. */
export async function applyDemoService(admin: KubeClient): Promise<string> {
  await apply(admin, demoService());
  return waitFor(
    `${DEMO.namespace}/${DEMO.name} to get an EXTERNAL-IP`,
    async () => {
      const svc = await admin.request<{ status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }>(
        "GET",
        `/api/v1/namespaces/${DEMO.namespace}/services/${DEMO.name}`,
      );
      return svc.status?.loadBalancer?.ingress?.[0]?.ip;
    },
    30_000,
    20,
  );
}
