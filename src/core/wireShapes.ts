// The shapes of the objects the planner reads (see shape.ts): the fields it uses, with their types. A field
// the planner reads must be listed here, or it never reaches the planner.
import { PublishedIngress, publishedIpsOf, type PublishedIps } from "./publishedIngress.js";
import type { KeepalivedGroup } from "../api/types.js";
import type { NodeObject, ServiceObject } from "./objects.js";
import type { OpenShiftNetwork } from "./openshift.js";
import {
  BOOLEAN,
  conform,
  conformMapReusing,
  INT_OR_STRING,
  INTEGER,
  integerIn,
  listOf,
  notNull,
  objectOf,
  oneOf,
  STRING,
  STRING_LIST,
  STRING_MAP,
  type Shape,
  type ShapeProblem,
} from "./shape.js";

/** A Kubernetes label selector: the CRD leaves it unchecked (x-kubernetes-preserve-unknown-fields). */
export const LABEL_SELECTOR = objectOf({
  matchLabels: STRING_MAP,
  matchExpressions: listOf(
    objectOf({ key: STRING, operator: STRING, values: STRING_LIST }, ["key", "operator"]),
  ),
});

const VRRP = objectOf({
  version: INTEGER,
  timing: STRING,
  advertIntervalMilliseconds: INTEGER,
  anchorIPv4CIDR: STRING,
  preempt: BOOLEAN,
  preemptDelaySeconds: INTEGER,
  garp: objectOf({ masterDelaySeconds: INTEGER, masterRepeat: INTEGER, masterRefreshSeconds: INTEGER }),
  instanceNodes: INTEGER,
});

const AGENT = objectOf({
  tolerations: listOf(
    objectOf({ key: STRING, operator: STRING, value: STRING, effect: STRING, tolerationSeconds: INTEGER }),
  ),
  resources: objectOf({
    limits: { kind: "map", values: INT_OR_STRING },
    requests: { kind: "map", values: INT_OR_STRING },
  }),
});

const ADDRESS_POOL = objectOf(
  {
    name: STRING,
    addresses: STRING_LIST,
    autoAssign: BOOLEAN,
    includeNetworkAndBroadcast: BOOLEAN,
    serviceSelector: LABEL_SELECTOR,
    namespaceSelector: LABEL_SELECTOR,
  },
  ["name", "addresses"],
);

const GROUP_SPEC = objectOf({
  nodeSelector: STRING_MAP,
  image: STRING,
  interface: notNull(STRING),
  interfaceFromIP: notNull(STRING),
  passwordAuth: objectOf({ secretRef: objectOf({ name: STRING }, ["name"]), secretKey: STRING }, [
    "secretRef",
  ]),
  verbatimConfig: STRING_MAP,
  blacklistRouterIDs: listOf(INT_OR_STRING),
  unicastEnabled: BOOLEAN,
  daemonsetPodPriorityClassName: STRING,
  DaemonsetPodPriorityClassName: STRING,
  daemonsetPodAnnotations: STRING_MAP,
  daemonsetAnnotations: STRING_MAP,
  vrrp: VRRP,
  spreadVIPs: BOOLEAN,
  routerIDRange: objectOf({ min: INTEGER, max: INTEGER }),
  routerIDScope: STRING,
  dedicatedInstancesPerNamespace: INTEGER,
  agent: AGENT,
  addressPools: listOf(ADDRESS_POOL),
  allowedCIDRs: STRING_LIST,
});

const META = objectOf({
  name: notNull(STRING),
  namespace: notNull(STRING),
  uid: STRING,
  generation: INTEGER,
  creationTimestamp: STRING,
  labels: STRING_MAP,
  annotations: notNull(STRING_MAP),
});

const SERVICE = objectOf({
  metadata: notNull(META),
  spec: notNull(
    objectOf({
      type: STRING,
      externalIPs: STRING_LIST,
      loadBalancerIP: STRING,
      loadBalancerClass: STRING,
      externalTrafficPolicy: STRING,
      healthCheckNodePort: integerIn(1, 65535),
      ipFamilies: listOf(oneOf("IPv4", "IPv6")),
      ipFamilyPolicy: oneOf("SingleStack", "PreferDualStack", "RequireDualStack"),
      ports: listOf(
        objectOf({
          name: STRING,
          protocol: STRING,
          port: INTEGER,
          targetPort: INT_OR_STRING,
          nodePort: INTEGER,
        }),
      ),
    }),
  ),
  status: objectOf({
    loadBalancer: objectOf({ ingress: listOf(objectOf({ ip: STRING, hostname: STRING, ipMode: STRING })) }),
  }),
});

const NODE = objectOf({
  metadata: notNull(META),
  spec: objectOf({ unschedulable: BOOLEAN }),
  status: objectOf({ addresses: listOf(objectOf({ type: STRING, address: STRING }, ["type", "address"])) }),
});

