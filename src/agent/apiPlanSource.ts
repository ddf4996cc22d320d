// The agent's desired config from the cluster: its own node's plan ConfigMap (the node's share of the group's
// plan, written by the controller; render/nodePlans.ts) and, when the group has passwordAuth, its Secret. Each
// is followed by its own informer narrowed to one name, so a new plan or a rotated password reaches keepalived
// within one watch event, and the agent downloads its node's share only.
import type { ConfigMapObject, SecretObject } from "../api/kube.js";
import { nodePlanName } from "../api/names.js";
import type { PlanV1 } from "../api/plan.js";
import { Informer } from "../kube/informer.js";
import type { KubeClient } from "../kube/rest.js";
import type { Logger } from "../lib/log.js";
import { nodePlanText } from "../render/nodePlans.js";
import { parsePlan } from "../render/planCodec.js";
import type { DesiredConfig, PlanSource } from "./planSource.js";

export interface GroupRef {
  namespace: string;
  name: string;
  /** The node whose share this agent follows. */
  node: string;
}

type PlanRead = { plan: PlanV1; text: string } | { error: string };

/**
 * The node plan's PlanV1, or why it cannot be run. Pure. An object that is gone after a plan with this node
 * was delivered means the node left the group (the controller deletes the plans of nodes that left): the
 * answer is the last plan without this node, so the agent hands its VIPs over and lets go, as it does when
 * a plan leaves it out.
 */
export function planFromConfigMap(ref: GroupRef, cm: ConfigMapObject | undefined, last?: PlanV1): PlanRead {
  const name = nodePlanName(ref.name, ref.node);
  const where = `ConfigMap ${ref.namespace}/${name}`;
  const key = `${ref.namespace}/${ref.name}`;
  if (cm === undefined) {
    // Gone after a plan with this node, or still gone after that (the same answer again: a repeat).
    if (last !== undefined && (last.nodes.some((n) => n.name === ref.node) || last.instances.length === 0)) {
      const plan: PlanV1 = {
        ...last,
        nodes: last.nodes.filter((n) => n.name !== ref.node),
        instances: [],
        placement: {},
      };
      return { plan, text: `(${where} deleted: node ${ref.node} left KeepalivedGroup ${key})` };
    }
    return {
      error: `${where} not found; the controller writes it for node ${ref.node} of KeepalivedGroup ${key}: check that the group exists, is valid (its status conditions), selects this node (spec.nodeSelector) and that the controller runs`,
    };
  }
  const read = nodePlanText(cm);
  if ("error" in read)
    return { error: `${where} ${read.error}; it is the controller's to write, do not edit it by hand` };
  try {
    const plan = parsePlan(read.text, where);
    if (plan.group.key !== key)
      return {
        error: `${where} holds a plan of KeepalivedGroup ${plan.group.key}, not ${key}; it is the controller's to write, do not edit it by hand`,
      };
    return { plan, text: read.text };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** The VRRP password from the group's Secret, or why there is none. Pure. */
export function passwordFromSecret(
  plan: PlanV1,
  secret: SecretObject | undefined,
): { password: string } | { error: string } {
  const g = plan.group;
  const ref = g.password;
  if (ref === undefined) return { error: `KeepalivedGroup ${g.key} has no spec.passwordAuth` };
  const where = `Secret ${g.namespace}/${ref.secretName}`;
  const field = `KeepalivedGroup ${g.key} spec.passwordAuth`;
  if (secret === undefined)
    return { error: `${where} not found (${field}.secretRef.name); create it with key ${ref.secretKey}` };
  const value = secret.data?.[ref.secretKey];
  if (value === undefined)
    return {
      error: `${where} has no key ${ref.secretKey} (${field}.secretKey); add the key or fix the field`,
    };
  // `echo pass | base64` is the usual way to write one; its newline is not part of the password.
  return {
    password: Buffer.from(value, "base64")
      .toString("utf8")
      .replace(/\r?\n$/, ""),
  };
}

export class ApiPlanSource implements PlanSource {
  private configMaps: Informer<ConfigMapObject> | undefined;
  private secret: { name: string; informer: Informer<SecretObject> } | undefined;
  private delivered: { text: string; password: string | undefined; plan: PlanV1 } | undefined;
  private lastError = "";
  private stopped = false;
  private onPlan: (desired: DesiredConfig) => void = () => undefined;
  private onError: (err: Error) => void = () => undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly ref: GroupRef,
    private readonly log: Logger,
  ) {}

  start(onPlan: (desired: DesiredConfig) => void, onError: (err: Error) => void): void {
    this.onPlan = onPlan;
    this.onError = onError;
    this.configMaps = new Informer<ConfigMapObject>(
      this.client,
      {
        path: `/api/v1/namespaces/${this.ref.namespace}/configmaps`,
        fieldSelector: `metadata.name=${nodePlanName(this.ref.name, this.ref.node)}`,
      },
      () => {
        this.evaluate();
      },
      this.log,
    );
    this.configMaps.start();
  }

  /** Resolves after the node's plan ConfigMap has been listed once. */
  async synced(): Promise<void> {
    await this.configMaps?.synced;
  }

  private fail(message: string): void {
    // Each relist re-evaluates; a problem is reported once until it changes or goes away.
    if (message === this.lastError) return;
    this.lastError = message;
    this.onError(new Error(message));
  }

  /** Follows the Secret the plan names (a different one after the group's passwordAuth changed), or none. */
  private followSecret(name: string | undefined): Informer<SecretObject> | undefined {
    if (this.secret !== undefined && this.secret.name !== name) {
      this.secret.informer.stop();
      this.secret = undefined;
    }
    if (name === undefined) return undefined;
    if (this.secret === undefined) {
      const informer = new Informer<SecretObject>(
        this.client,
        { path: `/api/v1/namespaces/${this.ref.namespace}/secrets`, fieldSelector: `metadata.name=${name}` },
        () => {
          this.evaluate();
        },
        this.log,
      );
      this.secret = { name, informer };
      informer.start();
    }
    return this.secret.informer;
  }

  private evaluate(): void {
    if (this.stopped || this.configMaps === undefined) return;
    const name = nodePlanName(this.ref.name, this.ref.node);
    const read = planFromConfigMap(
      this.ref,
      this.configMaps.get(this.ref.namespace, name),
      this.delivered?.plan,
    );
    if ("error" in read) {
      this.fail(read.error);
      return;
    }
    const secretRef = read.plan.group.password;
    const secrets = this.followSecret(secretRef?.secretName);
    let password: string | undefined;
    if (secretRef !== undefined && secrets !== undefined) {
      // Not listed yet: its first list calls evaluate() again.
      if (secrets.lists === 0) return;
      const got = passwordFromSecret(read.plan, secrets.get(this.ref.namespace, secretRef.secretName));
      if ("error" in got) {
        this.fail(got.error);
        return;
      }
      password = got.password;
    }
    this.lastError = "";
    if (this.delivered?.text === read.text && this.delivered.password === password) return;
    this.delivered = { text: read.text, password, plan: read.plan };
    const desired: DesiredConfig = { plan: read.plan, text: read.text };
    if (password !== undefined) desired.password = password;
    this.onPlan(desired);
  }

  stop(): void {
    this.stopped = true;
    this.configMaps?.stop();
    this.secret?.informer.stop();
  }
}
