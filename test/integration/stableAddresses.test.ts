// A published IP never changes while its Service exists, on the real API server: 200 Services created in
// parallel, controller restarts, an invalid group, and the deletion of an older Service. A watch records
// every ingress value each Service ever had (an invariant counted over the whole history, not sampled).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { GROUP_ANNOTATION } from "../../src/api/names.js";
import { startControlPlane, type ControlPlane } from "../../src/lab/controlplane.js";
import {
  adminClient,
  apply,
  applyFile,
  del,
  eventually,
  get,
  metricValue,
  startController,
  type ControllerProcess,
  type KubeClient,
} from "../support/kube.js";

const NS = "stable";
const GROUP = {
  apiVersion: "redhatcop.redhat.io/v1alpha1",
  kind: "KeepalivedGroup",
  metadata: { name: "edge", namespace: "keepalived-operator" },
};
const SPEC = {
  interface: "eth0",
  nodeSelector: { edge: "true" },
  addressPools: [{ name: "main", addresses: ["198.18.40.0/23"] }],
};

interface Service {
  metadata: { name: string; resourceVersion: string };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

function lb(name: string) {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: NS, annotations: { [GROUP_ANNOTATION]: "keepalived-operator/edge" } },
    spec: { type: "LoadBalancer", ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 80 }] },
  };
}

const ingressText = (s: Service): string =>
  (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? "").join(",");

/** Every ingress value of every Service of the namespace, in order, from a list and a watch kept running. */
class IngressHistory {
  private readonly ac = new AbortController();
  /** Service → its ingress values, consecutive duplicates dropped ("" is no ingress). */
  readonly values = new Map<string, string[]>();
  readonly deleted = new Set<string>();
  events = 0;

  constructor(private readonly client: KubeClient) {}

  start(): Promise<void> {
    const path = `/api/v1/namespaces/${NS}/services`;
    return this.client
      .request<{ metadata: { resourceVersion: string }; items: Service[] }>("GET", path)
      .then((list) => {
        for (const s of list.items) this.record(s);
        void this.follow(path, list.metadata.resourceVersion);
      });
  }

  stop(): void {
    this.ac.abort();
  }

  private async follow(path: string, from: string): Promise<void> {
    let rv = from;
    while (!this.ac.signal.aborted) {
      await this.client
        .watch<Service>(
          path,
          { resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds: 300 },
          (e) => {
            if (e.type === "ERROR")
              throw new Error(`watch error ${e.object.code ?? 0}: the record has a gap`);
            rv = e.object.metadata.resourceVersion;
            if (e.type === "BOOKMARK") return;
            this.events++;
            if (e.type === "DELETED") this.deleted.add(e.object.metadata.name);
            else this.record(e.object);
          },
          this.ac.signal,
        )
        .catch((err: unknown) => {
          if (!this.ac.signal.aborted) throw err;
        });
    }
  }

  private record(s: Service): void {
    const seq = this.values.get(s.metadata.name) ?? [];
    const text = ingressText(s);
    if (seq.at(-1) !== text) seq.push(text);
    this.values.set(s.metadata.name, seq);
  }

  /** The current ingress of each live Service. */
  current(): Map<string, string> {
    return new Map(
      [...this.values].filter(([n]) => !this.deleted.has(n)).map(([n, seq]) => [n, seq.at(-1) ?? ""]),
    );
  }

  /** Services whose ingress changed or was cleared after it was first published, with their history. */
  changed(): string[] {
    return [...this.values].flatMap(([name, seq]) => {
      const published = seq.slice(seq.findIndex((t) => t !== ""));
      return seq.some((t) => t !== "") && published.length > 1 ? [`${name}: ${seq.join(" → ")}`] : [];
    });
  }
}

