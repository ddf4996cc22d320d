// Abort listeners on long-lived signals: an Informer whose watches the server keeps ending (and now and then
// refuses) restarts them 50 times through the real HTTP client; the listeners on its signal stay bounded and
// node never warns about a listener leak (MaxListenersExceededWarning).
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { readFile, mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Informer } from "../../../src/kube/informer.js";
import { KubeClient } from "../../../src/kube/rest.js";
import { writePki } from "../../../src/lab/credentials.js";
import type { Logger } from "../../../src/lib/log.js";

const quiet: Logger = { info() {}, warn() {}, error() {}, with: () => quiet };

describe("abort listeners on long-lived signals", () => {
  let dir: string;
  let server: Server;
  let client: KubeClient;
  let watches = 0;
  const warnings: string[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(`${w.name}: ${w.message}`);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "kao-informer-"));
    await writePki(dir);
    // A stand-in API server: lists are empty; each watch sends one event and ends; every 10th is refused.
    server = createServer(
      { key: await readFile(join(dir, "apiserver.key")), cert: await readFile(join(dir, "apiserver.crt")) },
      (req, res) => {
        res.setHeader("Content-Type", "application/json");
        if (!(req.url ?? "").includes("watch=true")) {
          res.end(JSON.stringify({ metadata: { resourceVersion: "1" }, items: [] }));
          return;
        }
        watches++;
        if (watches % 10 === 0) {
          res.statusCode = 500;
          res.end("{}");
          return;
        }
        const object = {
          metadata: { name: `s${watches}`, namespace: "demo", resourceVersion: `${watches + 1}` },
        };
        res.end(`${JSON.stringify({ type: "ADDED", object })}\n`);
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
    process.on("warning", onWarning);
  });
  after(async () => {
    process.off("warning", onWarning);
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("requests: 50 on one signal leave no listener behind", async () => {
    const ac = new AbortController();
    for (let i = 0; i < 50; i++) await client.request("GET", "/api/v1/services", { signal: ac.signal });
    await Promise.all(
      Array.from({ length: 8 }, () => client.request("GET", "/api/v1/services", { signal: ac.signal })),
    );
    assert.equal(getEventListeners(ac.signal, "abort").length, 0);
  });

  it("an Informer restarting its watch 50 times keeps at most a couple of listeners", async () => {
    watches = 0;
    let changes = 0;
    const informer = new Informer(client, { path: "/api/v1/services" }, () => changes++, quiet);
    informer.start();
    let most = 0;
    while (watches < 50) {
      most = Math.max(most, informer.abortListeners);
      await new Promise((r) => setTimeout(r, 1));
    }
    informer.stop();
    most = Math.max(most, informer.abortListeners);
    console.log(
      `${watches} watches, ${informer.lists} lists, ${informer.failures} failures, most listeners ${most}`,
    );
    assert.ok(informer.failures >= 4, "the backoff path ran too");
    assert.ok(most <= 2, `at most 2 abort listeners at a time, saw ${most}`);
    assert.deepEqual(
      warnings.filter((w) => w.startsWith("MaxListenersExceededWarning")),
      [],
    );
  });
});
