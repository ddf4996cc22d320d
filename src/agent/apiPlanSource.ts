// The agent's desired config from the cluster: the group's ConfigMap (plan.json, written by the controller)
// and, when the group has passwordAuth, its Secret. Each is followed by its own informer narrowed to one
// name, so a new plan or a rotated password reaches keepalived within one watch event.
import type { ConfigMapObject, SecretObject } from "../api/kube.js";
import { PLAN_KEY } from "../api/names.js";
import type { PlanV1 } from "../api/plan.js";
import { Informer } from "../kube/informer.js";
import type { KubeClient } from "../kube/rest.js";
import type { Logger } from "../lib/log.js";
import { parsePlan } from "../render/planCodec.js";
import type { DesiredConfig, PlanSource } from "./planSource.js";

export interface GroupRef {
  namespace: string;
  name: string;
}

/** The ConfigMap's plan, or why it cannot be run. Pure. */
export function planFromConfigMap(
  ref: GroupRef,
  cm: ConfigMapObject | undefined,
): { plan: PlanV1; text: string } | { error: string } {
  const where = `ConfigMap ${ref.namespace}/${ref.name}`;
  if (cm === undefined)
    return {
      error: `${where} not found; the controller writes it for KeepalivedGroup ${ref.namespace}/${ref.name}: check that the group exists, is valid (its status conditions) and that the controller runs`,
    };
  const text = cm.data?.[PLAN_KEY];
  if (text === undefined)
    return {
      error: `${where} has no key ${PLAN_KEY}; it is the controller's to write, do not edit it by hand`,
    };
  try {
    return { plan: parsePlan(text, `${where} key ${PLAN_KEY}`), text };
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
  private delivered: { text: string; password: string | undefined } | undefined;
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
        fieldSelector: `metadata.name=${this.ref.name}`,
      },
      () => {
        this.evaluate();
      },
      this.log,
    );
    this.configMaps.start();
  }

  /** Resolves after the ConfigMap has been listed once. */
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
    const read = planFromConfigMap(this.ref, this.configMaps.get(this.ref.namespace, this.ref.name));
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
    this.delivered = { text: read.text, password };
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
