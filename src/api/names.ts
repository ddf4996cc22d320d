// The one place where API group, version, annotation and label names are spelled.

export const API_GROUP = "redhatcop.redhat.io";
export const API_VERSION = "v1alpha1";
export const GROUP_VERSION = `${API_GROUP}/${API_VERSION}`;
export const KIND = "KeepalivedGroup";
export const PLURAL = "keepalivedgroups";

const ANNOTATION_PREFIX = "keepalived-operator.redhat-cop.io";
/** Service annotation naming the group that announces its IPs: `<namespace>/<group>`. */
export const GROUP_ANNOTATION = `${ANNOTATION_PREFIX}/keepalivedgroup`;
/** Service annotation `"true"`: each VIP of the Service is placed on its own, so they spread over nodes. */
export const SPREAD_VIPS_ANNOTATION = `${ANNOTATION_PREFIX}/spreadvips`;
/** Service annotation: JSON object of extra per-instance keepalived settings, from an allow-list. */
export const VERBATIM_CONFIG_ANNOTATION = `${ANNOTATION_PREFIX}/verbatimconfig`;

/** Lease annotation of a node agent: sorted JSON `{"<vrrp_instance>": "MASTER" | "BACKUP" | "FAULT"}`. */
export const VRRP_STATES_ANNOTATION = `${ANNOTATION_PREFIX}/vrrp-states`;
/** Lease annotation of a node agent: sorted JSON list of the VIPs the node holds (its MASTER instances'). */
export const HELD_VIPS_ANNOTATION = `${ANNOTATION_PREFIX}/vips`;
/**
 * Lease annotation of a node agent, present while keepalived refuses some of the node's instances (the others
 * run): sorted JSON `{"<vrrp_instance>": {"reason": "<keepalived's words>", "services": ["<ns>/<name>", …]}}`.
 */
export const REFUSED_INSTANCES_ANNOTATION = `${ANNOTATION_PREFIX}/refused-instances`;
/** Label on a node agent's Lease: the node it reports. */
export const NODE_LABEL = `${ANNOTATION_PREFIX}/node`;
/** Field manager of the node agents' writes (their Leases). */
export const AGENT_FIELD_MANAGER = "keepalived-operator-agent";

/** Service annotation: the IPs it asks for, comma-separated, at most one per family (`198.18.0.10,2001:db8::10`). */
export const LOAD_BALANCER_IPS_ANNOTATION = `${ANNOTATION_PREFIX}/loadbalancer-ips`;
/** Service annotation: Services with the same key may share an IP when their ports do not clash. */
export const SHARING_KEY_ANNOTATION = `${ANNOTATION_PREFIX}/allow-shared-ip`;
/** Service annotation: take the IP from this address pool of the group. */
export const ADDRESS_POOL_ANNOTATION = `${ANNOTATION_PREFIX}/address-pool`;

/** Label on everything the operator creates for a group (value: the group's name), as the original. */
export const GROUP_LABEL = "keepalivedGroup";
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY_VALUE = "keepalived-operator";

/** `spec.loadBalancerClass` value that names this operator; Services with no class are ours too. */
export const LOAD_BALANCER_CLASS = "keepalived-operator.redhat-cop.io/keepalived";
export const FIELD_MANAGER = "keepalived-operator";

export const DEFAULT_AGENT_IMAGE = "quay.io/redhat-cop/keepalived-operator-ts:latest";
export const DEFAULT_PASSWORD_KEY = "password";
export const METRICS_PORT = 9650;

/** Annotation holding the hash of what the controller last applied, so unchanged objects are not written. */
export const APPLIED_HASH_ANNOTATION = `${ANNOTATION_PREFIX}/applied-hash`;
/** ConfigMap key with the machine-readable plan that agents follow (a node's share, or an earlier release's group plan). */
export const PLAN_KEY = "plan.json";
/** ConfigMap binaryData key with a node's share gzipped, used when the plain text would exceed the object budget. */
export const PLAN_GZIP_KEY = "plan.json.gz";
/** ConfigMap key of an earlier release's example keepalived.conf (no longer stored; `render` prints it). */
export const CONF_KEY = "keepalived.conf";
/** ServiceAccount the agents run as. */
export const AGENT_SERVICE_ACCOUNT = "keepalived-agent";

/** Label value of a name: itself when it is a valid label value, else a clipped prefix plus a hash (≤ 63). */
export function labelValue(name: string): string {
  if (/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/.test(name)) return name;
  return `${clipName(name, 52)}-${nameHash(name)}`;
}

/** A prefix of a DNS name, at most `max` characters, that ends in a letter or digit ("" when none does). */
function clipName(name: string, max: number): string {
  return name
    .slice(0, max)
    .toLowerCase()
    .replace(/[^a-z0-9]+$/, "");
}

/** FNV-1a (64-bit) of the text, finished with MurmurHash3's fmix64 so every input byte moves every output bit; 10 hex digits: a name suffix, not a security hash. */
function nameHash(text: string): string {
  const mask = 0xffffffffffffffffn;
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text, "utf8")) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & mask;
  }
  h ^= h >> 33n;
  h = (h * 0xff51afd7ed558ccdn) & mask;
  h ^= h >> 33n;
  h = (h * 0xc4ceb9fe1a85ec53n) & mask;
  h ^= h >> 33n;
  return h.toString(16).padStart(16, "0").slice(0, 10);
}

/**
 * Name of the ConfigMap holding node `node`'s share of group `group`'s plan: readable prefixes of both names
 * and a hash of the pair, so that it is a DNS subdomain of at most 1+80+1+120+1+10 characters and two pairs
 * never share a name (`a-b`/`c` and `a`/`b-c` differ in the hash).
 */
export function nodePlanName(group: string, node: string): string {
  return `${clipName(group, 80) || "g"}-${clipName(node, 120) || "n"}-${nameHash(`${group}\n${node}`)}`;
}
