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
