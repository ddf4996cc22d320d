// Events on the real API server, through the controller's own RBAC: one tenant's 15,000 bogus verbatimconfig
// keys make a handful of Events (aggregated and spam-filtered like client-go's EventCorrelator) and do not
// hold up another tenant's Service; a problem that comes back updates its Event's count (a PATCH).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { GROUP_ANNOTATION, VERBATIM_CONFIG_ANNOTATION } from "../../src/api/names.js";
import { EVENT_POLICY } from "../../src/controller/eventCorrelator.js";
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

interface Event {
  metadata: { name: string };
  reason: string;
  message: string;
  count?: number;
  involvedObject: { name: string };
}

function lb(
  ns: string,
  name: string,
  extra: { annotations?: Record<string, string>; externalIPs?: string[] } = {},
) {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name,
      namespace: ns,
      annotations: { [GROUP_ANNOTATION]: "keepalived-operator/edge", ...extra.annotations },
    },
    spec: {
      type: "LoadBalancer",
      ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 80 }],
      ...(extra.externalIPs === undefined ? {} : { externalIPs: extra.externalIPs }),
    },
  };
}

async function ingress(client: KubeClient, ns: string, name: string): Promise<string | undefined> {
  const s = await get<{ status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }>(client, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: ns },
  });
  return s?.status?.loadBalancer?.ingress?.[0]?.ip;
}

async function eventsOn(client: KubeClient, ns: string, name: string): Promise<Event[]> {
  const list = await client.request<{ items: Event[] }>("GET", `/api/v1/namespaces/${ns}/events`);
  return list.items.filter((e) => e.involvedObject.name === name);
}

describe("Events on a real API server", { timeout: 600_000 }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  let controller: ControllerProcess | undefined;

  before(async () => {
    cp = await startControlPlane();
    admin = adminClient(cp);
    for (const ns of ["keepalived-operator", "tenant-a", "tenant-b"])
      await apply(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    await applyFile(admin, "deploy/rbac/controller.yaml");
    const kubeconfig = await cp.mintServiceAccountKubeconfig("keepalived-operator", "keepalived-operator");
    for (const n of ["lb-1", "lb-2"])
      await apply(admin, { apiVersion: "v1", kind: "Node", metadata: { name: n, labels: { edge: "true" } } });
    await apply(admin, {
      apiVersion: "redhatcop.redhat.io/v1alpha1",
      kind: "KeepalivedGroup",
      metadata: { name: "edge", namespace: "keepalived-operator" },
      spec: {
        interface: "eth0",
        nodeSelector: { edge: "true" },
        addressPools: [{ name: "main", addresses: ["198.18.50.0/24"] }],
        allowedCIDRs: ["198.18.51.0/24"],
      },
    });
    controller = await startController(kubeconfig, "events-a");
    await apply(admin, lb("tenant-b", "baseline"));
    await eventually("baseline ingress", () => ingress(admin, "tenant-b", "baseline"));
  });
  after(async () => {
    if (process.env.KAO_DEBUG === "1") console.log(controller?.logs.slice(-30).join("\n"));
    await controller?.kill();
    await cp.stop();
  });

  it("15,000 bogus verbatimconfig keys: a bounded number of Events; another tenant's Service is not held up", async () => {
    const c = controller!;
    const bogus = JSON.stringify(Object.fromEntries(Array.from({ length: 15_000 }, (_, i) => [`k${i}`, ""])));
    const reconcilesBefore = metricValue(await c.metrics(), "keepalived_operator_reconciles_total");
    await apply(admin, lb("tenant-a", "storm", { annotations: { [VERBATIM_CONFIG_ANNOTATION]: bogus } }));
    const t0 = performance.now();
    await apply(admin, lb("tenant-b", "victim"));
    await eventually("the other tenant's ingress", () => ingress(admin, "tenant-b", "victim"), 120_000, 10);
    const waited = performance.now() - t0;
    const reconciles =
      metricValue(await c.metrics(), "keepalived_operator_reconciles_total") - reconcilesBefore;
    // Several more passes decide the same 15,000 problems again.
    for (let i = 0; i < 5; i++) {
      await apply(admin, lb("tenant-b", `nudge-${i}`));
      await eventually(`nudge-${i} ingress`, () => ingress(admin, "tenant-b", `nudge-${i}`));
    }
    const storm = await eventually("the storm's Events", async () => {
      const list = await eventsOn(admin, "tenant-a", "storm");
      return list.some((e) => e.message.startsWith("(combined from similar events)")) ? list : undefined;
    });
    const metrics = await c.metrics();
    console.log(
      `15,000 bogus keys: ${storm.length} Events (counts ${storm.map((e) => e.count ?? 1).join(", ")}); ` +
        `other tenant's Service published after ${waited.toFixed(0)} ms (${reconciles} reconciles finished meanwhile, ` +
        `${((1000 * metricValue(metrics, "keepalived_operator_reconcile_duration_seconds_sum")) / metricValue(metrics, "keepalived_operator_reconcile_duration_seconds_count")).toFixed(0)} ms each on average); ` +
        `${metricValue(metrics, "keepalived_operator_events_suppressed_total")} Event writes held back`,
    );
    assert.ok(storm.length <= EVENT_POLICY.burst, `${storm.length} Events on the storm Service`);
    assert.ok(storm.every((e) => e.reason === "RejectedVerbatimConfig" || e.reason === "VIPAssigned"));
    assert.ok(await ingress(admin, "tenant-a", "storm"), "the storm Service itself is still announced");
  });

  it("a problem that comes back updates its Event's count instead of making a new Event", async () => {
    const owner = lb("tenant-b", "owner", { externalIPs: ["198.18.51.10"] });
    await apply(admin, owner);
    await eventually("owner ingress", () => ingress(admin, "tenant-b", "owner"));
    const thief = lb("tenant-a", "thief", { externalIPs: ["198.18.51.10"] });
    const clean = lb("tenant-a", "thief");
    const ipInUse = async (count: number): Promise<Event[]> =>
      eventually(`IPInUse count ${count}`, async () => {
        const list = (await eventsOn(admin, "tenant-a", "thief")).filter((e) => e.reason === "IPInUse");
        return list.some((e) => (e.count ?? 1) === count) ? list : undefined;
      });
    await apply(admin, thief);
    const first = await ipInUse(1);
    for (const round of [2, 3]) {
      await apply(admin, clean);
      await eventually("problem gone", async () =>
        (await ingress(admin, "tenant-a", "thief")) ? true : undefined,
      );
      await apply(admin, thief);
      const now = await ipInUse(round);
      assert.deepEqual(
        now.map((e) => e.metadata.name),
        first.map((e) => e.metadata.name),
        "one Event, patched",
      );
    }
    await del(admin, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "thief", namespace: "tenant-a" },
    });
  });
});