const NETWORK_FIELDS = {
  serviceNetwork: STRING_LIST,
  clusterNetwork: listOf(objectOf({ cidr: STRING, hostPrefix: INTEGER }, ["cidr"])),
};

const NETWORK = objectOf({
  metadata: objectOf({ name: STRING }),
  spec: objectOf({
    ...NETWORK_FIELDS,
    externalIP: objectOf({
      policy: objectOf({ allowedCIDRs: STRING_LIST, rejectedCIDRs: STRING_LIST }),
      autoAssignCIDRs: STRING_LIST,
    }),
  }),
  status: objectOf(NETWORK_FIELDS),
});

/**
 * An object of `shape` (metadata at least `{}`) and the values dropped from it. Objects the planner keys by
 * name (`named`) must have metadata: without it they name nothing, so that is a problem too.
 */
function conformed(
  raw: unknown,
  shape: Shape,
  named = false,
): { value: { metadata: object }; problems: ShapeProblem[] } {
  const problems: ShapeProblem[] = [];
  if (
    named &&
    typeof raw === "object" &&
    raw !== null &&
    (raw as { metadata?: unknown }).metadata === undefined
  )
    problems.push({ path: "metadata", problem: "is required (an object with at least a name)" });
  const value = (conform(raw, shape, "", problems) ?? {}) as { metadata?: object };
  value.metadata ??= {};
  return { value: value as { metadata: object }, problems };
}

const GROUP_STATUS = objectOf({ routerIDs: { kind: "map", values: INTEGER } });

/** A KeepalivedGroup's metadata and spec, and the status it was read with (the controller's own writing). */
export function conformGroup(raw: unknown): { group: KeepalivedGroup; problems: ShapeProblem[] } {
  const { value, problems } = conformed(
    raw,
    objectOf({ metadata: notNull(META), spec: notNull(GROUP_SPEC) }),
    true,
  );
  const group = value as KeepalivedGroup;
  // Wrongly typed status values are dropped without a word: the author did not write them.
  const status = conform((raw as { status?: unknown } | null)?.status ?? {}, GROUP_STATUS, "status", []);
  if (status !== undefined) group.status = status as NonNullable<KeepalivedGroup["status"]>;
  return { group, problems };
}

export function conformService(raw: unknown): { service: ServiceObject; problems: ShapeProblem[] } {
  const { value, problems } = conformed(raw, SERVICE, true);
  return { service: value, problems };
}

export function conformNode(raw: unknown): { node: NodeObject; problems: ShapeProblem[] } {
  const { value, problems } = conformed(raw, NODE, true);
  return { node: value, problems };
}

/** A Namespace's name and labels; anything else is dropped (namespaces only feed pools' namespaceSelector). */
export function conformNamespace(raw: unknown): {
  metadata: { name?: string; labels?: Record<string, string> };
} {
  return conformed(raw, objectOf({ metadata: META })).value;
}

/** An OpenShift Network with its wrongly typed values dropped (OpenShift's API server checks them already). */
export function conformNetwork(raw: unknown): OpenShiftNetwork {
  return conformed(raw, NETWORK).value;
}

/** Each readable item conformed; one that throws while being read is left out (only in-process callers can make one). */
export function readable<T>(list: readonly unknown[], read: (raw: unknown) => T): T[] {
  return list.flatMap((raw) => {
    try {
      return [read(raw)];
    } catch {
      return [];
    }
  });
}

/** The snapshot's derived inputs (built by the controller), wrongly typed entries dropped. */
export function conformDerived(
  snapshot: {
    localEndpointNodes?: unknown;
    previousPlacement?: unknown;
    ownIngress?: unknown;
  },
  seen?: (values: Shape) => WeakMap<object, unknown>,
): {
  localEndpointNodes?: Record<string, string[]>;
  previousPlacement: Record<string, Record<string, string>>;
  ownIngress: PublishedIps;
} {
  const listMap: Shape = { kind: "map", values: STRING_LIST };
  const of = (value: unknown, shape: Shape): unknown => {
    if (value === undefined) return undefined;
    if (seen !== undefined && shape.kind === "map")
      return conformMapReusing(value, shape.values, seen(shape.values));
    return conform(value, shape, "", []);
  };
  const local = of(snapshot.localEndpointNodes, listMap) as Record<string, string[]> | undefined;
  const placement = of(snapshot.previousPlacement, { kind: "map", values: STRING_MAP });
  return {
    ...(local === undefined ? {} : { localEndpointNodes: local }),
    previousPlacement: (placement ?? {}) as Record<string, Record<string, string>>,
    // Kept by a controller, conformed as each entry was set; else an object of lists, conformed now.
    ownIngress:
      snapshot.ownIngress instanceof PublishedIngress
        ? snapshot.ownIngress
        : publishedIpsOf((of(snapshot.ownIngress, listMap) ?? {}) as Record<string, string[]>),
  };
}
