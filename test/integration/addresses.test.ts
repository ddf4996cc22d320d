// Address management on the real API server: pool allocation written to Service status, stability over
// controller restarts, OpenShift's Network policy, and policy refusals as Events.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  GROUP_ANNOTATION,
  LOAD_BALANCER_IPS_ANNOTATION,
  SHARING_KEY_ANNOTATION,
} from "../../src/api/names.js";
import { startControlPlane, type ControlPlane } from "../../src/lab/controlplane.js";
import {
  adminClient,
  apply,
  applyFile,
  eventually,
  get,
  startController,
  type ControllerProcess,
  type KubeClient,
} from "../support/kube.js";
import { readGroupPlans } from "../support/nodePlans.js";

interface Service {
  metadata: { managedFields?: { manager: string; subresource?: string }[] };
  status?: { loadBalancer?: { ingress?: { ip?: string; ipMode?: string }[] } };
}
interface EventList {
  items: { type: string; reason: string; message: string; involvedObject: { name: string } }[];
}

function lb(
  name: string,
  extra: {
    annotations?: Record<string, string>;
    externalIPs?: string[];
    ports?: number[];
    type?: string;
  } = {},
) {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name,
      namespace: "apps",
      annotations: { [GROUP_ANNOTATION]: "keepalived-operator/edge", ...extra.annotations },
    },
    spec: {
      type: extra.type ?? "LoadBalancer",
      ports: (extra.ports ?? [80]).map((port) => ({
        name: `p${port}`,
        protocol: "TCP",
        port,
        targetPort: port,
      })),
      ...(extra.externalIPs === undefined ? {} : { externalIPs: extra.externalIPs }),
    },
  };
}

async function ingress(client: KubeClient, name: string): Promise<string[]> {
  const s = await get<Service>(client, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "apps" },
  });
  return (s?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? "");
}

async function event(
  client: KubeClient,
  name: string,
  reason: string,
): Promise<EventList["items"][number] | undefined> {
  const list = await client.request<EventList>("GET", "/api/v1/namespaces/apps/events");
  return list.items.find((e) => e.involvedObject.name === name && e.reason === reason);
}

