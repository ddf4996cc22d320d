// The Kubernetes wire shapes every layer shares: what is read from the API (`KubeObject` and the kinds below)
// and what is written to it (`Manifest`). Plain data; no client library.
import type { ObjectMeta } from "./types.js";

/** Anything read from the API server: only its metadata is known. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: boolean;
  blockOwnerDeletion: boolean;
}

/** An object to write (server-side apply): kind and name are known. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta & { name: string; ownerReferences?: OwnerReference[] };
  [key: string]: unknown;
}

export interface ConfigMapObject extends KubeObject {
  data?: Record<string, string>;
  /** base64, as the API serves it. */
  binaryData?: Record<string, string>;
}

export interface SecretObject extends KubeObject {
  data?: Record<string, string>;
}

export type DaemonSetObject = KubeObject;

export type NamespaceObject = KubeObject;

export interface EndpointSliceObject extends KubeObject {
  endpoints?: {
    nodeName?: string;
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  }[];
}
