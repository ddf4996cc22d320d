import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cidrContains, notAVipReason, parseCidr, parseIP } from "../../src/core/ip.js";

describe("parseIP", () => {
  const cases: [string, string | undefined, (4 | 6)?][] = [
    ["198.18.0.1", "198.18.0.1", 4],
    [" 198.18.0.1 ", "198.18.0.1", 4],
    ["2001:DB8:0:0:0:0:0:1", "2001:db8::1", 6],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", 6],
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1", 6],
    ["::ffff:198.18.0.1", "::ffff:c612:1", 6],
    ["fe80::1%eth0", undefined],
    ["198.18.0.256", undefined],
    ["198.18.0.1/32", undefined],
    ["1.2.3", undefined],
    ["", undefined],
    ["198.18.0.1\n}", undefined],
  ];
  for (const [input, text, family] of cases) {
    it(JSON.stringify(input), () => {
      const ip = parseIP(input);
      assert.equal(ip?.text, text);
      if (family !== undefined) assert.equal(ip?.family, family);
    });
  }
});

describe("CIDRs and VIP eligibility", () => {
  it("masks and contains", () => {
    const c = parseCidr("198.18.10.7/24")!;
    assert.equal(c.text, "198.18.10.0/24");
    assert.ok(cidrContains(c, parseIP("198.18.10.255")!));
    assert.ok(!cidrContains(c, parseIP("198.18.11.0")!));
    assert.equal(parseCidr("2001:db8::/129"), undefined);
    assert.equal(parseCidr("198.18.0.0/24/1"), undefined);
  });
  it("refuses addresses that can never be VIPs", () => {
    for (const ip of [
      "127.0.0.1",
      "0.0.0.0",
      "224.0.0.18",
      "255.255.255.255",
      "169.254.1.1",
      "::1",
      "fe80::1",
      "ff02::12",
      "::",
    ]) {
      assert.ok(notAVipReason(parseIP(ip)!), ip);
    }
    for (const ip of ["198.18.0.1", "10.0.0.1", "2001:db8::1"])
      assert.equal(notAVipReason(parseIP(ip)!), undefined, ip);
  });
});
