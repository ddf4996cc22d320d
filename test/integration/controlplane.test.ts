// The lab control plane is a real etcd + kube-apiserver: the CRD's schema, status subresource and RBAC behave
// as in a cluster, and starting and stopping leaves nothing behind.
/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- client-node models are data-only classes: object literals are how its API takes them */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import {
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  RbacAuthorizationV1Api,
} from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, KIND, PLURAL } from "../../src/api/names.js";
import { isAlive, repoRoot, startControlPlane, type ControlPlane } from "../../src/lab/controlplane.js";

const execFileP = promisify(execFile);
const SLOW = { timeout: 180_000 };
const NAMESPACE = "keepalived-operator";
const GV = { group: API_GROUP, version: API_VERSION, namespace: NAMESPACE, plural: PLURAL };

type Spec = Record<string, unknown>;
const group = (name: string, spec: Spec): object => ({
  apiVersion: `${API_GROUP}/${API_VERSION}`,
  kind: KIND,
  metadata: { name, namespace: NAMESPACE },
  spec,
});
const SEED_SPEC: Spec = {
  image: "registry.redhat.io/openshift4/ose-keepalived-ipfailover",
  interface: "ens3",
  nodeSelector: { "node-role.kubernetes.io/loadbalancer": "" },
  blacklistRouterIDs: [1, 2],
};

/** The HTTP code and message of the server's refusal. */
async function refusal(call: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const body = typeof err.body === "string" ? (JSON.parse(err.body) as { message?: string }) : {};
    return { code: err.code, message: body.message ?? "" };
  }
  assert.fail("the API server accepted the request");
}

async function eventually(check: () => Promise<void>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe("lab control plane", SLOW, () => {
  let cp: ControlPlane;
  let custom: CustomObjectsApi;

  before(async () => {
    cp = await startControlPlane();
    custom = cp.kubeConfig().makeApiClient(CustomObjectsApi);
    await cp
      .kubeConfig()
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: NAMESPACE } } });
  }, SLOW);
  after(async () => {
    await cp.stop();
  }, SLOW);

  test("the KeepalivedGroup CRD is Established and the seed group is accepted", async () => {
    const crd = await cp
      .kubeConfig()
      .makeApiClient(ApiextensionsV1Api)
      .readCustomResourceDefinition({ name: `${PLURAL}.${API_GROUP}` });
    assert.ok(crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True"));
    const created = (await custom.createNamespacedCustomObject({
      ...GV,
      body: group("keepalivedgroup-workers", SEED_SPEC),
    })) as { spec: Spec };
    assert.deepEqual(created.spec, SEED_SPEC);
  });

  const invalid: [string, Spec, RegExp][] = [
    [
      "interfaceFromIP not an IP",
      { interfaceFromIP: "not-an-ip" },
      /spec.interfaceFromIP must be an IPv4 or IPv6 address/,
    ],
    [
      "router ID 0",
      { interface: "ens3", blacklistRouterIDs: [0] },
      /spec.blacklistRouterIDs\[0\] in body should be greater than or equal to 1/,
    ],
    [
      "router ID 256",
      { interface: "ens3", blacklistRouterIDs: [256] },
      /spec.blacklistRouterIDs\[0\] in body should be less than or equal to 255/,
    ],
    [
      "router ID not a number",
      { interface: "ens3", blacklistRouterIDs: ["abc"] },
      /spec.blacklistRouterIDs\[0\]: Invalid value: "abc": spec.blacklistRouterIDs\[0\] in body should match/,
    ],
    [
      "routerIDRange.min above 255",
      { interface: "ens3", routerIDRange: { min: 300 } },
      /spec.routerIDRange.min in body should be less than or equal to 255/,
    ],
    [
      "unicastEnabled not a boolean",
      { interface: "ens3", unicastEnabled: "yes" },
      /spec.unicastEnabled in body must be of type boolean/,
    ],
    [
      "no interface",
      { image: "x" },
      /set spec.interface \(the NIC that carries the VIPs\) or spec.interfaceFromIP/,
    ],
    [
      "passwordAuth with VRRPv3",
      { interface: "ens3", passwordAuth: { secretRef: { name: "vrrp" } }, vrrp: { version: 3 } },
      /spec.passwordAuth needs VRRP version 2/,
    ],
  ];
  for (const [name, spec, message] of invalid) {
    test(`the server rejects a group with ${name}`, async () => {
      const { code, message: got } = await refusal(
        custom.createNamespacedCustomObject({ ...GV, body: group("bad", spec) }),
      );
      assert.equal(code, 422, got);
      assert.match(got, message);
    });
  }

  test("the server accepts router IDs written as digit strings", async () => {
    await custom.createNamespacedCustomObject({
      ...GV,
      body: group("string-ids", { interface: "ens3", blacklistRouterIDs: ["7", "255"] }),
    });
  });

  test("the server defaults passwordAuth.secretKey to password", async () => {
    const created = (await custom.createNamespacedCustomObject({
      ...GV,
      body: group("with-password", { interface: "ens3", passwordAuth: { secretRef: { name: "vrrp" } } }),
    })) as { spec: { passwordAuth: { secretKey?: string } } };
    assert.equal(created.spec.passwordAuth.secretKey, "password");
  });

  test("spec and status are written through separate endpoints", async () => {
    type Group = { spec: Spec; status?: Spec };
    const name = "status-split";
    await custom.createNamespacedCustomObject({ ...GV, body: group(name, { interface: "ens3" }) });

    const current = (await custom.getNamespacedCustomObject({ ...GV, name })) as Group;
    const afterStatus = (await custom.replaceNamespacedCustomObjectStatus({
      ...GV,
      name,
      body: { ...current, spec: { interface: "eth9" }, status: { nodes: 3, vips: 2 } },
    })) as Group;
    assert.deepEqual(afterStatus.status, { nodes: 3, vips: 2 });
    assert.deepEqual(afterStatus.spec, { interface: "ens3" }, "a /status update must not change spec");

    const afterSpec = (await custom.replaceNamespacedCustomObject({
      ...GV,
      name,
      body: { ...afterStatus, spec: { interface: "eth1" }, status: { nodes: 99 } },
    })) as Group;
    assert.deepEqual(afterSpec.spec, { interface: "eth1" });
    assert.deepEqual(
      afterSpec.status,
      { nodes: 3, vips: 2 },
      "a main-resource update must not change status",
    );
  });

  test("RBAC limits a ServiceAccount to what its Role allows", async () => {
    const admin = cp.kubeConfig();
    const core = admin.makeApiClient(CoreV1Api);
    const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
    await core.createNamespace({ body: { metadata: { name: "b" } } });
    const kubeconfig = await cp.mintServiceAccountKubeconfig("a", "reader");
    await rbac.createNamespacedRole({
      namespace: "a",
      body: {
        metadata: { name: "configmap-reader" },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: "a",
      body: {
        metadata: { name: "configmap-reader" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "configmap-reader" },
        subjects: [{ kind: "ServiceAccount", name: "reader", namespace: "a" }],
      },
    });
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const asReader = kc.makeApiClient(CoreV1Api);

    // The authorizer learns about new bindings from a watch, a moment after they are stored.
    await eventually(async () => {
      await asReader.listNamespacedConfigMap({ namespace: "a" });
    });
    const otherNamespace = await refusal(asReader.listNamespacedConfigMap({ namespace: "b" }));
    assert.equal(otherNamespace.code, 403);
    assert.match(
      otherNamespace.message,
      /system:serviceaccount:a:reader.*cannot list resource "configmaps".*"b"/,
    );
    const secrets = await refusal(asReader.listNamespacedSecret({ namespace: "a" }));
    assert.equal(secrets.code, 403);
    assert.match(secrets.message, /cannot list resource "secrets"/);
  });
});

