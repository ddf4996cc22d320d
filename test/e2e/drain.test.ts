// The drain (agent/drain.ts) with real nftables in a lab node's network namespace: while a VIP is drained, a
// connection already open to it carries on and a new one gets no answer (its SYN is dropped, not refused); the
// drop ends by itself when its time to live runs out, or at once when the node takes the VIP again; and a new
// agent's setup empties what a dead one left. Counted: answers on the open connection, new connections made.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { describe, test } from "node:test";
import { netnsPrefix } from "../../src/agent/command.js";
import { NftDrain } from "../../src/agent/drain.js";
import { ip } from "../../src/lab/netns.js";
import { sleep } from "../../src/lab/wait.js";
import type { Logger } from "../../src/lib/log.js";
import { labSuite } from "../support/lab.js";

const VIP = "198.18.0.250";
const PORT = 8080;
const warnings: string[] = [];
const log: Logger = { info() {}, warn: (m) => warnings.push(m), error() {}, with: () => log };

/** A node process in a network namespace, running `script`. */
function nodeIn(ns: string, script: string): ChildProcess {
  return spawn("ip", ["netns", "exec", ns, process.execPath, "-e", script], {
    stdio: ["pipe", "pipe", "inherit"],
  });
}

/** One new connection from the client namespace: "connected", or "no answer" after `timeoutMs`. */
async function connectOnce(clientNs: string, timeoutMs: number): Promise<string> {
  const child = nodeIn(
    clientNs,
    `const s = require("net").connect(${PORT}, "${VIP}");
     const t = setTimeout(() => { console.log("no answer"); process.exit(0); }, ${timeoutMs});
     s.on("connect", () => { clearTimeout(t); console.log("connected"); s.end(); });
     s.on("error", (e) => { clearTimeout(t); console.log(e.code); });`,
  );
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  await new Promise((r) => child.on("close", r));
  return out.trim();
}

describe("draining a VIP with nftables", () => {
  const suite = labSuite(1);

  test(
    "open connections carry on, new ones are dropped until the drain ends",
    { timeout: 60_000 },
    async () => {
      const { lab } = suite;
      const node = lab.nodes[0];
      assert.ok(node !== undefined);
      await ip("-n", node.ns, "addr", "add", `${VIP}/24`, "dev", "eth0");
      const server = nodeIn(
        node.ns,
        `require("net").createServer((s) => s.pipe(s)).listen(${PORT}, "${VIP}", () => console.log("listening"));`,
      );
      let open: ChildProcess | undefined;
      try {
        // The client starts only once the server listens: started together, it could connect first and be refused.
        const listening = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => {
            resolve(false);
          }, 10_000);
          server.stdout?.once("data", () => {
            clearTimeout(timer);
            resolve(true);
          });
        });
        assert.ok(listening, "the echo server listens on the VIP");
        // An open connection: each line written comes back.
        open = nodeIn(
          lab.clientNs,
          `const s = require("net").connect(${PORT}, "${VIP}", () => console.log("open"));
         s.setEncoding("utf8"); s.on("data", (d) => process.stdout.write(d));
         s.on("error", (e) => console.log(e.code));
         process.stdin.on("data", (d) => s.write(d));`,
        );
        const client = open;
        const lines = createInterface({ input: client.stdout ?? process.stdin });
        const received: string[] = [];
        lines.on("line", (l) => {
          received.push(l);
        });
        const echo = async (text: string): Promise<boolean> => {
          client.stdin?.write(`${text}\n`);
          for (let i = 0; i < 300 && !received.includes(text); i++) await sleep(10);
          return received.includes(text);
        };
        for (let i = 0; i < 500 && received.length === 0; i++) await sleep(20);
        assert.deepEqual(received, ["open"], "the client connects to the VIP");
        assert.ok(await echo("before"), "the open connection answers before the drain");
        assert.equal(await connectOnce(lab.clientNs, 2000), "connected");

        const drain = new NftDrain("kao/drain-test", netnsPrefix(node.ns), log);
        assert.equal(await drain.drain([VIP], 1500), undefined, warnings.join("; "));
        const drainedAt = Date.now();
        // A new connection's SYN is dropped: no answer and no refusal (TCP resends it 1 s later).
        assert.equal(await connectOnce(lab.clientNs, 400), "no answer");
        assert.ok(await echo("during"), "the open connection still answers while the VIP is drained");
        // The drop ends by itself.
        await sleep(Math.max(0, drainedAt + 1600 - Date.now()));
        assert.equal(await connectOnce(lab.clientNs, 2000), "connected");

        // Undrained at once when the node takes the VIP again.
        assert.equal(await drain.drain([VIP], 60_000), undefined);
        assert.equal(await connectOnce(lab.clientNs, 400), "no answer");
        await drain.undrain([VIP]);
        assert.equal(await connectOnce(lab.clientNs, 2000), "connected");

        // A dead agent's drain does not outlive the next agent's setup.
        assert.equal(await drain.drain([VIP], 60_000), undefined);
        const next = new NftDrain("kao/drain-test", netnsPrefix(node.ns), log);
        assert.equal(await next.setup(), undefined);
        assert.equal(await connectOnce(lab.clientNs, 2000), "connected");
        // Another group's table is its own: draining it leaves this one's VIPs alone, and the reverse.
        const other = new NftDrain("kao/other", netnsPrefix(node.ns), log);
        assert.equal(await other.drain(["198.18.0.251"], 60_000), undefined);
        assert.equal(await connectOnce(lab.clientNs, 2000), "connected");
        assert.ok(await echo("after"), "the open connection answered throughout");
        assert.deepEqual(warnings, []);
      } finally {
        open?.kill();
        server.kill();
      }
    },
  );

  test("without nftables the drain says why, once, and nothing else changes", async () => {
    const logged: string[] = [];
    const quiet: Logger = { info() {}, warn: (m) => logged.push(m), error() {}, with: () => quiet };
    const drain = new NftDrain("kao/none", ["env", "PATH=/nonexistent"], quiet);
    const first = await drain.drain([VIP], 1000);
    assert.match(first ?? "", /ENOENT|not found|No such file/);
    assert.equal(await drain.drain([VIP], 1000), first);
    assert.equal(logged.length, 1, logged.join("; "));
  });
});
