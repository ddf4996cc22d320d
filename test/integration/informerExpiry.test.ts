// The Informer's paged list when a continue token expires, on a real API server: the API server compacts
// etcd every second (--etcd-compaction-interval) and lists from etcd (--watch-cache=false), so a token
// outlived by a compaction is answered 410 Expired, as in a cluster after a slow list. A thin wrapper around
// the real client holds a continued page back until the server itself refuses that token. Once expired, the
// list starts over and the cache holds the whole collection; expired twice, the list fails and is retried
// after backoff.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Manifest } from "../../src/api/kube.js";
import { Informer } from "../../src/kube/informer.js";
import { ApiError, type RequestInit } from "../../src/kube/rest.js";
import { startControlPlane, type ControlPlane } from "../../src/lab/controlplane.js";
import type { Logger } from "../../src/lib/log.js";
import { adminClient, apply, eventually, type KubeClient } from "../support/kube.js";

const quiet: Logger = { info() {}, warn() {}, error() {}, with: () => quiet };
const NS = "expiry";
const PATH = `/api/v1/namespaces/${NS}/configmaps`;

const configMap = (name: string): Manifest => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace: NS, labels: { expiry: "yes" } },
  data: { k: name },
});

describe("paged lists whose continue token expires, on a real API server", { timeout: 180_000 }, () => {
  let cp: ControlPlane;
  let admin: KubeClient;
  let bump = 0;

  before(async () => {
    cp = await startControlPlane({
      apiserverArgs: ["--etcd-compaction-interval=1s", "--watch-cache=false"],
    });
    admin = adminClient(cp);
    await apply(admin, { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
    for (const name of ["a", "b", "c"]) await apply(admin, configMap(name));
  });
  after(async () => {
    await cp.stop();
  });

  /** The real client, except that the next `expire` continued pages wait until their token has expired. */
  function expiring(expire: number): { client: KubeClient; continued: () => number; expired: () => number } {
    let continued = 0;
    let expired = 0;
    const client = Object.create(admin) as KubeClient;
    client.request = async <T>(method: string, path: string, init?: RequestInit): Promise<T> => {
      const token = init?.query?.continue;
      if (method === "GET" && path === PATH && typeof token === "string") {
        continued++;
        if (expire > 0) {
          expire--;
          // A write moves the revision on; compaction then passes the token's revision.
          await apply(admin, {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { name: `bump-${bump++}`, namespace: "default" },
          });
          await eventually(
            "the API server refuses the continue token (410 Expired)",
            async () => {
              try {
                await admin.request("GET", path, init);
                return undefined;
              } catch (err) {
                if (err instanceof ApiError && err.status === 410) return true;
                throw err;
              }
            },
            60_000,
            250,
          );
          expired++;
        }
      }
      return admin.request<T>(method, path, init);
    };
    return { client, continued: () => continued, expired: () => expired };
  }

  const names = (i: Informer<{ metadata: { name?: string } }>): string[] =>
    i
      .list()
      .map((o) => o.metadata.name ?? "")
      .sort();

  /** An Informer of the test's ConfigMaps in pages of 2, started and stopped once its cache is filled. */
  async function listedOnce(client: KubeClient): Promise<Informer<{ metadata: { name?: string } }>> {
    const informer = new Informer<{ metadata: { name?: string } }>(
      client,
      { path: PATH, labelSelector: "expiry=yes", pageSize: 2 },
      () => undefined,
      quiet,
    );
    informer.start();
    await informer.synced;
    informer.stop();
    return informer;
  }

  it("a token that expires once: the list starts over and holds all three", async () => {
    const e = expiring(1);
    const informer = await listedOnce(e.client);
    assert.deepEqual(names(informer), ["a", "b", "c"]);
    assert.equal(e.expired(), 1);
    assert.equal(e.continued(), 2, "the expired second page, then the second page of the new list");
    assert.equal(informer.failures, 0);
    assert.equal(informer.lists, 1);
  });

  it("a token that expires again: the list fails, and the retry after backoff gets all three", async () => {
    const e = expiring(2);
    const informer = await listedOnce(e.client);
    assert.deepEqual(names(informer), ["a", "b", "c"]);
    assert.equal(e.expired(), 2);
    assert.equal(informer.failures, 1);
    assert.equal(informer.lists, 1);
  });
});
