// A stand-in HTTPS API server for unit tests of the real HTTP client: a fresh CA and serving certificate
// (writePki), a handler of the test's own on a loopback port, and a KubeClient that trusts it.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeClient } from "../../src/kube/rest.js";
import { writePki } from "../../src/lab/credentials.js";

export interface StandIn {
  client: KubeClient;
  /** Closes every connection and the server, and removes the certificates. */
  close: () => Promise<void>;
}

export async function startStandIn(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<StandIn> {
  const dir = await mkdtemp(join(tmpdir(), "kao-standin-"));
  await writePki(dir);
  const server = createServer(
    { key: await readFile(join(dir, "apiserver.key")), cert: await readFile(join(dir, "apiserver.crt")) },
    handler,
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  const client = KubeClient.fromKubeConfig({
    server: new URL(`https://127.0.0.1:${port}`),
    ca: await readFile(join(dir, "ca.crt")),
    source: "test",
  });
  return {
    client,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
