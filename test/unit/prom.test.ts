// The one Prometheus text writer: what the controller's Registry and the agent's metrics both print.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Histogram, Registry, renderFamilies } from "../../src/lib/prom.js";

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