test("start, stop, start, stop leaves no process and no directory behind", SLOW, async () => {
  for (let round = 0; round < 2; round++) {
    const cp = await startControlPlane();
    await cp.kubeConfig().makeApiClient(CoreV1Api).listNamespace();
    assert.ok(isAlive(cp.pids.etcd) && isAlive(cp.pids.kubeApiserver));
    await cp.stop();
    assert.equal(isAlive(cp.pids.etcd), false, `etcd (pid ${cp.pids.etcd}) still runs`);
    assert.equal(
      isAlive(cp.pids.kubeApiserver),
      false,
      `kube-apiserver (pid ${cp.pids.kubeApiserver}) still runs`,
    );
    assert.equal(existsSync(cp.dir), false, `${cp.dir} was not removed`);
  }
});

test("a kube-apiserver that exits during startup is reported with its log", SLOW, async () => {
  await assert.rejects(startControlPlane({ apiserverArgs: ["--no-such-flag"] }), (err: Error) => {
    assert.match(
      err.message,
      /^kube-apiserver exited with code 1 before \/readyz: .*unknown flag: --no-such-flag/s,
    );
    return true;
  });
});

test("a startup that outlasts its timeout fails and cleans up", SLOW, async () => {
  const dirsBefore = await readdir(tmpdir());
  await assert.rejects(
    startControlPlane({ startupTimeoutMs: 300 }),
    /not ready at https:\/\/127\.0\.0\.1:\d+\/readyz/,
  );
  const left = (await readdir(tmpdir())).filter(
    (d) => d.startsWith("kao-controlplane-") && !dirsBefore.includes(d),
  );
  assert.deepEqual(left, []);
});

describe("keepalived-operator controlplane up/down", SLOW, () => {
  let stateDir: string;
  const cli = async (...args: string[]): Promise<{ stdout: string; stderr: string }> =>
    execFileP(
      process.execPath,
      [join(repoRoot(), "bin", "keepalived-operator.js"), "controlplane", ...args],
      {
        env: { ...process.env, KAO_STATE_DIR: stateDir },
      },
    );
  const lastLine = (s: string): string => s.trimEnd().split("\n").at(-1) ?? "";

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "kao-state-"));
  });
  after(async () => {
    // Detached processes outlive this test process: always bring them down.
    await cli("down");
    await rm(stateDir, { recursive: true, force: true });
  }, SLOW);

  test("up prints a working kubeconfig, up again reuses it, down removes everything", SLOW, async () => {
    const first = await cli("up");
    const kubeconfig = lastLine(first.stdout);
    assert.ok(existsSync(kubeconfig), `last stdout line is not a file: ${first.stdout}`);
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const names = (await kc.makeApiClient(CoreV1Api).listNamespace()).items.map((n) => n.metadata?.name);
    assert.ok(names.includes("kube-system"));

    const second = await cli("up");
    assert.equal(lastLine(second.stdout), kubeconfig);
    assert.match(second.stderr, /already running/);

    const state = JSON.parse((await execFileP("cat", [join(stateDir, "controlplane.json")])).stdout) as {
      dir: string;
      pids: { etcd: number; kubeApiserver: number };
    };
    const down = await cli("down");
    assert.match(down.stderr, /stopped/);
    assert.equal(isAlive(state.pids.etcd), false);
    assert.equal(isAlive(state.pids.kubeApiserver), false);
    assert.equal(existsSync(state.dir), false);
    assert.equal(existsSync(join(stateDir, "controlplane.json")), false);
    assert.match((await cli("down")).stderr, /no control plane running/);
  });
});
