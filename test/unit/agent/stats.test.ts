// keepalived's JSON dump → per-instance figures, as sampled up to four times a second: each VIP's address is
// its first word without a prefix length, and a sample whose VIPs are the previous one's keeps that list.
import assert from "node:assert/strict";
import { test } from "node:test";
import { keepalivedStats } from "../../../src/agent/stats.js";

const instance = (iname: string, vips: unknown[], advertRcvd = 0): unknown => ({
  data: { iname, ifp_ifname: "eth0", vrid: 51, state: 2, vips, evips: [] },
  stats: { advert_rcvd: advertRcvd },
});

test("VIP addresses: the first word, without a prefix length; blanks and non-strings dropped", () => {
  const [s] = keepalivedStats([
    instance("VI_1", [
      "198.18.0.200 dev eth0 scope global set",
      "  198.18.0.201/32 dev eth0",
      "2001:db8::5/128",
      "198.18.0.202",
      "",
      "   ",
      7,
      null,
    ]),
  ]);
  assert.deepEqual(s?.vips, ["198.18.0.200", "198.18.0.201", "2001:db8::5", "198.18.0.202"]);
});

test("a sample with the previous sample's VIPs keeps the previous list; a changed one gets its own", () => {
  const vips = Array.from(
    { length: 1000 },
    (_, i) => `198.18.${16 + (i >> 8)}.${i % 256} dev eth0 scope global`,
  );
  const first = keepalivedStats([instance("VI_1", vips, 1), instance("VI_2", ["198.18.9.1 dev eth0"])]);
  const second = keepalivedStats(
    JSON.parse(JSON.stringify([instance("VI_1", vips, 2), instance("VI_2", ["198.18.9.2 dev eth0"])])),
    first,
  );
  assert.equal(second[0]?.vips, first[0]?.vips, "VI_1: the same list object");
  assert.equal(second[0]?.advertRcvd, 2, "its counters are the new sample's");
  assert.notEqual(second[1]?.vips, first[1]?.vips);
  assert.deepEqual(second[1]?.vips, ["198.18.9.2"]);
  const reordered = keepalivedStats([instance("VI_1", [...vips].reverse())], first);
  assert.notEqual(reordered[0]?.vips, first[0]?.vips, "order counts: a new list");
  assert.equal(reordered[0]?.vips[0], "198.18.19.231");
});

test("a dump that is not a list is refused", () => {
  assert.throws(() => keepalivedStats({ data: {} }), /not a list of instances/);
});