describe("published addresses never change, on a real API server", { timeout: 900_000 }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  let kubeconfig: string;
  let controller: ControllerProcess | undefined;
  let history: IngressHistory;

  before(async () => {
    cp = await startControlPlane();
    admin = adminClient(cp);
    for (const ns of ["keepalived-operator", NS])
      await apply(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    await applyFile(admin, "deploy/rbac/controller.yaml");
    kubeconfig = await cp.mintServiceAccountKubeconfig("keepalived-operator", "keepalived-operator");
    for (const n of ["lb-1", "lb-2"])
      await apply(admin, { apiVersion: "v1", kind: "Node", metadata: { name: n, labels: { edge: "true" } } });
    await apply(admin, { ...GROUP, spec: SPEC });
    history = new IngressHistory(admin);
    await history.start();
    controller = await startController(kubeconfig, "stable-0");
  });
  after(async () => {
    history.stop();
    if (process.env.KAO_DEBUG === "1") console.log(controller?.logs.slice(-40).join("\n"));
    await controller?.kill();
    await cp.stop();
  });

  const allPublished = (names: string[]): Promise<Map<string, string>> =>
    eventually(
      `ingress of ${names.length} Services`,
      () => {
        const now = history.current();
        return Promise.resolve(names.every((n) => (now.get(n) ?? "") !== "") ? now : undefined);
      },
      120_000,
      50,
    );

  it("200 Services created in parallel: each gets its own IP, and it never changes", async () => {
    const names = Array.from({ length: 200 }, (_, i) => `par-${String(i).padStart(3, "0")}`);
    await Promise.all(names.map((n) => apply(admin, lb(n))));
    const now = await allPublished(names);
    const ips = names.map((n) => now.get(n) ?? "");
    assert.equal(new Set(ips).size, 200, "200 distinct addresses");
    assert.deepEqual(history.changed(), []);
    console.log(`200 parallel creates: ${history.events} watch events recorded, 0 IP changes`);
  });

  it("8 controller restarts, with Services created in parallel while it is down: no published IP changes", async () => {
    for (let round = 1; round <= 8; round++) {
      await controller?.kill("SIGKILL");
      const names = Array.from({ length: 10 }, (_, i) => `r${round}-${i}`);
      await Promise.all(names.map((n) => apply(admin, lb(n))));
      controller = await startController(kubeconfig, `stable-${round}`);
      await allPublished(names);
      const c = controller;
      await eventually(`round ${round}: a reconcile done`, async () =>
        metricValue(await c.metrics(), "keepalived_operator_reconciles_total") > 0 ? true : undefined,
      );
      assert.deepEqual(history.changed(), [], `round ${round}`);
    }
    console.log(`${history.values.size} Services over 8 restarts: 0 IP changes`);
  });

  it("an invalid group keeps every EXTERNAL-IP; after an older Service is deleted and the fix, none shifts", async () => {
    const before = history.current();
    await apply(admin, { ...GROUP, spec: { ...SPEC, verbatimConfig: { notify_fifo_script: "/bin/sh" } } });
    await eventually("Ready=False", async () => {
      const g = await get<{ status?: { conditions?: { type: string; status: string }[] } }>(admin, GROUP);
      return g?.status?.conditions?.find((c) => c.type === "Ready")?.status === "False" ? true : undefined;
    });
    const warned = await eventually("a Warning on a Service", async () => {
      const list = await admin.request<{ items: { reason: string; involvedObject: { name: string } }[] }>(
        "GET",
        `/api/v1/namespaces/${NS}/events`,
      );
      return list.items.find((e) => e.reason === "GroupNotFound");
    });
    assert.ok(before.has(warned.involvedObject.name));
    const oldest = [...before].find(([, ip]) => ip === "198.18.40.1")?.[0] ?? "";
    assert.notEqual(oldest, "", "someone holds the pool's first address");
    await del(admin, { apiVersion: "v1", kind: "Service", metadata: { name: oldest, namespace: NS } });
    await apply(admin, { ...GROUP, spec: SPEC });
    await eventually("Ready again", async () => {
      const g = await get<{ status?: { conditions?: { type: string; status: string }[] } }>(admin, GROUP);
      return g?.status?.conditions?.find((c) => c.type === "Ready")?.status === "True" ? true : undefined;
    });
    await apply(admin, lb("after-fix"));
    const now = await allPublished(["after-fix"]);
    assert.equal(now.get("after-fix"), "198.18.40.1", "the freed address goes to the new Service");
    assert.deepEqual(history.changed(), [], "no EXTERNAL-IP was cleared or renumbered");
    for (const [name, ip] of before) if (name !== oldest) assert.equal(now.get(name), ip, name);
  });
});
