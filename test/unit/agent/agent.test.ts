// The agent's pure parts: notify lines, config-test verdicts, keepalived's JSON dump,
// the metrics text, backoff and listen addresses. One line per case where a table fits.
import assert from "node:assert/strict";
import { test } from "node:test";
import { commandOutput, leftoverVips, parseIpAddrJson } from "../../../src/agent/addresses.js";
import { configTestProblems } from "../../../src/agent/config.js";
import { Histogram, renderMetrics } from "../../../src/agent/metrics.js";
import { parseNotifyLine } from "../../../src/agent/notify.js";
import { parseKeepalivedJson } from "../../../src/agent/stats.js";
import { backoffDelay } from "../../../src/lib/backoff.js";
import { parseListenAddress } from "../../../src/lib/http.js";

test("parseNotifyLine", () => {
  assert.deepEqual(parseNotifyLine('INSTANCE "node_a_ipv4" MASTER 200'), {
    kind: "INSTANCE",
    name: "node_a_ipv4",
    state: "MASTER",
    priority: 200,
  });
  assert.deepEqual(parseNotifyLine('INSTANCE "x" BACKUP 1\n'), {
    kind: "INSTANCE",
    name: "x",
    state: "BACKUP",
    priority: 1,
  });
  assert.deepEqual(parseNotifyLine('GROUP "g" FAULT'), { kind: "GROUP", name: "g", state: "FAULT" });
  assert.equal(parseNotifyLine('VS "10.0.0.1:80" UP'), undefined);
  assert.equal(parseNotifyLine("garbage"), undefined);
});

test("configTestProblems: warnings reject even with exit 0, silence accepts", () => {
  assert.deepEqual(configTestProblems("", 0), []);
  assert.deepEqual(configTestProblems("(Line 5) Unknown keyword 'bogus'\n", 0), [
    "(Line 5) Unknown keyword 'bogus'",
  ]);
  assert.equal(
    configTestProblems(
      "(x: Line 8) WARNING - interface nope doesn't exist\nNon-existent interface specified in configuration\n",
      5,
    ).length,
    3,
  );
  assert.deepEqual(configTestProblems("something odd\n", 1), [
    "something odd",
    "keepalived --config-test exited with 1",
  ]);
  assert.equal(configTestProblems("advert_int rounding to 1 s\n", 0).length, 1);
});

test("parseKeepalivedJson reads keepalived 2.2's dump", () => {
  const dump = JSON.stringify([
    {
      data: {
        iname: "VI_2",
        ifp_ifname: "eth0",
        vrid: 52,
        state: 1,
        vips: ["198.18.0.201 dev eth0 scope global"],
        evips: ["198.18.0.202/32 dev eth0"],
      },
      stats: { advert_rcvd: 7, advert_sent: 0, become_master: 0, release_master: 0 },
    },
    {
      data: {
        iname: "VI_1",
        ifp_ifname: "eth0",
        vrid: 51,
        state: 2,
        vips: ["198.18.0.200 dev eth0 scope global set"],
      },
      stats: { advert_rcvd: 0, advert_sent: 9, become_master: 1, release_master: 0 },
    },
  ]);
  const stats = parseKeepalivedJson(dump);
  assert.deepEqual(
    stats.map((s) => [s.iname, s.state, s.vips]),
    [
      ["VI_1", 2, ["198.18.0.200"]],
      ["VI_2", 1, ["198.18.0.201", "198.18.0.202"]],
    ],
  );
  assert.equal(stats[1]?.advertRcvd, 7);
});

test("renderMetrics: exporter names, escaped labels, cumulative histogram, sorted series", () => {
  const h = new Histogram([0.5, 1]);
  h.observe(0.3);
  h.observe(0.7);
  const text = renderMetrics({
    keepalivedUp: true,
    instances: [
      {
        iname: 'we"ird',
        intf: "eth0",
        vrid: 5,
        state: 2,
        vips: ["198.18.0.201", "198.18.0.200"],
        advertRcvd: 1,
        advertSent: 2,
        becomeMaster: 3,
        releaseMaster: 4,
      },
    ],
    vipStates: [
      { vip: "198.18.0.201", instance: "i", state: 2 },
      { vip: "198.18.0.200", instance: "i", state: 1 },
    ],
    configReloads: 2,
    configRejected: 1,
    planReadErrors: 3,
    refusedInstances: 2,
    failover: h,
  });
  assert.match(text, /^keepalived_operator_plan_read_errors_total 3$/m);
  assert.match(
    text,
    /^# TYPE keepalived_operator_refused_instances gauge\nkeepalived_operator_refused_instances 2$/m,
  );
  assert.match(text, /^keepalived_up 1$/m);
  assert.match(
    text,
    /^keepalived_vrrp_state\{iname="we\\"ird",intf="eth0",vrid="5",ip_address="198\.18\.0\.200"\} 2$/m,
  );
  assert.ok(text.indexOf('vip="198.18.0.200"') < text.indexOf('vip="198.18.0.201"'));
  assert.match(text, /^keepalived_operator_failover_seconds_bucket\{le="0.5"\} 1$/m);
  assert.match(text, /^keepalived_operator_failover_seconds_bucket\{le="1"\} 2$/m);
  assert.match(text, /^keepalived_operator_failover_seconds_bucket\{le="\+Inf"\} 2$/m);
  assert.match(text, /^keepalived_operator_failover_seconds_count 2$/m);
  assert.ok(text.endsWith("\n"));
});

test("leftoverVips: only the plan's host addresses, never the node's own", () => {
  const present = parseIpAddrJson(
    JSON.stringify([
      {
        ifname: "eth0",
        addr_info: [
          { family: "inet", local: "198.18.0.11", prefixlen: 24 },
          { family: "inet", local: "198.18.0.200", prefixlen: 32 },
          { family: "inet6", local: "2001:DB8::200", prefixlen: 128 },
        ],
      },
    ]),
  );
  assert.deepEqual(
    leftoverVips(present, ["198.18.0.200", "2001:db8::200", "198.18.0.11"]).map((a) => a.ip),
    ["198.18.0.200", "2001:db8::200"],
  );
});

test("backoffDelay doubles up to the cap", () => {
  assert.deepEqual(
    [0, 1, 2, 3, 20].map((n) => backoffDelay(n)),
    [250, 500, 1000, 2000, 30_000],
  );
});

test("parseListenAddress", () => {
  assert.deepEqual(parseListenAddress("127.0.0.1:9650"), { host: "127.0.0.1", port: 9650 });
  assert.deepEqual(parseListenAddress(":9650"), { host: "0.0.0.0", port: 9650 });
  assert.deepEqual(parseListenAddress("[::1]:9650"), { host: "::1", port: 9650 });
  assert.equal(parseListenAddress("9650"), undefined);
  assert.equal(parseListenAddress("host:99999"), undefined);
});

test("commandOutput: reads an output far over execFile's 1 MiB buffer whole; a failure names the command", async () => {
  // 7,000 VIPs of `ip -j addr` are about 1.4 MB; read 4 MiB.
  const size = 4 * 1024 * 1024;
  const out = await commandOutput(process.execPath, ["-e", `process.stdout.write("x".repeat(${size}))`]);
  assert.equal(out.length, size);
  await assert.rejects(
    commandOutput(process.execPath, ["-e", "process.stderr.write('no such device'); process.exit(2)"]),
    /failed \(exit 2\): no such device$/,
  );
});
