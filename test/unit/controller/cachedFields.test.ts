// What the controller's caches keep (controller/cachedFields.ts) plans and decides exactly as the whole
// objects do: every hostile-corpus case, its objects dressed as an API server serves them (managedFields,
// kubectl's last-applied copy, cluster IPs, conditions, images), plans the same through the transforms; a
// cluster with our, someone else's and no ingress decides the same actions; and what is dropped is counted.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isDeepStrictEqual } from "node:util";
import {
  cachedEndpointSlice,
  cachedNode,
  cachedObject,
  cachedService,
  cachedWrite,
} from "../../../src/controller/cachedFields.js";
import { decide } from "../../../src/controller/decide.js";
import type { WrittenObject } from "../../../src/controller/writer.js";
import { localEndpointNodes } from "../../../src/controller/snapshot.js";
import type { NodeObject } from "../../../src/core/objects.js";
import { planCluster } from "../../../src/core/plan.js";
import { ownsIngress, type ServiceWithManagedFields } from "../../../src/render/serviceStatus.js";
import { caseObjects, loadCases, loadWorld } from "../../hostile/corpus.js";
import { cluster, NOW, ours, service, theirs } from "./cluster.js";

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** What kubectl apply and a client's create leave in managedFields (the creator's whole spec, field by field). */
const CREATOR = {
  manager: "kubectl-client-side-apply",
  operation: "Update",
  apiVersion: "v1",
  time: "2025-01-01T00:00:00Z",
  fieldsType: "FieldsV1",
  fieldsV1: {
    "f:metadata": { "f:annotations": { ".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {} } },
    "f:spec": {
      "f:ports": { ".": {}, 'k:{"port":80,"protocol":"TCP"}': { ".": {}, "f:port": {}, "f:protocol": {} } },
      "f:sessionAffinity": {},
      "f:type": {},
    },
  },
};

/** The object dressed as the API server serves it; fields of the wrong type (hostile cases) are left as they are. */
function asServed(o: unknown, kind: "Service" | "Node" | "KeepalivedGroup", ownIngress = false): unknown {
  if (!isRecord(o)) return o;
  const served: Json = structuredClone(o);
  const meta = served.metadata;
  if (isRecord(meta)) {
    const managed = [CREATOR, ...(ownIngress ? [ours[0]] : [])];
    meta.managedFields = Array.isArray(meta.managedFields)
      ? [...managed, ...(meta.managedFields as [])]
      : managed;
    meta.resourceVersion ??= "12345";
    const annotations = meta.annotations;
    if (isRecord(annotations) || annotations === undefined)
      meta.annotations = {
        ...annotations,
        "kubectl.kubernetes.io/last-applied-configuration": JSON.stringify(o),
      };
  }
  const spec = served.spec;
  if (kind === "Service" && isRecord(spec))
    Object.assign(spec, { clusterIP: "10.96.0.10", clusterIPs: ["10.96.0.10"], sessionAffinity: "None" });
  if (kind === "Node" && isRecord(spec)) Object.assign(spec, { podCIDR: "10.244.0.0/24", taints: [] });
  const status = served.status;
  if (kind === "Node" && (isRecord(status) || status === undefined))
    served.status = {
      ...status,
      conditions: [{ type: "Ready", status: "True" }],
      images: [{ names: ["quay.io/x@sha256:0"], sizeBytes: 1 }],
      nodeInfo: { kubeletVersion: "v1.30.0" },
    };
  if (kind === "Service" && isRecord(status)) status.conditions = [];
  return served;
}

describe("the controller's caches keep what it reads", () => {
  const world = loadWorld();
  const cases = loadCases();

  it(`every hostile case (${cases.length}) plans the same through the transforms as whole`, () => {
    assert.ok(cases.length >= 200);
    const differ: string[] = [];
    for (const c of cases) {
      const objects = caseObjects(world, c);
      const full = {
        groups: objects.groups.map((g) => asServed(g, "KeepalivedGroup")),
        services: objects.services.map((s, i) => asServed(s, "Service", i % 2 === 0)),
        nodes: objects.nodes.map((n) => asServed(n, "Node")),
      } as unknown as Parameters<typeof planCluster>[0];
      const cached = {
        groups: full.groups.map(cachedObject),
        services: full.services.map((s) => cachedService(s as ServiceWithManagedFields)),
        nodes: full.nodes.map((n: NodeObject) => cachedNode(n)),
      };
      let same: boolean;
      try {
        same = isDeepStrictEqual(planCluster(full), planCluster(cached));
      } catch (err) {
        same = false;
        differ.push(`${c.id}: ${(err as Error).message}`);
        continue;
      }
      if (!same) differ.push(c.id);
    }
    assert.deepEqual(differ, []);
  });

  it("a cluster with our, someone else's and no ingress decides the same actions cached as whole", () => {
    const services = [
      service("mine", { externalIPs: ["198.18.6.10"], ingress: ["198.18.6.10"], managedFields: ours }),
      service("theirs", { externalIPs: ["198.18.6.11"], ingress: ["198.18.6.99"], managedFields: theirs }),
      service("new", { externalIPs: ["198.18.6.12"] }),
      service("gone", { type: "ClusterIP", ingress: ["198.18.6.13"], managedFields: ours }),
    ].map((s) => asServed(s, "Service") as ServiceWithManagedFields);
    const full = cluster({ services });
    const cached = { ...full, services: services.map(cachedService), nodes: full.nodes.map(cachedNode) };
    const seen = { nowMs: NOW, holders: undefined };
    const whole = decide(full, seen);
    assert.ok(whole.actions.length > 0);
    assert.deepEqual(decide(cached, seen).actions, whole.actions);
    assert.deepEqual(
      services.map((s) => ownsIngress(s)),
      services.map((s) => ownsIngress(cachedService(s))),
    );
  });

  it("drops managedFields (but ours), last-applied, unread spec and Node status; keeps resourceVersion", () => {
    const s = asServed(
      service("web", { externalIPs: ["198.18.6.10"], ingress: ["198.18.6.10"], managedFields: ours }),
      "Service",
    ) as ServiceWithManagedFields;
    const c = cachedService(s);
    assert.deepEqual(c.metadata.managedFields, ours);
    assert.equal(c.metadata.resourceVersion, "12345");
    assert.deepEqual(
      Object.keys(c.metadata.annotations ?? {}),
      Object.keys(s.metadata.annotations ?? {}).slice(0, -1),
    );
    assert.deepEqual(Object.keys(c.spec ?? {}), ["type", "externalIPs", "ports"]);
    assert.ok(JSON.stringify(c).length < JSON.stringify(s).length / 2, "less than half the text");
    const n = cachedNode(
      asServed({ metadata: { name: "n1" }, status: { addresses: [] } }, "Node") as NodeObject,
    );
    assert.deepEqual(n, {
      metadata: { name: "n1", resourceVersion: "12345", annotations: {} },
      status: { addresses: [] },
    });
  });

  it("an EndpointSlice keeps each endpoint's node and readiness: the same local nodes", () => {
    const slice = {
      metadata: { name: "web-x", namespace: "demo", labels: { "kubernetes.io/service-name": "web" } },
      addressType: "IPv4",
      ports: [{ port: 80 }],
      endpoints: [
        {
          addresses: ["10.0.0.1"],
          nodeName: "n1",
          conditions: { ready: true, serving: true },
          targetRef: {},
        },
        { addresses: ["10.0.0.2"], nodeName: "n2", conditions: { ready: false } },
        { addresses: ["10.0.0.3"], nodeName: "n3" },
      ],
    };
    const cached = cachedEndpointSlice(slice);
    assert.deepEqual(cached.endpoints, [
      { nodeName: "n1", conditions: { ready: true } },
      { nodeName: "n2", conditions: { ready: false } },
      { nodeName: "n3" },
    ]);
    const local = service("web", { externalIPs: ["198.18.6.10"] });
    local.spec = { ...local.spec, externalTrafficPolicy: "Local" };
    assert.deepEqual(localEndpointNodes([local], [cached]), localEndpointNodes([local], [slice]));
  });

  it("what a write was answered with is kept as the cache keeps it: a Service trimmed, a ConfigMap's data whole", () => {
    const answer = asServed(
      service("web", { externalIPs: ["198.18.6.10"], ingress: ["198.18.6.10"], managedFields: ours }),
      "Service",
    ) as ServiceWithManagedFields;
    const written = { ...answer, apiVersion: "v1", kind: "Service" } as unknown as WrittenObject;
    assert.deepEqual(cachedWrite(written), cachedService(written as unknown as ServiceWithManagedFields));
    const cm = {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "p", namespace: "kao", resourceVersion: "7", managedFields: [CREATOR] },
      data: { plan: "x" },
    };
    assert.deepEqual(cachedWrite(cm), {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "p", namespace: "kao", resourceVersion: "7" },
      data: { plan: "x" },
    });
  });

  it("objects of the wrong shape pass through as they came", () => {
    for (const odd of [null, "x", 5, [], { metadata: "x" }, { metadata: null }])
      assert.equal(cachedService(odd as unknown as ServiceWithManagedFields), odd);
    const weird = { metadata: { name: "a", managedFields: "x" }, spec: "y" };
    assert.deepEqual(cachedService(weird as unknown as ServiceWithManagedFields), weird);
  });
});
