// A published IP never changes while its Service exists: the controller's decisions over a sequence of cluster
// states (written back as the API server would), through an invalid group, deletions of other Services and
// a fix; and through caches that lag behind the controller's own status writes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { KeepalivedGroupSpec } from "../../../src/api/types.js";
import { decide, type Action, type ClusterState } from "../../../src/controller/decide.js";
import { OwnWrites } from "../../../src/controller/ownWrites.js";
import type { ServiceWithManagedFields } from "../../../src/render/serviceStatus.js";
import { LB, NOW, cluster, converged, group, service, settled } from "./cluster.js";

const POOL: KeepalivedGroupSpec = {
  interface: "ens3",
  nodeSelector: LB,
  addressPools: [{ name: "main", addresses: ["198.18.6.0/28"] }],
};
const BROKEN: KeepalivedGroupSpec = { ...POOL, verbatimConfig: { notify_fifo_script: "/bin/sh" } };

function lbService(name: string, minute: number): ServiceWithManagedFields {
  const s = service(name, { created: `2025-01-01T00:${String(minute).padStart(2, "0")}:00Z` });
  s.metadata.resourceVersion = "1";
  return s;
}

function published(state: ClusterState): Record<string, string> {
  return Object.fromEntries(
    state.services.map((s) => [
      s.metadata.name ?? "",
      (s.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).join(","),
    ]),
  );
}

function serviceWrites(actions: readonly Action[]): string[] {
  return actions.flatMap((a) =>
    a.kind === "applyStatus" && a.manifest.kind === "Service" ? [a.manifest.metadata.name] : [],
  );
}

const withSpec = (state: ClusterState, spec: KeepalivedGroupSpec): ClusterState => ({
  ...state,
  groups: [{ ...group("workers", { spec }), status: state.groups[0]?.status ?? {} }],
});

/**
 * Passes over a cache that lags one pass behind the API server: each pass an older Service appears, while the
 * cache still lacks the previous pass's status writes. `own`: the controller's memory of its writes, if any.
 * Returns every IP each Service ever published.
 */
function lagging(own: OwnWrites | undefined): Map<string, string[]> {
  let server = cluster({ groups: [group("workers", { spec: POOL })] });
  let cacheBase: ServiceWithManagedFields[] = [];
  let revision = 100;
  const history = new Map<string, string[]>();
  const arrivals = [lbService("late", 5), lbService("early-0", 4), lbService("early-1", 3)];
  for (const arriving of arrivals) {
    server = { ...server, services: [...server.services, arriving] };
    const cached = [...cacheBase, arriving];
    const d = decide(
      { ...server, services: own?.overlay(cached, "1") ?? cached },
      { nowMs: NOW, holders: undefined },
    );
    cacheBase = structuredClone(server.services);
    server = settled(server, d.actions);
    for (const s of server.services) {
      if (!serviceWrites(d.actions).includes(s.metadata.name ?? "")) continue;
      s.metadata.resourceVersion = String(++revision);
      own?.remember({
        ...structuredClone(s),
        apiVersion: "v1",
        kind: "Service",
        metadata: { ...s.metadata, name: s.metadata.name ?? "" },
      });
    }
    for (const [name, ip] of Object.entries(published(server)))
      if (ip !== "") history.set(name, [...new Set([...(history.get(name) ?? []), ip])]);
  }
  return history;
}

describe("published addresses are sticky", () => {
  it("an invalid group keeps its Services' ingress; after a deletion and the fix, nobody is renumbered", () => {
    let state = converged(
      cluster({ groups: [group("workers", { spec: POOL })], services: ["a", "b", "c"].map(lbService) }),
    );
    assert.deepEqual(published(state), { a: "198.18.6.1", b: "198.18.6.2", c: "198.18.6.3" });

    state = withSpec(state, BROKEN);
    const invalid = decide(state, { nowMs: NOW, holders: undefined });
    assert.deepEqual(serviceWrites(invalid.actions), [], "no EXTERNAL-IP is cleared");
    const warned = invalid.actions.filter((a) => a.kind === "event" && a.reason === "GroupNotFound");
    assert.equal(warned.length, 3, "each Service is told why");
    state = settled(state, invalid.actions);

    state = { ...state, services: state.services.filter((s) => s.metadata.name !== "a") };
    assert.deepEqual(serviceWrites(decide(state, { nowMs: NOW, holders: undefined }).actions), []);

    state = converged(withSpec(state, POOL));
    assert.deepEqual(published(state), { b: "198.18.6.2", c: "198.18.6.3" }, "no shift down");
    state = converged({ ...state, services: [...state.services, lbService("d", 9)] });
    assert.equal(published(state).d, "198.18.6.1", "a new Service takes the freed address");
  });

  it("another Service naming a published IP in its externalIPs gets IPInUse, even when it sorts first", () => {
    const spec = { ...POOL, allowedCIDRs: ["198.18.7.0/24"] };
    const owner = service("owner", { externalIPs: ["198.18.7.10"], created: "2025-01-01T00:05:00Z" });
    let state = converged(cluster({ groups: [group("workers", { spec })], services: [owner] }));
    const thief = service("thief", { ns: "a", created: "2025-01-01T00:05:00Z" });
    state = converged({ ...state, services: [...state.services, thief] });
    assert.deepEqual(published(state), { owner: "198.18.7.10", thief: "198.18.6.1" });
    const greedy = state.services.map((s) =>
      s.metadata.name === "thief" ? { ...s, spec: { ...s.spec, externalIPs: ["198.18.7.10"] } } : s,
    );
    const d = decide({ ...state, services: greedy }, { nowMs: NOW, holders: undefined });
    assert.deepEqual(serviceWrites(d.actions), ["thief"], "only the thief's own ingress changes");
    const refused = d.actions.find((a) => a.kind === "event" && a.reason === "IPInUse");
    assert.ok(refused?.kind === "event");
    assert.equal(refused.involved.name, "thief");
    assert.match(refused.message, /198\.18\.7\.10 is already used by Service demo\/owner/);
    assert.equal(published(converged({ ...state, services: greedy })).owner, "198.18.7.10");
  });

  it("a reconcile on a cache without its own status writes reads them from memory: no IP moves", () => {
    const history = lagging(new OwnWrites(false));
    for (const [name, ips] of history) assert.equal(ips.length, 1, `${name} kept one IP: ${ips.join(" → ")}`);
    assert.equal(history.size, 3);
  });

  it("without reading its own writes the same sequence moves an IP (the defect this guards against)", () => {
    assert.deepEqual(lagging(undefined).get("late"), ["198.18.6.1", "198.18.6.2"]);
  });
});
