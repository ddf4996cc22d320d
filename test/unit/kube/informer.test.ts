// Abort listeners on long-lived signals: an Informer whose watches the server keeps ending (and now and then
// refuses) restarts them 50 times through the real HTTP client; the listeners on its signal stay bounded and
// node never warns about a listener leak (MaxListenersExceededWarning).
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { after, before, describe, it } from "node:test";
import { Informer } from "../../../src/kube/informer.js";
import type { KubeClient } from "../../../src/kube/rest.js";
import { startStandIn, type StandIn } from "../../support/standIn.js";
import type { Logger } from "../../../src/lib/log.js";

const quiet: Logger = { info() {}, warn() {}, error() {}, with: () => quiet };

describe("abort listeners on long-lived signals", () => {
  let standIn: StandIn;
  let client: KubeClient;
  let watches = 0;
  const warnings: string[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(`${w.name}: ${w.message}`);
  };

  before(async () => {
    // A stand-in API server: lists are empty; each watch sends one event and ends; every 10th is refused.
    standIn = await startStandIn((req, res) => {
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
    });
    client = standIn.client;
    process.on("warning", onWarning);
  });
  after(async () => {
    process.off("warning", onWarning);
    await standIn.close();
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
