// Server-side apply of plain manifests (like `kubectl apply --server-side`): the one apply path of the
// controller, the agent's node Lease, the lab and the tests.
import { readFile } from "node:fs/promises";
import type { Manifest } from "../api/kube.js";
import type { KubeClient, RequestInit } from "./rest.js";

const PLURALS: Record<string, string> = {
  Namespace: "namespaces",
  ServiceAccount: "serviceaccounts",
  ClusterRole: "clusterroles",
  ClusterRoleBinding: "clusterrolebindings",
  Role: "roles",
  RoleBinding: "rolebindings",
  Service: "services",
  Node: "nodes",
  KeepalivedGroup: "keepalivedgroups",
  Secret: "secrets",
  ConfigMap: "configmaps",
  EndpointSlice: "endpointslices",
  DaemonSet: "daemonsets",
  Deployment: "deployments",
  Lease: "leases",
  CustomResourceDefinition: "customresourcedefinitions",
  Network: "networks",
};

/** The REST path of a manifest's object. */
export function objectPath(o: Manifest): string {
  const prefix = o.apiVersion.includes("/") ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  const plural = PLURALS[o.kind];
  if (plural === undefined) throw new Error(`no REST path known for kind ${o.kind}`);
  const ns = o.metadata.namespace === undefined ? "" : `/namespaces/${o.metadata.namespace}`;
  return `${prefix}${ns}/${plural}/${o.metadata.name}`;
}

/**
 * Applies the manifest as `fieldManager`, taking over conflicting fields; resolves with the object as the
 * server now has it. `limits`: a timeout in ms (the client's default when absent), or a timeout and signal.
 */
export async function applyManifest(
  client: KubeClient,
  o: Manifest,
  fieldManager: string,
  subresource?: "status",
  limits?: number | Pick<RequestInit, "timeoutMs" | "signal" | "beforeSend">,
): Promise<unknown> {
  const init: RequestInit = typeof limits === "number" ? { timeoutMs: limits } : { ...limits };
  return client.request("PATCH", subresource === undefined ? objectPath(o) : `${objectPath(o)}/status`, {
    ...init,
    query: { fieldManager, force: true },
    body: o,
    contentType: "application/apply-patch+yaml",
  });
}

/** Applies every document of a YAML file, in order. */
export async function applyManifestFile(
  client: KubeClient,
  path: string,
  fieldManager: string,
): Promise<void> {
  // Loaded here, not at the top: the agent and the controller, which never read manifest files, go without it.
  const { parseAllDocuments } = await import("yaml");
  for (const doc of parseAllDocuments(await readFile(path, "utf8"))) {
    const o = doc.toJS() as Manifest | null;
    if (o !== null) await applyManifest(client, o, fieldManager);
  }
}
