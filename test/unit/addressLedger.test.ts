// Who holds which IP during one assignment: the sharing rule, refusals, release, and joining a shared IP.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { GROUP_ANNOTATION, SHARING_KEY_ANNOTATION } from "../../src/api/names.js";
import { AddressLedger, sharingRefusal, type Holder } from "../../src/core/addressLedger.js";
import type { Diagnostic } from "../../src/core/diagnostics.js";
import { parseIP, type ParsedIP } from "../../src/core/ip.js";
import type { Pool } from "../../src/core/pools.js";
import { parseRange, type IpRange } from "../../src/core/pools.js";
import { parseService, type ServiceClaim } from "../../src/core/service.js";

/** A Service of group kao/g, parsed as the planner would. */
function claim(name: string, opts: { key?: string; port?: number; group?: string; local?: boolean } = {}) {
  const annotations: Record<string, string> = { [GROUP_ANNOTATION]: opts.group ?? "kao/g" };
  if (opts.key !== undefined) annotations[SHARING_KEY_ANNOTATION] = opts.key;
  const spec = { type: "LoadBalancer", ports: [{ port: opts.port ?? 80 }] };
  const result = parseService({
    metadata: { namespace: "app", name, annotations },
    spec: opts.local === true ? { ...spec, externalTrafficPolicy: "Local" } : spec,
  });
  assert.equal(result.kind, "claim");
  return result.claim;
}
const holderOf = (owner: ServiceClaim, sharingKey?: string): Holder => ({
  group: owner.groupKey,
  owners: [owner],
  ports: new Set(owner.ports),
  dedicated: owner.localTrafficOnly,
  ...(sharingKey === undefined ? {} : { sharingKey }),
});
const ip = (text: string): ParsedIP => parseIP(text) as ParsedIP;
const pool = (name: string, cidr: string): Pool => ({
  name,
  ranges: [parseRange(cidr, false) as IpRange],
  autoAssign: true,
});

describe("sharingRefusal: who may share an IP with its holder", () => {
  const first = claim("first", { key: "k" });
  const cases: [string, Holder, ServiceClaim, RegExp | undefined][] = [
    [
      "same group, same key, other ports: shares",
      holderOf(first, "k"),
      claim("b", { key: "k", port: 81 }),
      undefined,
    ],
    ["same key, same port", holderOf(first, "k"), claim("b", { key: "k" }), /both use port TCP\/80/],
    [
      "no key",
      holderOf(first),
      claim("b", { port: 81 }),
      /same keepalived-operator.redhat-cop.io\/allow-shared-ip key/,
    ],
    ["other key", holderOf(first, "k"), claim("b", { key: "j", port: 81 }), /allow-shared-ip key/],
    [
      "other group",
      holderOf(first, "k"),
      claim("b", { key: "k", port: 81, group: "kao/h" }),
      /another KeepalivedGroup for Service app\/first/,
    ],
    [
      "an instance of its own (Local)",
      holderOf(first, "k"),
      claim("b", { key: "k", port: 81, local: true }),
      /externalTrafficPolicy: Local .* cannot share/,
    ],
  ];
  for (const [name, holder, other, refusal] of cases) {
    it(name, () => {
      const why = sharingRefusal(holder, other);
      if (refusal === undefined) assert.equal(why, undefined);
      else assert.match(why ?? "", refusal);
    });
  }
});

describe("AddressLedger", () => {
  it("a refused take is an IPInUse Warning on the later Service, naming the field", () => {
    const diagnostics: Diagnostic[] = [];
    const ledger = new AddressLedger(diagnostics);
    assert.equal(ledger.take(claim("a"), ip("198.18.0.1"), "spec.externalIPs[0]"), true);
    assert.equal(ledger.take(claim("b"), ip("198.18.0.1"), "spec.externalIPs[1]"), false);
    assert.deepEqual(
      diagnostics.map((d) => [d.object.name, d.field, d.reason]),
      [["b", "spec.externalIPs[1]", "IPInUse"]],
    );
    assert.equal(
      ledger.take(claim("a"), ip("198.18.0.1"), "again"),
      true,
      "taking one's own IP again is fine",
    );
  });
  it("release gives back every IP of the Service, keeping IPs others share", () => {
    const ledger = new AddressLedger([]);
    const a = claim("a", { key: "k" });
    const b = claim("b", { key: "k", port: 81 });
    ledger.take(a, ip("198.18.0.1"), "f");
    ledger.take(a, ip("198.18.0.2"), "f");
    ledger.take(b, ip("198.18.0.2"), "f");
    ledger.release(a);
    assert.deepEqual(ledger.heldBy(a), []);
    assert.equal(ledger.isHeld("198.18.0.1"), false);
    assert.equal(ledger.isHeld("198.18.0.2"), true);
    assert.deepEqual(ledger.sharedWith(), new Map());
  });
  it("shareableIp: an IP of the same key, family and pools, without a port in common", () => {
    const ledger = new AddressLedger([]);
    ledger.take(claim("a", { key: "k" }), ip("198.18.0.9"), "f");
    ledger.take(claim("b", { key: "k" }), ip("198.18.10.5"), "f");
    const pools = [pool("main", "198.18.10.0/24")];
    assert.equal(ledger.shareableIp(claim("c", { key: "k", port: 81 }), 4, pools)?.text, "198.18.10.5");
    assert.equal(ledger.shareableIp(claim("c", { key: "k", port: 80 }), 4, pools), undefined, "port clash");
    assert.equal(ledger.shareableIp(claim("c", { key: "k", port: 81 }), 6, pools), undefined, "family");
    assert.equal(ledger.shareableIp(claim("c", { port: 81 }), 4, pools), undefined, "no key");
  });
  it("countIn and vipsOf report what is held, sorted", () => {
    const ledger = new AddressLedger([]);
    const a = claim("a");
    ledger.take(a, ip("198.18.10.7"), "f");
    ledger.take(a, ip("198.18.10.3"), "f");
    ledger.take(claim("b"), ip("198.18.0.1"), "f");
    assert.equal(ledger.countIn(pool("main", "198.18.10.0/24").ranges), 2);
    assert.deepEqual(
      ledger
        .vipsOf([a])
        .get("app/a")
        ?.map((v) => v.text),
      ["198.18.10.3", "198.18.10.7"],
    );
  });
});
