// The only HTTP path to the API server: plain JSON in and out (no typed models that drop or convert fields),
// with authentication from a kubeconfig or the in-cluster service account (kube/kubeconfig.ts).
import { readFileSync } from "node:fs";
import { request, type RequestOptions } from "node:https";
import type { ClientRequest } from "node:http";
import { TLSSocket } from "node:tls";
import type { Connection } from "./kubeconfig.js";

export { loadKubeConfig } from "./kubeconfig.js";

/** The API server answered with an error status; `reason` is the Status reason (NotFound, Conflict, …). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly method: string,
    readonly path: string,
  ) {
    super(`${method} ${path}: ${status} ${reason}: ${message}`);
    this.name = "ApiError";
  }
  /** Worth retrying: server-side trouble, throttling or a lost race. */
  get retryable(): boolean {
    return this.status >= 500 || this.status === 429 || this.status === 409 || this.status === 0;
  }
}

export interface RequestInit {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Accept header (default application/json). */
  accept?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /**
   * Called when the request has a connection and is about to be sent; throwing destroys it unsent. A write
   * fence's check: whatever ran between the caller's check and this moment (a paused process, a TLS handshake)
   * cannot carry the request past the end of a leadership term.
   */
  beforeSend?: () => void;
}

export type WatchEvent<T> =
  | { type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK"; object: T }
  | { type: "ERROR"; object: { code?: number; reason?: string; message?: string } };

function queryString(query: RequestInit["query"]): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
  const s = params.toString();
  return s === "" ? "" : `?${s}`;
}

/** A response body as JSON, and the Status reason and message an error answer carries. */
function parseAnswer(text: string): { body: unknown; reason: string; message: string } {
  let body: unknown;
  try {
    body = text === "" ? {} : JSON.parse(text);
  } catch {
    body = { message: text.slice(0, 500) };
  }
  const s = body as { reason?: string; message?: string };
  return { body, reason: s.reason ?? "Unknown", message: s.message ?? text.slice(0, 500) };
}

/**
 * Calls `go` once the request's socket can carry it: a kept-alive socket at once, a new one when connected
 * (TLS: once the handshake is done).
 */
function onceConnected(req: ClientRequest, go: () => void): void {
  req.once("socket", (socket) => {
    const tls = socket instanceof TLSSocket;
    // A TLS socket reports its protocol as "unknown" until the handshake is done.
    if (!socket.connecting && (!tls || socket.getProtocol() !== "unknown")) go();
    else socket.once(tls ? "secureConnect" : "connect", go);
  });
}

/** Calls `onAbort` when the signal aborts while the request is open; the listener is removed when it closes. */
function untilClosed(req: ClientRequest, signal: AbortSignal | undefined, onAbort: () => void): void {
  if (signal === undefined) return;
  if (signal.aborted) {
    onAbort();
    return;
  }
  signal.addEventListener("abort", onAbort, { once: true });
  req.once("close", () => {
    signal.removeEventListener("abort", onAbort);
  });
}

export class KubeClient {
  private constructor(
    private readonly server: URL,
    private readonly conn: Connection,
  ) {}

  static fromKubeConfig(conn: Connection): KubeClient {
    return new KubeClient(conn.server, conn);
  }

  private token(): string | undefined {
    // Bound service-account tokens are rotated by the kubelet: read the file each time (it is tiny).
    if (this.conn.tokenFile !== undefined) return readFileSync(this.conn.tokenFile, "utf8").trim();
    return this.conn.token;
  }

  private options(method: string, path: string, init: RequestInit): RequestOptions {
    const opts: RequestOptions = {
      method,
      protocol: this.server.protocol,
      hostname: this.server.hostname,
      port: this.server.port,
      path: `${this.server.pathname.replace(/\/$/, "")}${path}${queryString(init.query)}`,
      headers: { Accept: init.accept ?? "application/json" },
    };
    if (this.conn.ca !== undefined) opts.ca = this.conn.ca;
    if (this.conn.cert !== undefined) opts.cert = this.conn.cert;
    if (this.conn.key !== undefined) opts.key = this.conn.key;
    if (this.conn.insecureSkipTlsVerify === true) opts.rejectUnauthorized = false;
    const token = this.token();
    if (token !== undefined) (opts.headers as Record<string, string>).Authorization = `Bearer ${token}`;
    if (init.body !== undefined) {
      (opts.headers as Record<string, string>)["Content-Type"] = init.contentType ?? "application/json";
    }
    return opts;
  }