describe("address pools and the VIP security policy on a real API server", { timeout: 600_000 }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  let kubeconfig: string;
  let controller: ControllerProcess | undefined;

  before(async () => {
    cp = await startControlPlane();
    admin = adminClient(cp);
    await applyFile(admin, "test/fixtures/controller/openshift-network-crd.yaml");
    await eventually("Network CRD served", async () => {
      await admin.request("GET", "/apis/config.openshift.io/v1/networks");
      return true;
    });
    await apply(admin, {
      apiVersion: "config.openshift.io/v1",
      kind: "Network",
      metadata: { name: "cluster" },
      spec: {
        externalIP: {
          policy: { allowedCIDRs: ["198.18.40.0/24"], rejectedCIDRs: ["198.18.40.128/25"] },
          autoAssignCIDRs: ["198.18.41.0/24"],
        },
      },
    });
    for (const ns of ["keepalived-operator", "apps"])
      await apply(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    await applyFile(admin, "deploy/rbac/controller.yaml");
    kubeconfig = await cp.mintServiceAccountKubeconfig("keepalived-operator", "keepalived-operator");
    for (const n of ["lb-1", "lb-2"])
      await apply(admin, { apiVersion: "v1", kind: "Node", metadata: { name: n, labels: { edge: "true" } } });
    await apply(admin, {
      apiVersion: "redhatcop.redhat.io/v1alpha1",
      kind: "KeepalivedGroup",
      metadata: { name: "edge", namespace: "keepalived-operator" },
      spec: {
        interface: "eth0",
        nodeSelector: { edge: "true" },
        addressPools: [{ name: "main", addresses: ["198.18.30.0/28"] }],
      },
    });
    controller = await startController(kubeconfig, "addresses-a");
  });
  after(async () => {
    if (process.env.KAO_DEBUG === "1") console.log(controller?.logs.slice(-30).join("\n"));
    await controller?.kill();
    await cp.stop();
  });

  it("a LoadBalancer Service gets the lowest free pool address in its status, written by the operator", async () => {
    await apply(admin, lb("web"));
    const ips = await eventually("ingress", async () =>
      (await ingress(admin, "web")).length > 0 ? ingress(admin, "web") : undefined,
    );
    assert.deepEqual(ips, ["198.18.30.1"]);
    const s = await get<Service>(admin, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: "apps" },
    });
    assert.ok(
      s?.metadata.managedFields?.some(
        (m) => m.manager === "keepalived-operator" && m.subresource === "status",
      ),
    );
    const group = await eventually("pool usage in status", async () => {
      const g = await get<{ status?: { addressPools?: { name: string; used: number; size: string }[] } }>(
        admin,
        {
          apiVersion: "redhatcop.redhat.io/v1alpha1",
          kind: "KeepalivedGroup",
          metadata: { name: "edge", namespace: "keepalived-operator" },
        },
      );
      return g?.status?.addressPools?.[0]?.used === 1 ? g : undefined;
    });
    assert.deepEqual(group.status?.addressPools, [{ name: "main", size: "14", used: 1 }]);
  });

  it("requests, sharing and exhaustion", async () => {
    await apply(admin, lb("asked", { annotations: { [LOAD_BALANCER_IPS_ANNOTATION]: "198.18.30.9" } }));
    await apply(admin, lb("dns-udp", { annotations: { [SHARING_KEY_ANNOTATION]: "dns" }, ports: [53] }));
    await apply(admin, lb("dns-tcp", { annotations: { [SHARING_KEY_ANNOTATION]: "dns" }, ports: [853] }));
    assert.deepEqual(
      await eventually("asked", async () =>
        (await ingress(admin, "asked")).length > 0 ? ingress(admin, "asked") : undefined,
      ),
      ["198.18.30.9"],
    );
    const udp = await eventually("dns-udp", async () =>
      (await ingress(admin, "dns-udp")).length > 0 ? ingress(admin, "dns-udp") : undefined,
    );
    const tcp = await eventually("dns-tcp", async () =>
      (await ingress(admin, "dns-tcp")).length > 0 ? ingress(admin, "dns-tcp") : undefined,
    );
    assert.deepEqual(udp, tcp, "the two DNS Services share one IP");
    for (let i = 0; i < 12; i++) await apply(admin, lb(`fill-${i}`));
    // Twelve Services for eleven free addresses: the newest (ties: by name) goes without, with a Warning.
    const ev = await eventually("NoAddressAvailable", async () => {
      const list = await admin.request<EventList>("GET", "/api/v1/namespaces/apps/events");
      return list.items.find(
        (e) => e.involvedObject.name.startsWith("fill-") && e.reason === "NoAddressAvailable",
      );
    });
    const served = await Promise.all(Array.from({ length: 12 }, (_, i) => ingress(admin, `fill-${i}`)));
    assert.equal(served.filter((ips) => ips.length === 1).length, 11);
    assert.equal(ev.type, "Warning");
    assert.match(ev.message, /no free ipv4 address/);
    assert.deepEqual(await ingress(admin, "web"), ["198.18.30.1"], "others are untouched");
  });

  it("externalIPs: allowed by OpenShift's policy, refused when rejected or outside every range, with Events", async () => {
    await apply(admin, lb("ext-ok", { type: "ClusterIP", externalIPs: ["198.18.40.10", "198.18.41.10"] }));
    await apply(admin, lb("ext-rejected", { type: "ClusterIP", externalIPs: ["198.18.40.200"] }));
    await apply(admin, lb("ext-hijack", { type: "ClusterIP", externalIPs: ["198.18.99.1"] }));
    const plan = async (): Promise<string> =>
      JSON.stringify(
        [...(await readGroupPlans(admin, "keepalived-operator", "edge")).byNode.values()].map((p) => p.plan),
      );
    await eventually("allowed externalIPs announced", async () =>
      (await plan()).includes("198.18.40.10") && (await plan()).includes("198.18.41.10") ? true : undefined,
    );
    const rejected = await eventually("rejected Event", () =>
      event(admin, "ext-rejected", "OutsideAllowedRanges"),
    );
    assert.match(rejected.message, /198\.18\.40\.200 is outside/);
    const hijack = await eventually("hijack Event", () => event(admin, "ext-hijack", "OutsideAllowedRanges"));
    assert.match(hijack.message, /ask a cluster administrator to add it to spec\.allowedCIDRs/);
    const text = await plan();
    assert.ok(
      !text.includes("198.18.40.200") && !text.includes("198.18.99.1"),
      "refused IPs are not announced",
    );
  });

  it("no address moves over 20 controller restarts", async () => {
    const names = [
      "web",
      "asked",
      "dns-udp",
      "dns-tcp",
      ...Array.from({ length: 11 }, (_, i) => `fill-${i}`),
    ];
    const before = Object.fromEntries(
      await Promise.all(names.map(async (n) => [n, (await ingress(admin, n)).join(",")] as const)),
    );
    for (let round = 0; round < 20; round++) {
      await controller?.kill("SIGKILL");
      controller = await startController(kubeconfig, `addresses-${round}`);
      // A new Service each round forces a full reconcile by the new leader.
      await apply(admin, lb(`probe-${round}`, { type: "ClusterIP", externalIPs: ["198.18.40.20"] }));
      await eventually(
        `round ${round} reconciled`,
        () => event(admin, `probe-${round}`, round === 0 ? "VIPAssigned" : "IPInUse"),
        30_000,
      );
      for (const n of names)
        assert.equal((await ingress(admin, n)).join(","), before[n], `round ${round}: ${n} kept its address`);
    }
  });
});
