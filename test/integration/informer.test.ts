// The Informer on a real API server: a collection listed in pages (limit/continue) arrives whole, in as many
// requests as pages, and the cache keeps each listed and watched object as its transform shapes it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { ConfigMapObject, Manifest } from "../../src/api/kube.js";
import { Informer } from "../../src/kube/informer.js";
import { startControlPlane, type ControlPlane } from "../../src/lab/controlplane.js";
import type { Logger } from "../../src/lib/log.js";
import { adminClient, apply, eventually, type KubeClient } from "../support/kube.js";

const quiet: Logger = { info() {}, warn() {}, error() {}, with: () => quiet };
const NS = "paging";
const COUNT = 25;

function configMap(i: number): Manifest {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: `cm-${i}`, namespace: NS, labels: { paging: "yes" } },
    data: { big: "x".repeat(1000), small: String(i) },
  };
}

/** What the test's cache keeps: name, namespace, resourceVersion and the small key. */
const keepSmall = (cm: ConfigMapObject): ConfigMapObject => ({
  metadata: {
    name: cm.metadata.name ?? "",
    namespace: cm.metadata.namespace ?? "",
    resourceVersion: cm.metadata.resourceVersion ?? "",
  },
  data: { small: cm.data?.small ?? "" },
});

describe("Informer on a real API server", { timeout: 120_000 }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;

  before(async () => {
    cp = await startControlPlane();
    admin = adminClient(cp);
    await apply(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    for (let i = 0; i < COUNT; i++) await apply(admin, configMap(i));
  });
  after(async () => {
    await cp.stop();
  });

  it(`lists ${COUNT} objects in pages of 10, keeps them transformed, and follows the watch`, async () => {
    const informer = new Informer<ConfigMapObject>(
      admin,
      {
        path: `/api/v1/namespaces/${NS}/configmaps`,
        labelSelector: "paging=yes",
        pageSize: 10,
        transform: keepSmall,
      },
      () => undefined,
      quiet,
    );
    informer.start();
    try {
      await informer.synced;
      assert.equal(informer.pages, 3, "3 list requests: 10 + 10 + 5");
      const listed = informer.list();
      assert.equal(listed.length, COUNT);
      assert.deepEqual(
        listed.map((cm) => cm.data?.small).sort((a, b) => Number(a) - Number(b)),
        Array.from({ length: COUNT }, (_, i) => String(i)),
      );
      assert.deepEqual(
        listed
          .filter((cm) => cm.data?.big !== undefined || cm.metadata.labels !== undefined)
          .map((cm) => cm.metadata.name),
        [],
        "transformed: nothing but the kept fields",
      );
      await apply(admin, configMap(COUNT));
      const added = await eventually("the watched ConfigMap", () =>
        Promise.resolve(informer.get(NS, `cm-${COUNT}`)),
      );
      assert.deepEqual(added.data, { small: String(COUNT) });
      assert.equal(informer.list().length, COUNT + 1);
      assert.equal(informer.pages, 3, "the watch needed no list");
    } finally {
      informer.stop();
    }
  });

  it("pageSize 0 lists in one request", async () => {
    const informer = new Informer<ConfigMapObject>(
      admin,
      { path: `/api/v1/namespaces/${NS}/configmaps`, labelSelector: "paging=yes", pageSize: 0 },
      () => undefined,
      quiet,
    );
    informer.start();
    try {
      await informer.synced;
      assert.equal(informer.pages, 1);
      assert.equal(informer.list().length, COUNT + 1);
      assert.equal(informer.get(NS, "cm-0")?.data?.big?.length, 1000, "no transform: kept whole");
    } finally {
      informer.stop();
    }
  });
});
