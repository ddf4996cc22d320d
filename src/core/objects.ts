// The parts of cluster objects that the core reads. Plain data: the controller and the CLI fill these
// from the API server or from files; nothing here knows about client libraries.
import type { PublishedIngress } from "./publishedIngress.js";
import type { KeepalivedGroup, ObjectMeta } from "../api/types.js";
import type { OpenShiftNetwork } from "./openshift.js";

export type { KeepalivedGroup };

export interface ServiceObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: {
    type?: string;
    externalIPs?: string[];
    loadBalancerIP?: string;
    loadBalancerClass?: string;
    externalTrafficPolicy?: string;
    healthCheckNodePort?: number;
    ipFamilies?: string[];
    ipFamilyPolicy?: string;
    ports?: {
      name?: string;
      protocol?: string;
      port?: number;
      targetPort?: number | string;
      nodePort?: number;
    }[];
    selector?: Record<string, string>;
  };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string; ipMode?: string }[] } };
}

export interface NodeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: { unschedulable?: boolean };
  status?: { addresses?: { type: string; address: string }[] };
}

/** Everything a plan is computed from. */
export interface ClusterSnapshot {
  groups: KeepalivedGroup[];
  services: ServiceObject[];
  nodes: NodeObject[];
  /**
   * For Services with `externalTrafficPolicy: Local`: the nodes with ready local endpoints, by
   * `namespace/name`. A Service absent from the map is not restricted (unknown yet).
   */
  localEndpointNodes?: Record<string, string[]>;
  /** The previous plan's VIP placement, by group key then VIP: keeps VIPs where they are. */
  previousPlacement?: Record<string, Record<string, string>>;
  /**
   * IPs each Service holds from an earlier allocation (the ingress the controller wrote), by `namespace/name`:
   * an object (as read from JSON), or a PublishedIngress a controller keeps up to date across reconciles.
   */
  ownIngress?: Record<string, string[]> | PublishedIngress;
  /** Namespaces with their labels, for address pools' namespaceSelector. */
  namespaces?: { metadata: ObjectMeta }[];
  /** OpenShift's config.openshift.io/v1 Network objects, when that API exists. */
  openshiftNetworks?: OpenShiftNetwork[];
}