  /**
   * One request; resolves with the parsed JSON body, rejects with ApiError on a non-2xx status. An aborted
   * `signal` destroys the request at once (status 0, reason Aborted); one already aborted sends nothing.
   */
  async request<T>(method: string, path: string, init: RequestInit = {}): Promise<T> {
    const signal = init.signal;
    if (signal?.aborted === true) throw new ApiError(0, "Aborted", "aborted before sending", method, path);
    const opts = this.options(method, path, init);
    const payload =
      init.body === undefined
        ? undefined
        : typeof init.body === "string"
          ? init.body
          : JSON.stringify(init.body);
    return new Promise<T>((resolve, reject) => {
      const req = request(opts, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const status = res.statusCode ?? 0;
          const answer = parseAnswer(Buffer.concat(chunks).toString("utf8"));
          if (status >= 200 && status < 300) resolve(answer.body as T);
          else reject(new ApiError(status, answer.reason, answer.message, method, path));
        });
      });
      req.setTimeout(init.timeoutMs ?? 30_000, () =>
        req.destroy(new ApiError(0, "Timeout", "request timed out", method, path)),
      );
      // What beforeSend threw reaches the caller as it is.
      let refused: Error | undefined;
      req.on("error", (err) => {
        if (refused !== undefined) reject(refused);
        else
          reject(
            err instanceof ApiError ? err : new ApiError(0, "ConnectionError", err.message, method, path),
          );
      });
      // Long-lived signals (an informer's, a leadership term's) see thousands of requests: the listener
      // goes when the request does, or they pile up (MaxListenersExceededWarning).
      untilClosed(req, signal, () => req.destroy(new ApiError(0, "Aborted", "aborted", method, path)));
      const send = (): void => {
        try {
          init.beforeSend?.();
        } catch (err) {
          refused = err instanceof Error ? err : new Error(String(err));
          req.destroy(refused);
          return;
        }
        if (payload !== undefined) req.write(payload);
        req.end();
      };
      // Nothing (not even the headers) leaves before send(): with beforeSend, not before the connection is up.
      if (init.beforeSend === undefined) send();
      else onceConnected(req, send);
    });
  }

  /** Streams a watch; resolves when the server ends it, rejects on errors. Each line is one event. */
  async watch<T>(
    path: string,
    query: RequestInit["query"],
    onEvent: (e: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const opts = this.options("GET", path, { query: { ...query, watch: true } });
    return new Promise<void>((resolve, reject) => {
      const req = request(opts, (res) => {
        const status = res.statusCode ?? 0;
        if (status < 200 || status >= 300) {
          res.resume();
          reject(new ApiError(status, "WatchFailed", `watch answered ${status}`, "GET", path));
          return;
        }
        let buffer = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffer += chunk;
          let nl: number;
          while ((nl = buffer.indexOf("\n")) >= 0) {
            const line = buffer.slice(0, nl).trim();
            buffer = buffer.slice(nl + 1);
            if (line === "") continue;
            try {
              onEvent(JSON.parse(line) as WatchEvent<T>);
            } catch (err) {
              req.destroy();
              reject(err instanceof Error ? err : new Error(String(err)));
              return;
            }
          }
        });
        res.on("end", () => {
          resolve();
        });
        res.on("error", reject);
      });
      req.on("error", (err) => {
        reject(signal.aborted ? new ApiError(0, "Aborted", "aborted", "GET", path) : err);
      });
      untilClosed(req, signal, () => req.destroy());
      req.end();
    });
  }
}
