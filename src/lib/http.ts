// A tiny HTTP server for /metrics, /healthz and /readyz: a table of routes, each an async handler.
import { createServer, type Server } from "node:http";

export interface RouteResult {
  status: number;
  body: string;
  contentType?: string;
}

/** What a handler may read of the request. */
export interface RouteRequest {
  method: string;
  query: URLSearchParams;
  /** The client's address as the socket reports it. */
  remoteAddress: string | undefined;
}

export type Routes = Record<string, (req: RouteRequest) => Promise<RouteResult>>;

/** Parses `host:port`, `:port` or `[v6]:port`; undefined if it is none of these. */
export function parseListenAddress(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  if (m === null) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  const host = m[1] ?? m[2] ?? "";
  return { host: host === "" ? "0.0.0.0" : host, port };
}

/** Serves the routes; resolves once listening (port 0 picks a free port: read it from server.address()). */
export async function serveRoutes(host: string, port: number, routes: Routes): Promise<Server> {
  const server = createServer((req, res) => {
    const [path = "/", search = ""] = (req.url ?? "/").split("?", 2);
    const handler = Object.hasOwn(routes, path) ? routes[path] : undefined;
    const reply = (r: RouteResult): void => {
      res.writeHead(r.status, { "Content-Type": r.contentType ?? "text/plain; charset=utf-8" });
      res.end(r.body);
    };
    if (handler === undefined) {
      reply({ status: 404, body: "not found\n" });
      return;
    }
    const info = {
      method: req.method ?? "GET",
      query: new URLSearchParams(search),
      remoteAddress: req.socket.remoteAddress,
    };
    handler(info).then(reply, (err: unknown) => {
      reply({ status: 500, body: `${(err as Error).message}\n` });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return server;
}
