// A byte forwarder between a listening address and a target, each `tcp:<host>:<port>` or `unix:<path>`.
// The kubelet lab runs two: one in the host namespace from a Unix socket to the API server on 127.0.0.1, one in
// the lab's switch namespace from the bridge address to that socket; a Unix socket is a file, so it crosses
// network namespaces without any route or firewall rule in the host's.
// Usage: node apiForward.js <listen> <target>
import { createConnection, createServer, type Socket } from "node:net";
import { rmSync } from "node:fs";

type Endpoint = { path: string } | { host: string; port: number };

/** Parses `tcp:<host>:<port>` or `unix:<path>`; undefined when it is neither. */
export function parseEndpoint(text: string): Endpoint | undefined {
  if (text.startsWith("unix:") && text.length > 5) return { path: text.slice(5) };
  const m = /^tcp:(.+):(\d{1,5})$/.exec(text);
  if (m === null) return undefined;
  const port = Number(m[2]);
  return port > 0 && port < 65536 ? { host: m[1] ?? "", port } : undefined;
}

function pipe(client: Socket, target: Endpoint): void {
  const upstream = createConnection(target);
  client.pipe(upstream).pipe(client);
  const close = (): void => {
    client.destroy();
    upstream.destroy();
  };
  client.on("error", close).on("close", close);
  upstream.on("error", close).on("close", close);
}

function main(argv: string[]): void {
  const [listenText = "", targetText = ""] = argv;
  const listen = parseEndpoint(listenText);
  const target = parseEndpoint(targetText);
  if (listen === undefined || target === undefined) {
    process.stderr.write(
      `apiForward: expected <listen> <target>, each tcp:<host>:<port> or unix:<path>; got ${JSON.stringify(argv)}\n`,
    );
    process.exit(2);
  }
  if ("path" in listen) rmSync(listen.path, { force: true });
  const server = createServer((client) => {
    pipe(client, target);
  });
  server.on("error", (err) => {
    process.stderr.write(`apiForward: cannot listen on ${listenText}: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(listen, () => process.stdout.write(`apiForward: ${listenText} -> ${targetText}\n`));
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => process.exit(0));
}

if (process.argv[1]?.endsWith("apiForward.js") === true) main(process.argv.slice(2));
