// The fault suite's eyes on the API server: a list+watch that records every state it observes of every
// object of one collection, with the time it saw it. It survives API-server and etcd outages (relist after
// backoff), so a history spans the fault. What it records is checked afterwards by invariants.ts.
import { ApiError, type KubeClient, type WatchEvent } from "../../../src/kube/rest.js";
import { sleep } from "../../../src/lab/wait.js";

export interface Observed<T> {
  /** When the test saw it (ms since the epoch). */
  at: number;
  /** LIST: seen in a (re)list; DELETED: the object's last state. */
  type: "LIST" | "ADDED" | "MODIFIED" | "DELETED";
  object: T;
}

export interface Recorder<T> {
  readonly events: Observed<T>[];
  /** Resolves after the first list. */
  readonly synced: Promise<void>;
  /** (Re)lists so far: more than one means the watch broke and the recorder caught up. */
  readonly lists: number;
  stop(): void;
}

interface Listed<T> {
  metadata: { resourceVersion: string };
  items: T[];
}

type Meta = { metadata: object };

const versionOf = (o: Meta): string | undefined =>
  (o.metadata as { resourceVersion?: string }).resourceVersion;

/** Records every state of the objects under `path` (a collection path) until stop(). */
export function recordWatch<T extends Meta>(
  client: KubeClient,
  path: string,
  query: { labelSelector?: string; fieldSelector?: string } = {},
): Recorder<T> {
  const events: Observed<T>[] = [];
  const abort = new AbortController();
  let resolveSynced: () => void = () => undefined;
  const synced = new Promise<void>((r) => (resolveSynced = r));
  const state = { lists: 0 };
  const stopped = (): boolean => abort.signal.aborted;
  // One short-lived signal per request, aborted with the recorder: the client adds an abort listener to the
  // signal of each request, and a long-lived one would collect them (MaxListenersExceededWarning).
  let current = new AbortController();
  abort.signal.addEventListener("abort", () => {
    current.abort();
  });
  const perRequest = (): AbortSignal => {
    current = new AbortController();
    return current.signal;
  };
  const run = async (): Promise<void> => {
    while (!stopped()) {
      try {
        const listed = await client.request<Listed<T>>("GET", path, { query, signal: perRequest() });
        state.lists++;
        const at = Date.now();
        for (const object of listed.items) events.push({ at, type: "LIST", object });
        resolveSynced();
        let rv = listed.metadata.resourceVersion;
        for (;;) {
          const gone = await watchOnce<T>(
            client,
            path,
            { ...query, resourceVersion: rv },
            perRequest(),
            (e) => {
              rv = versionOf(e.object) ?? rv;
              if (e.type !== "BOOKMARK") events.push({ at: Date.now(), type: e.type, object: e.object });
            },
          );
          if (gone || stopped()) break;
        }
      } catch {
        if (stopped()) return;
        await sleep(200);
      }
    }
  };
  void run();
  return {
    events,
    synced,
    get lists() {
      return state.lists;
    },
    stop: () => {
      abort.abort();
    },
  };
}

/** One watch from `resourceVersion`; true when the server says the version is gone (relist). */
async function watchOnce<T>(
  client: KubeClient,
  path: string,
  query: Record<string, string | undefined>,
  signal: AbortSignal,
  onEvent: (e: Exclude<WatchEvent<T>, { type: "ERROR" }>) => void,
): Promise<boolean> {
  let gone = false;
  await client.watch<T>(
    path,
    { ...query, allowWatchBookmarks: true, timeoutSeconds: 300 },
    (e: WatchEvent<T>) => {
      if (e.type === "ERROR") {
        gone = e.object.code === 410;
        if (!gone) throw new ApiError(e.object.code ?? 0, e.object.reason ?? "WatchError", "", "WATCH", path);
        return;
      }
      onEvent(e);
    },
    signal,
  );
  return gone;
}
