// The probes every long-running command serves: routes, status codes, bodies and content types.
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import type { Server } from "node:http";
import { closeServer, serveProbes } from "../../src/lib/serve.js";

let ready = false;
let failing = false;
let server: Server;
let base = "";

before(async () => {
  server = await serveProbes(
    { host: "127.0.0.1", port: 0 },
    {
      metrics: () => (failing ? Promise.reject(new Error("stats timed out")) : Promise.resolve("up 1\n")),
      notReady: () => (ready ? undefined : "caches not synced"),
    },
  );
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  closeServer(server);
});

const get = async (path: string): Promise<[number, string, string]> => {
  const r = await fetch(base + path);
  return [r.status, r.headers.get("content-type") ?? "", await r.text()];
};
const TEXT = "text/plain; charset=utf-8";

test("serveProbes: one line per route", async () => {
  assert.deepEqual(await get("/metrics"), [200, "text/plain; version=0.0.4; charset=utf-8", "up 1\n"]);
  assert.deepEqual(await get("/metrics?x=1"), [200, "text/plain; version=0.0.4; charset=utf-8", "up 1\n"]);
  assert.deepEqual(await get("/healthz"), [200, TEXT, "ok\n"]);
  assert.deepEqual(await get("/readyz"), [503, TEXT, "caches not synced\n"]);
  ready = true;
  assert.deepEqual(await get("/readyz"), [200, TEXT, "ok\n"]);
  assert.deepEqual(await get("/other"), [404, TEXT, "not found\n"]);
  failing = true;
  assert.deepEqual(await get("/metrics"), [500, TEXT, "stats timed out\n"]);
});

test("serveProbes: a port in use is an error, not a crash", async () => {
  const port = (server.address() as AddressInfo).port;
  await assert.rejects(
    serveProbes(
      { host: "127.0.0.1", port },
      { metrics: () => Promise.resolve(""), notReady: () => undefined },
    ),
    /EADDRINUSE/,
  );
});
