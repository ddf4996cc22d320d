// The controller's writes to the API server, bound to a leadership term: each request is checked against the
// term when it is made and again when its connection is up, just before its bytes leave, and carries the
// term's AbortSignal, so a replica that stopped leading sends nothing more and its requests in flight are
// destroyed.
import type { Manifest } from "../api/kube.js";
import { FIELD_MANAGER } from "../api/names.js";
import { applyManifest, objectPath } from "../kube/apply.js";
import { ApiError, type KubeClient, type RequestInit } from "../kube/rest.js";
import type { ClusterWriter, WrittenObject } from "./writer.js";

/** Longest Event message written (the API server refuses longer ones). */
export const EVENT_MESSAGE_LIMIT = 1024;

/** Limit of one write: a request must not outlive the term it was sent in by much. */
const WRITE_TIMEOUT_MS = 10_000;

/** What the writer needs of a leadership term (kube/term.ts); absent when the controller always leads. */
export interface WriteFence {
  readonly signal: AbortSignal;
  /** Throws unless the term still lasts. */
  check(): void;
  /** Why the term ended, or undefined while it lasts. */
  readonly ended: string | undefined;
}

export interface ApiServerWriterOptions {
  identity: string;
  fence?: WriteFence;
  /** Called for a write the server answered after the term had ended (it may have landed too late). */
  afterLeaseLost?: (what: string) => void;
}

/** Writes to the API server as the controller's field manager. */
export function apiServerWriter(client: KubeClient, opts: ApiServerWriterOptions): ClusterWriter {
  const { fence } = opts;
  const send = async <T>(what: string, call: (init: RequestInit) => Promise<T>): Promise<T> => {
    fence?.check();
    const init: RequestInit = { timeoutMs: WRITE_TIMEOUT_MS };
    if (fence !== undefined) {
      init.signal = fence.signal;
      // Again when the connection is up: the process may have been paused since the check above.
      init.beforeSend = () => {
        fence.check();
      };
    }
    const answer = await call(init);
    if (fence?.ended !== undefined) opts.afterLeaseLost?.(what);
    return answer;
  };
  return {
    apply: (manifest, subresource) =>
      send(`apply ${manifest.kind}`, (init) =>
        applyManifest(client, manifest, FIELD_MANAGER, subresource, init),
      ) as Promise<WrittenObject>,
    delete: async (target) => {
      try {
        await send(`delete ${target.kind}`, (init) => client.request("DELETE", objectPath(target), init));
      } catch (err) {
        if (!(err instanceof ApiError) || err.status !== 404) throw err;
      }
    },
    event: async (w) => {
      const { involved, type, reason, message } = w.event;
      const namespace = involved.namespace;
      const lastTimestamp = new Date(w.lastMs).toISOString();
      if (w.kind === "patch" && w.name !== undefined) {
        const path = `/api/v1/namespaces/${namespace}/events/${w.name}`;
        const body = { count: w.count, lastTimestamp, message: message.slice(0, EVENT_MESSAGE_LIMIT) };
        await send("patch Event", (init) =>
          client.request("PATCH", path, { ...init, body, contentType: "application/merge-patch+json" }),
        );
        return w.name;
      }
      const body = {
        apiVersion: "v1",
        kind: "Event",
        metadata: { generateName: `${involved.name}.`, namespace },
        involvedObject: { ...involved },
        type,
        reason,
        message: message.slice(0, EVENT_MESSAGE_LIMIT),
        source: { component: FIELD_MANAGER },
        reportingComponent: FIELD_MANAGER,
        reportingInstance: opts.identity,
        firstTimestamp: new Date(w.firstMs).toISOString(),
        lastTimestamp,
        count: w.count,
      };
      const created = await send("create Event", (init) =>
        client.request<Manifest>("POST", `/api/v1/namespaces/${namespace}/events`, { ...init, body }),
      );
      return created.metadata.name;
    },
  };
}
