// A list+watch cache of one resource that restarts itself: 410 Gone → relist; any other failure → relist after
// backoff; a full relist every `relistMs` even when the watch is healthy (level-triggered safety net).
// A resource that does not exist (404, e.g. an optional CRD) is retried slowly and reads as empty.
import { getEventListeners } from "node:events";
import type { KubeObject } from "../api/kube.js";
import type { Logger } from "../lib/log.js";
import { backoffDelay } from "../lib/backoff.js";
import { ApiError, type KubeClient, type WatchEvent } from "./rest.js";

export interface InformerOptions<T extends KubeObject = KubeObject> {
  /** Collection path, e.g. `/api/v1/services`. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  relistMs?: number;
  /** How often to look again for a resource that answered 404. */
  missingRetryMs?: number;
  /**
   * Items per list request (default 500): a big collection comes in pages (limit/continue), so the full JSON of
   * thousands of objects is never held at once; 0 lists it in one request.
   */
  pageSize?: number;
  /**
   * What the cache keeps of each listed or watched object (client-go's TransformFunc): the fields its reader
   * uses, so thousands of objects do not keep managedFields and status they never read. Must keep the
   * metadata's namespace, name and resourceVersion.
   */
  transform?: (o: T) => T;
}

type Selectors = { labelSelector: string | undefined; fieldSelector: string | undefined };

interface ListPage<T> {
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ""}/${o.metadata.name ?? ""}`;

/** What one watch event changed in the cache (absent: a list replaced the whole cache). */
export interface CacheChange {
  type: "ADDED" | "MODIFIED" | "DELETED";
  /** namespace/name */
  key: string;
  resourceVersion: string | undefined;
}

export class Informer<T extends KubeObject> {
  private store = new Map<string, T>();
  private readonly abort = new AbortController();
  private resolveSynced: () => void = () => undefined;
  /** Resolves after the first successful list (or the first 404 of an optional resource). */
  readonly synced = new Promise<void>((r) => (this.resolveSynced = r));
  /** The newest resourceVersion the cache has seen (list, event or bookmark): what it is up to date with. */
  resourceVersion = "";
  /** Counts lists, for metrics and tests. */
  lists = 0;
  /** Counts list requests (pages), for tests. */
  pages = 0;
  failures = 0;

  constructor(
    private readonly client: KubeClient,
    private readonly opts: InformerOptions<T>,
    private readonly onChange: (change?: CacheChange) => void,
    private readonly log: Logger,
  ) {}

  list(): T[] {
    return [...this.store.values()];
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return this.store.get(`${namespace ?? ""}/${name}`);
  }

  start(): void {
    void this.run();
  }

  stop(): void {
    this.abort.abort();
  }

  /** A call, not a property: awaits and callbacks change it behind the type checker's back. */
  private stopped(): boolean {
    return this.abort.signal.aborted;
  }

  /** Waits, or less when stopped; the abort listener goes with the timer (the signal lives as long as we do). */
  private sleep(ms: number): Promise<void> {
    const signal = this.abort.signal;
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        signal.removeEventListener("abort", wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      signal.addEventListener("abort", wake, { once: true });
    });
  }

  /** Abort listeners on the informer's signal right now (a test's view of listener leaks). */
  get abortListeners(): number {
    return getEventListeners(this.abort.signal, "abort").length;
  }

  /** The object as the cache keeps it; one the transform cannot read is kept whole (never a failed watch). */
  private kept(o: T): T {
    if (this.opts.transform === undefined) return o;
    try {
      return this.opts.transform(o);
    } catch {
      return o;
    }
  }

  /**
   * The whole collection, page by page, each item as the cache keeps it. The pages are one consistent snapshot;
   * a continue token that expired meanwhile (410) starts the list over once.
   */
  private async listAll(selectors: Selectors): Promise<{ items: Map<string, T>; resourceVersion: string }> {
    const limit = (this.opts.pageSize ?? 500) > 0 ? (this.opts.pageSize ?? 500) : undefined;
    const items = new Map<string, T>();
    let token: string | undefined;
    let restarted = false;
    for (;;) {
      let page: ListPage<T>;
      try {
        page = await this.client.request<ListPage<T>>("GET", this.opts.path, {
          query: { ...selectors, limit, continue: token },
          signal: this.abort.signal,
        });
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 410 && token !== undefined && !restarted)) throw err;
        restarted = true;
        token = undefined;
        items.clear();
        continue;
      }
      this.pages++;
      for (const item of page.items) items.set(keyOf(item), this.kept(item));
      token = page.metadata.continue;
      if (token === undefined || token === "")
        return { items, resourceVersion: page.metadata.resourceVersion };
    }
  }

  private async run(): Promise<void> {
    let attempt = 0;
    const selectors = { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector };
    while (!this.stopped()) {
      try {
        const listed = await this.listAll(selectors);
        this.lists++;
        this.store = listed.items;
        let rv = listed.resourceVersion;
        this.resourceVersion = rv;
        this.resolveSynced();
        this.onChange();
        attempt = 0;
        const listedAt = Date.now();
        // Watch until it is time to relist, the server asks for one (410), or something breaks.
        while (!this.stopped() && Date.now() - listedAt < (this.opts.relistMs ?? 600_000)) {
          const watch = { gone: false };
          await this.client.watch<T>(
            this.opts.path,
            {
              ...selectors,
              resourceVersion: rv,
              allowWatchBookmarks: true,
              timeoutSeconds: 60 + Math.floor(Math.random() * 60),
            },
            (e: WatchEvent<T>) => {
              if (e.type === "ERROR") {
                watch.gone = e.object.code === 410;
                if (!watch.gone)
                  throw new ApiError(
                    e.object.code ?? 0,
                    e.object.reason ?? "WatchError",
                    e.object.message ?? "",
                    "WATCH",
                    this.opts.path,
                  );
                return;
              }
              const rvNew = e.object.metadata.resourceVersion;
              if (rvNew !== undefined) rv = this.resourceVersion = rvNew;
              if (e.type === "BOOKMARK") return;
              const key = keyOf(e.object);
              if (e.type === "DELETED") this.store.delete(key);
              else this.store.set(key, this.kept(e.object));
              this.onChange({ type: e.type, key, resourceVersion: rvNew });
            },
            this.abort.signal,
          );
          if (watch.gone) break;
        }
      } catch (err) {
        if (this.stopped()) return;
        if (err instanceof ApiError && err.status === 404) {
          // An optional resource (e.g. OpenShift's Network CRD) that is not installed reads as empty.
          if (this.store.size > 0) {
            this.store.clear();
            this.onChange();
          }
          this.resolveSynced();
          await this.sleep(this.opts.missingRetryMs ?? 30_000);
          continue;
        }
        this.failures++;
        const delay = backoffDelay(attempt++, { initialMs: 200, maxMs: 30_000, factor: 2 });
        this.log.warn("watch failed; relisting after backoff", {
          path: this.opts.path,
          error: (err as Error).message,
          delayMs: delay,
        });
        await this.sleep(delay);
      }
    }
  }
}
