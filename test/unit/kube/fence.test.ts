// A write fence is checked again when the request's connection is up, just before its bytes leave: a process
// paused between the writer's check and the send (SIGSTOP, a blocked event loop: the term's timer has not run
// yet) sends nothing once it resumes. Seen under load: eight Events created 3 s after the lease had moved.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { apiServerWriter, type WriteFence } from "../../../src/controller/apiWriter.js";
import { LeadershipLostError } from "../../../src/kube/term.js";
import type { KubeClient } from "../../../src/kube/rest.js";
import { startStandIn, type StandIn } from "../../support/standIn.js";

/** A fence the test ends by hand; its signal is never aborted (the timer of a paused process has not run). */
function fence(): WriteFence & { over: boolean } {
  const ac = new AbortController();
  return {
    over: false,
    signal: ac.signal,
    get ended() {
      return this.over ? "renew deadline passed" : undefined;
    },
    check() {
      if (this.over) throw new LeadershipLostError("renew deadline passed");
    },
  };
}

const manifest = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "kao" } };

describe("a write fence checked when the connection is up", () => {
  let standIn: StandIn;
  let client: KubeClient;
  const received: string[] = [];

  before(async () => {
    standIn = await startStandIn((req, res) => {
      received.push(`${req.method ?? ""} ${req.url ?? ""}`);
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify(manifest));
    });
    client = standIn.client;
  });
  after(() => standIn.close());

  for (const connection of ["a new connection", "a kept-alive connection"]) {
    it(`${connection}: the term ends after the writer's check, before the send: nothing is sent`, async () => {
      const f = fence();
      const writer = apiServerWriter(client, { identity: "test", fence: f });
      if (connection === "a kept-alive connection") await writer.apply(manifest);
      received.length = 0;
      const write = writer.apply(manifest);
      // The writer has checked the term; now the process "pauses" past the end of it.
      f.over = true;
      await assert.rejects(write, LeadershipLostError);
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(received, []);
    });
  }

  it("while the term lasts, writes go out as before", async () => {
    const writer = apiServerWriter(client, { identity: "test", fence: fence() });
    received.length = 0;
    await writer.apply(manifest);
    await writer.apply(manifest);
    assert.equal(received.length, 2);
  });
});
