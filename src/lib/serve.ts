// What a long-running command serves (/metrics, /healthz, /readyz) and the signals that stop it.
import type { Server } from "node:http";
import { serveRoutes, type RouteResult } from "./http.js";

const PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

/** Where to serve, and the address as the user wrote it (for messages). */
export interface ListenAddress {
  host: string;
  port: number;
  text: string;
}

export interface Probes {
  /** The Prometheus text for /metrics. */
  metrics(): Promise<string>;
  /** Why /readyz answers 503, or undefined while ready. */
  notReady(): string | undefined;
  /** POST /handback?instance=…: a peer asks this node to hand an instance back (agent/handback.ts). */
  handback?(instance: string, remoteAddress: string | undefined): Promise<RouteResult>;
}

/** Serves /metrics, /healthz (always ok) and /readyz; resolves once listening. */
export function serveProbes(listen: { host: string; port: number }, probes: Probes): Promise<Server> {
  return serveRoutes(listen.host, listen.port, {
    "/metrics": async () => ({ status: 200, body: await probes.metrics(), contentType: PROMETHEUS_TEXT }),
    "/healthz": () => Promise.resolve({ status: 200, body: "ok\n" }),
    "/readyz": () => {
      const reason = probes.notReady();
      return Promise.resolve(
        reason === undefined ? { status: 200, body: "ok\n" } : { status: 503, body: `${reason}\n` },
      );
    },
    "/handback": (req) => {
      if (probes.handback === undefined) return Promise.resolve({ status: 404, body: "not found\n" });
      if (req.method !== "POST")
        return Promise.resolve({ status: 405, body: "POST /handback?instance=<name>\n" });
      return probes.handback(req.query.get("instance") ?? "", req.remoteAddress);
    },
  });
}

/** Resolves with the first SIGTERM or SIGINT the process receives. */
export function stopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once("SIGTERM", () => {
      resolve("SIGTERM");
    });
    process.once("SIGINT", () => {
      resolve("SIGINT");
    });
  });
}

/** Stops listening and drops idle keep-alive connections, so the process can exit. */
export function closeServer(server: Server): void {
  server.close();
  server.closeAllConnections();
}
