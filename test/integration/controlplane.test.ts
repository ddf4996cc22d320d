// The lab control plane is a real etcd + kube-apiserver: the CRD's schema, status subresource and RBAC behave
// as in a cluster, and starting and stopping leaves nothing behind.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { API_GROUP, API_VERSION, KIND, PLURAL } from "../../src/api/names.js";
import { ApiError, KubeClient, loadKubeConfig } from "../../src/kube/rest.js";
import { startControlPlane, type ControlPlane } from "../../src/lab/controlplane.js";
import { freePort, isAlive, repoRoot } from "../../src/lab/processes.js";
import { eventually } from "../support/kube.js";

const execFileP = promisify(execFile);
const SLOW = { timeout: 180_000 };
const NAMESPACE = "keepalived-operator";
const GROUPS = `/apis/${API_GROUP}/${API_VERSION}/namespaces/${NAMESPACE}/${PLURAL}`;

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
    if (!(err instanceof ApiError)) throw err;
    return { code: err.status, message: err.message };
  }
  assert.fail("the API server accepted the request");
}

const create = <T = unknown>(client: KubeClient, body: object): Promise<T> =>
  client.request<T>("POST", GROUPS, { body });

describe("lab control plane", SLOW, () => {
  let cp: ControlPlane;
  let admin: KubeClient;

  before(async () => {
    cp = await startControlPlane();
    admin = cp.client();
    await admin.request("POST", "/api/v1/namespaces", { body: { metadata: { name: NAMESPACE } } });
  }, SLOW);
  after(async () => {
    await cp.stop();
  }, SLOW);

  test("the KeepalivedGroup CRD is Established and the seed group is accepted", async () => {
    const crd = await admin.request<{ status?: { conditions?: { type: string; status: string }[] } }>(
      "GET",
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${PLURAL}.${API_GROUP}`,
    );
    assert.ok(crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True"));
    const created = await create<{ spec: Spec }>(admin, group("keepalivedgroup-workers", SEED_SPEC));
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
      const { code, message: got } = await refusal(create(admin, group("bad", spec)));
      assert.equal(code, 422, got);
      assert.match(got, message);
    });
  }

  test("the server accepts router IDs written as digit strings", async () => {
    await create(admin, group("string-ids", { interface: "ens3", blacklistRouterIDs: ["7", "255"] }));
  });

  test("the server defaults passwordAuth.secretKey to password", async () => {
    const created = await create<{ spec: { passwordAuth: { secretKey?: string } } }>(
      admin,
      group("with-password", { interface: "ens3", passwordAuth: { secretRef: { name: "vrrp" } } }),
    );
    assert.equal(created.spec.passwordAuth.secretKey, "password");
  });

  test("spec and status are written through separate endpoints", async () => {
    type Group = { spec: Spec; status?: Spec };
    const name = "status-split";
    await create(admin, group(name, { interface: "ens3" }));

    const current = await admin.request<Group>("GET", `${GROUPS}/${name}`);
    const afterStatus = await admin.request<Group>("PUT", `${GROUPS}/${name}/status`, {
      body: { ...current, spec: { interface: "eth9" }, status: { nodes: 3, vips: 2 } },
    });
    assert.deepEqual(afterStatus.status, { nodes: 3, vips: 2 });
    assert.deepEqual(afterStatus.spec, { interface: "ens3" }, "a /status update must not change spec");

    const afterSpec = await admin.request<Group>("PUT", `${GROUPS}/${name}`, {
      body: { ...afterStatus, spec: { interface: "eth1" }, status: { nodes: 99 } },
    });
    assert.deepEqual(afterSpec.spec, { interface: "eth1" });
    assert.deepEqual(
      afterSpec.status,
      { nodes: 3, vips: 2 },
      "a main-resource update must not change status",
    );
  });

  test("RBAC limits a ServiceAccount to what its Role allows", async () => {
    const rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/a";
    await admin.request("POST", "/api/v1/namespaces", { body: { metadata: { name: "b" } } });
    const kubeconfig = await cp.mintServiceAccountKubeconfig("a", "reader");
    await admin.request("POST", `${rbac}/roles`, {
      body: {
        metadata: { name: "configmap-reader" },
        rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list"] }],
      },
    });
    await admin.request("POST", `${rbac}/rolebindings`, {
      body: {
        metadata: { name: "configmap-reader" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "configmap-reader" },
        subjects: [{ kind: "ServiceAccount", name: "reader", namespace: "a" }],
      },
    });
    const asReader = KubeClient.fromKubeConfig(loadKubeConfig(kubeconfig));
    const list = (namespace: string, resource: string): Promise<unknown> =>
      asReader.request("GET", `/api/v1/namespaces/${namespace}/${resource}`);

    // The authorizer learns about new bindings from a watch, a moment after they are stored.
    await eventually("the reader's RoleBinding to take effect", () => list("a", "configmaps"), 15_000, 200);
    const otherNamespace = await refusal(list("b", "configmaps"));
    assert.equal(otherNamespace.code, 403);
    assert.match(
      otherNamespace.message,
      /system:serviceaccount:a:reader.*cannot list resource "configmaps".*"b"/,
    );
    const secrets = await refusal(list("a", "secrets"));
    assert.equal(secrets.code, 403);
    assert.match(secrets.message, /cannot list resource "secrets"/);
  });
});

test("start, stop, start, stop leaves no process and no directory behind", SLOW, async () => {
  for (let round = 0; round < 2; round++) {
    const cp = await startControlPlane();
    await cp.client().request("GET", "/api/v1/namespaces");
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

test("free ports lie below the kernel's ephemeral range and are never handed out twice", async () => {
  const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
  const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()));
  assert.equal(new Set(ports).size, ports.length, `a port was handed out twice: ${ports.join(" ")}`);
  for (const port of ports) assert.ok(port >= 10_000 && port < low, `${port} is not in [10000, ${low})`);
});

test("a port lost to another process is retried on new ports, then reported", SLOW, async () => {
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
  const address = taken.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  const said: string[] = [];
  try {
    // The flag after ours wins: every attempt's API server binds the taken port.
    await assert.rejects(
      startControlPlane({ apiserverArgs: [`--secure-port=${port}`], log: (l) => said.push(l) }),
      /kube-apiserver exited with code 1 before \/readyz: .*address already in use/s,
    );
  } finally {
    taken.close();
  }
  assert.equal(said.filter((l) => l.includes("starting again on new ports")).length, 2, said.join("\n"));
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
    const namespaces = await KubeClient.fromKubeConfig(loadKubeConfig(kubeconfig)).request<{
      items: { metadata: { name: string } }[];
    }>("GET", "/api/v1/namespaces");
    const names = namespaces.items.map((n) => n.metadata.name);
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
