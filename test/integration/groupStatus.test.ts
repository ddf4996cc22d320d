// A group's status on a real API server when the group has no VRRP instance left: the last Service deleted,
// or every router ID unusable. The status write must pass the CRD schema (an empty status.routerIDs once
// came out as null through server-side apply and was refused with a 422, leaving "Ready, 1 VIP" behind).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { GROUP_ANNOTATION } from "../../src/api/names.js";
import type { KeepalivedGroupStatus } from "../../src/api/types.js";
import { planCluster } from "../../src/core/plan.js";
import { startControlPlane, type ControlPlane } from "../../src/lab/controlplane.js";
import { applyManifest } from "../../src/kube/apply.js";
import { groupStatus } from "../../src/render/objects.js";
import {
  adminClient,
  apply,
  applyFile,
  del,
  eventually,
  get,
  startController,
  type ControllerProcess,
  type KubeClient,
} from "../support/kube.js";

const NS = "keepalived-operator";
const GROUP = {
  apiVersion: "redhatcop.redhat.io/v1alpha1",
  kind: "KeepalivedGroup",
  metadata: { name: "edge", namespace: NS },
};
const SPEC = { interface: "eth0", nodeSelector: { lb: "yes" }, allowedCIDRs: ["198.18.40.0/24"] };

interface Group {
  metadata: { generation: number };
  status?: KeepalivedGroupStatus;
}

function service(name: string, ip: string) {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "demo", annotations: { [GROUP_ANNOTATION]: `${NS}/edge` } },
    spec: { type: "LoadBalancer", externalIPs: [ip], ports: [{ protocol: "TCP", port: 80, targetPort: 80 }] },
  };
}

const ready = (g: Group | undefined) => g?.status?.conditions?.find((c) => c.type === "Ready");

describe("group status with no VRRP instance, on a real API server", { timeout: 300_000 }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  let controller: ControllerProcess | undefined;

  before(async () => {
    cp = await startControlPlane();
    admin = adminClient(cp);
    for (const ns of [NS, "demo"])
      await apply(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    const node = { apiVersion: "v1", kind: "Node", metadata: { name: "n1", labels: { lb: "yes" } } };
    await apply(admin, node);
    await apply(
      admin,
      { ...node, status: { addresses: [{ type: "InternalIP", address: "198.18.40.11" }] } },
      "status",
    );
  });
  after(async () => {
    await controller?.kill();
    await cp.stop();
  });

  it("the schema refuses wrongly typed selectors and an out-of-range quota, and takes a valid quota", async () => {
    const pool = (serviceSelector: unknown) => ({
      interface: "eth0",
      addressPools: [{ name: "p", addresses: ["198.18.41.0/28"], serviceSelector }],
    });
    const refused: [string, unknown][] = [
      ["matchExpressions: 5", pool({ matchExpressions: 5 })],
      ["matchExpressions: [null]", pool({ matchExpressions: [null] })],
      ["values: 5", pool({ matchExpressions: [{ key: "a", operator: "In", values: 5 }] })],
      ["a wrong operator", pool({ matchExpressions: [{ key: "a", operator: "Near" }] })],
      ["matchLabels: [a]", pool({ matchLabels: ["a"] })],
      ["a quota of 300", { interface: "eth0", dedicatedInstancesPerNamespace: 300 }],
    ];
    for (const [what, spec] of refused) {
      await assert.rejects(
        apply(admin, { ...GROUP, metadata: { ...GROUP.metadata, name: "schema" }, spec }),
        /\b(422|500)\b/, // server-side apply answers a list given as a number with 500
        what,
      );
    }
    await apply(admin, {
      ...GROUP,
      metadata: { ...GROUP.metadata, name: "schema" },
      spec: {
        ...pool({ matchExpressions: [{ key: "team", operator: "In", values: ["a"] }] }),
        dedicatedInstancesPerNamespace: 4,
      },
    });
  });

  it("groupStatus of a group with instances, then of one without, both pass the schema", async () => {
    const group = { ...GROUP, metadata: { ...GROUP.metadata, name: "direct" }, spec: SPEC };
    await apply(admin, group);
    const plan = (services: ReturnType<typeof service>[]) =>
      planCluster({
        groups: [{ ...group, metadata: { ...group.metadata, creationTimestamp: "2024-01-01T00:00:00Z" } }],
        services: services.map((s) => ({
          ...s,
          metadata: { ...s.metadata, annotations: { [GROUP_ANNOTATION]: `${NS}/direct` } },
        })),
        nodes: [{ metadata: { name: "n1", labels: { lb: "yes" } } }],
      }).groups[0]!;
    const write = (status: KeepalivedGroupStatus) =>
      applyManifest(admin, { ...GROUP, metadata: group.metadata, status }, "keepalived-operator", "status");
    const full = groupStatus(plan([service("a", "198.18.40.5")]), undefined, "2024-01-01T00:00:00Z");
    assert.equal(Object.keys(full.routerIDs ?? {}).length, 1);
    await write(full);
    const empty = groupStatus(plan([]), full, "2024-01-01T00:00:01Z");
    assert.equal(empty.routerIDs, undefined, "an empty routerIDs map is left out");
    await write(empty);
    const stored = await get<Group>(admin, group);
    assert.equal(stored?.status?.vips, 0);
    assert.equal(stored.status.routerIDs, undefined);
  });

  it("the controller: last Service deleted, then every router ID unusable → status says 0 VIPs", async () => {
    await apply(admin, { ...GROUP, spec: SPEC });
    const sa = await cp.mintServiceAccountKubeconfig(NS, "keepalived-operator");
    await applyFile(admin, "deploy/rbac/controller.yaml");
    controller = await startController(sa, "replica-a");
    await apply(admin, service("web", "198.18.40.7"));
    await eventually("1 VIP with a router ID", async () => {
      const g = await get<Group>(admin, GROUP);
      return g?.status?.vips === 1 && Object.keys(g.status.routerIDs ?? {}).length > 0 ? g : undefined;
    });
    await del(admin, service("web", ""));
    const gone = await eventually("0 VIPs after the last Service is deleted", async () => {
      const g = await get<Group>(admin, GROUP);
      return g?.status?.vips === 0 ? g : undefined;
    });
    assert.equal(gone.status?.routerIDs, undefined);
    assert.match(ready(gone)?.message ?? "", /^0 VIP\(s\)/);

    // Every router ID of the range blacklisted: the Service has no instance, and the status says why.
    await apply(admin, {
      ...GROUP,
      spec: { ...SPEC, routerIDRange: { min: 9, max: 9 }, blacklistRouterIDs: [9] },
    });
    await apply(admin, service("api", "198.18.40.8"));
    const exhausted = await eventually("RouterIDsExhausted in the status", async () => {
      const g = await get<Group>(admin, GROUP);
      return ready(g)?.reason === "RouterIDsExhausted" &&
        g?.status?.observedGeneration === g?.metadata.generation
        ? g
        : undefined;
    });
    assert.equal(exhausted.status?.vips, 0);
    assert.equal(exhausted.status.routerIDs, undefined);
    const refused = controller.logs.filter((l) => l.includes("KeepalivedGroup") && /\b422\b/.test(l));
    assert.deepEqual(refused, [], "no group status write was refused");
  });
});
