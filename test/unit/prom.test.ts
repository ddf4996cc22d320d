// The one Prometheus text writer: what the controller's Registry and the agent's metrics both print.
import assert from "node:assert/strict";
import { test } from "node:test";
import { spawnSync } from "node:child_process";
import { Histogram, processMemoryFamilies, Registry, renderFamilies } from "../../src/lib/prom.js";

test("renderFamilies: HELP and TYPE, labels in the given order and escaped, special numbers", () => {
  assert.equal(
    renderFamilies([
      {
        name: "x",
        type: "gauge",
        help: "X.",
        samples: [
          { labels: { b: 'q"\\\n', a: 1 }, value: 0.5 },
          { labels: {}, value: Infinity },
          { labels: {}, value: -Infinity },
          { labels: {}, value: NaN },
        ],
      },
      { name: "empty_total", type: "counter", help: "None yet.", samples: [] },
    ]),
    [
      "# HELP x X.",
      "# TYPE x gauge",
      'x{b="q\\"\\\\\\n",a="1"} 0.5',
      "x +Inf",
      "x -Inf",
      "x NaN",
      "# HELP empty_total None yet.",
      "# TYPE empty_total counter",
      "",
    ].join("\n"),
  );
  assert.equal(renderFamilies([]), "\n");
});

test("Histogram: cumulative buckets, +Inf, sum and count", () => {
  const h = new Histogram([0.5, 1]);
  for (const v of [0.3, 0.5, 0.7, 3]) h.observe(v);
  assert.equal(
    renderFamilies([{ name: "d_seconds", type: "histogram", help: "D.", samples: h.samples() }]),
    [
      "# HELP d_seconds D.",
      "# TYPE d_seconds histogram",
      'd_seconds_bucket{le="0.5"} 2',
      'd_seconds_bucket{le="1"} 3',
      'd_seconds_bucket{le="+Inf"} 4',
      "d_seconds_sum 4.5",
      "d_seconds_count 4",
      "",
    ].join("\n"),
  );
});

test("Registry: families in registration order, series in first-seen order, labels sorted by name", () => {
  const r = new Registry();
  const writes = r.counter("writes_total", "Writes.");
  const leader = r.gauge("leader", "Leads.");
  const duration = r.histogram("reconcile_seconds", "Time.", [1]);
  writes.inc({ kind: "Secret", reason: "x" });
  writes.inc();
  writes.inc({ reason: "x", kind: "Secret" }, 2);
  leader.set(1, { group: "a" });
  leader.reset();
  leader.set(0);
  duration.observe(2);
  assert.equal(
    r.render(),
    [
      "# HELP writes_total Writes.",
      "# TYPE writes_total counter",
      'writes_total{kind="Secret",reason="x"} 3',
      "writes_total 1",
      "# HELP leader Leads.",
      "# TYPE leader gauge",
      "leader 0",
      "# HELP reconcile_seconds Time.",
      "# TYPE reconcile_seconds histogram",
      'reconcile_seconds_bucket{le="1"} 0',
      'reconcile_seconds_bucket{le="+Inf"} 1',
      "reconcile_seconds_sum 2",
      "reconcile_seconds_count 1",
      "",
    ].join("\n"),
  );
});

test("Registry: collected families (the process's memory) follow the registered ones, read at each scrape", () => {
  const r = new Registry();
  r.gauge("a", "A.").set(1);
  let rss = 100;
  r.collect(() => processMemoryFamilies({ rss, heapTotal: 50, heapUsed: 40, external: 5, arrayBuffers: 1 }));
  const first = r.render();
  rss = 200;
  const second = r.render();
  assert.match(first, /^# HELP a A\.\n# TYPE a gauge\na 1\n# HELP process_resident_memory_bytes /);
  assert.match(first, /\nprocess_resident_memory_bytes 100\n/);
  assert.match(second, /\nprocess_resident_memory_bytes 200\n/);
  for (const line of [
    "nodejs_heap_size_total_bytes 50",
    "nodejs_heap_size_used_bytes 40",
    "nodejs_external_memory_bytes 5",
  ])
    assert.ok(first.includes(`\n${line}\n`), line);
  const spawned = spawnSync("promtool", ["check", "metrics"], { input: first, encoding: "utf8" });
  assert.equal(spawned.error, undefined, "promtool runs (scripts/setup.sh installs it)");
  assert.equal(`${spawned.stdout}${spawned.stderr}`, "", "promtool is silent");
  assert.equal(`${spawned.stdout}${spawned.stderr}`, "", "promtool is silent");
});
