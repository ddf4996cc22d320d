// The Informer's paged list against a stand-in API server that expires continue tokens (410 Expired, as a real
// one does after etcd compacts the revision): the list starts over once and the cache holds the whole
// collection; a token that expires again fails the list, which is retried after backoff.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Informer } from "../../../src/kube/informer.js";
import { KubeClient } from "../../../src/kube/rest.js";
import { writePki } from "../../../src/lab/credentials.js";
import type { Logger } from "../../../src/lib/log.js";

const quiet: Logger = { info() {}, warn() {}, error() {}, with: () => quiet };
const item = (name: string): unknown => ({ metadata: { name, namespace: "demo", resourceVersion: "5" } });

describe("paged lists with expiring continue tokens", () => {
  let dir: string;
  let server: Server;
  let client: KubeClient;
  /** How many of the next continued requests answer 410. */
  let expireNext = 0;
  const requests: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "kao-paging-"));
    await writePki(dir);
    // Three objects in pages of 2; watches stay open and send nothing.
    server = createServer(
      { key: await readFile(join(dir, "apiserver.key")), cert: await readFile(join(dir, "apiserver.crt")) },
      (req, res) => {
        const url = new URL(req.url ?? "/", "https://x");
        if (url.searchParams.get("watch") === "true") {
          res.writeHead(200, { "Content-Type": "application/json" });
          return;
        }
        requests.push(url.search);
        res.setHeader("Content-Type", "application/json");
        if (url.searchParams.get("continue") === "t1") {
          if (expireNext > 0) {
            expireNext--;
            res.statusCode = 410;
            res.end(JSON.stringify({ kind: "Status", code: 410, reason: "Expired", message: "too old" }));
            return;
          }
          res.end(JSON.stringify({ metadata: { resourceVersion: "5" }, items: [item("c")] }));
          return;
        }
        assert.equal(url.searchParams.get("limit"), "2");
        res.end(
          JSON.stringify({
            metadata: { resourceVersion: "5", continue: "t1" },
            items: [item("a"), item("b")],
          }),
        );
      },
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const address = server.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    client = KubeClient.fromKubeConfig({
      server: new URL(`https://127.0.0.1:${port}`),
      ca: await readFile(join(dir, "ca.crt")),
      source: "test",
    });
  });
  after(async () => {
    server.closeAllConnections();
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const names = (i: Informer<{ metadata: { name?: string } }>): (string | undefined)[] =>
    i.list().map((o) => o.metadata.name);

  it("a token that expires once: the list starts over and holds all three", async () => {
    expireNext = 1;
    requests.length = 0;
    const informer = new Informer(client, { path: "/api/v1/services", pageSize: 2 }, () => undefined, quiet);
    informer.start();
    await informer.synced;
    informer.stop();
    assert.deepEqual(names(informer), ["a", "b", "c"]);
    assert.equal(requests.length, 4, "first page, expired second, first again, second");
    assert.equal(informer.pages, 3);
    assert.equal(informer.failures, 0);
  });

  it("a token that expires again: the list fails, and the retry after backoff gets all three", async () => {
    expireNext = 2;
    requests.length = 0;
    const informer = new Informer(client, { path: "/api/v1/services", pageSize: 2 }, () => undefined, quiet);
    informer.start();
    await informer.synced;
    informer.stop();
    assert.deepEqual(names(informer), ["a", "b", "c"]);
    assert.equal(informer.failures, 1);
    assert.equal(informer.lists, 1);
    assert.equal(requests.length, 6);
  });
});
