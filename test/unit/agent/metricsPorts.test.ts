// Each group's agents get their own metrics port (render/metricsPorts.ts), and the DaemonSet carries it in
// its ports, probes and the agent's --metrics-address, so two groups' agents run side by side on one node.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseAgentArgs } from "../../../src/cli/agent.js";
import type { KeepalivedGroup } from "../../../src/api/types.js";
import { planCluster } from "../../../src/core/plan.js";
import {
  daemonSetMetricsPort,
  metricsPortClaims,
  metricsPorts,
  type MetricsPortClaim,
} from "../../../src/render/metricsPorts.js";
import { desiredDaemonSet } from "../../../src/render/objects.js";

const claim = (key: string, created: string, more: Partial<MetricsPortClaim> = {}): MetricsPortClaim => ({
  key,
  created: `2024-01-0${created}T00:00:00Z`,
  ...more,
});
const chosen = (claims: MetricsPortClaim[]): string =>
  [...metricsPorts(claims).ports]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, p]) => `${k}=${p}`)
    .join(" ");

test("metricsPorts: one port per group, oldest first from 9650; kept ports stay; asked ports win", () => {
  for (const [what, claims, expected] of [
    ["one group", [claim("a/x", "1")], "a/x=9650"],
    ["by age, not by name", [claim("a/x", "2"), claim("b/y", "1")], "a/x=9651 b/y=9650"],
    ["same age: by key", [claim("b/y", "1"), claim("a/x", "1")], "a/x=9650 b/y=9651"],
    [
      "today's clash (both DaemonSets on 9650): the older keeps it",
      [claim("a/x", "2", { current: 9650 }), claim("b/y", "1", { current: 9650 })],
      "a/x=9651 b/y=9650",
    ],
    [
      "a deleted older group moves nobody",
      [claim("c/z", "3", { current: 9652 }), claim("a/x", "1", { current: 9650 })],
      "a/x=9650 c/z=9652",
    ],
    [
      "a new group takes the lowest free port and moves nobody",
      [claim("a/x", "1", { current: 9650 }), claim("c/z", "3", { current: 9652 }), claim("d/w", "4")],
      "a/x=9650 c/z=9652 d/w=9651",
    ],
    [
      "an asked port wins over a kept one, and is skipped by the others",
      [claim("a/x", "1", { current: 9650 }), claim("b/y", "2", { requested: 9650 }), claim("c/z", "3")],
      "a/x=9651 b/y=9650 c/z=9652",
    ],
    [
      "an asked port far away",
      [claim("a/x", "1", { requested: 20000 }), claim("b/y", "2")],
      "a/x=20000 b/y=9650",
    ],
  ] as const)
    assert.equal(chosen([...claims]), expected, what);
});

test("metricsPorts: the same claims in any order give the same ports; two groups asking one port are named", () => {
  const claims = [
    claim("a/x", "1", { current: 9650 }),
    claim("b/y", "2", { requested: 9700 }),
    claim("c/z", "2", { requested: 9700 }),
    claim("d/w", "3"),
    claim("e/v", "4", { current: 9650 }),
  ];
  const expected = chosen(claims);
  const permutations = <T>(list: T[]): T[][] =>
    list.length <= 1
      ? [list]
      : list.flatMap((x, i) =>
          permutations([...list.slice(0, i), ...list.slice(i + 1)]).map((p) => [x, ...p]),
        );
  const orders = permutations(claims);
  assert.equal(orders.length, 120);
  for (const order of orders) assert.equal(chosen(order), expected);
  assert.equal(expected, "a/x=9650 b/y=9700 c/z=9700 d/w=9651 e/v=9652");
  assert.deepEqual(metricsPorts(claims).conflicts, [{ port: 9700, groups: ["b/y", "c/z"] }]);
  assert.equal(new Set(metricsPorts(claims.filter((c) => c.key !== "c/z")).ports.values()).size, 4);
});

const group = (name: string, created: string, agent?: Record<string, unknown>): KeepalivedGroup => ({
  metadata: { name, namespace: "kao", creationTimestamp: created },
  spec: { interface: "eth0", ...(agent === undefined ? {} : { agent: agent }) },
});

test("desiredDaemonSet carries the port; metricsPortClaims reads it back and the groups' asks", () => {
  const groups = [
    group("old", "2024-01-01T00:00:00Z"),
    group("new", "2024-01-02T00:00:00Z"),
    group("fixed", "2024-01-03T00:00:00Z", { metricsPort: 9800 }),
    // Past the schema (which bounds it to 1024-65535): ignored, never rendered.
    group("bogus", "2024-01-04T00:00:00Z", { metricsPort: "80" }),
    group("low", "2024-01-05T00:00:00Z", { metricsPort: 80 }),
  ];
  const plan = planCluster({ groups, services: [], nodes: [{ metadata: { name: "n1" } }] });
  const ports = metricsPorts(metricsPortClaims(groups, new Map())).ports;
  const dsOf = new Map(
    plan.groups.map((gp) => [gp.group.key, desiredDaemonSet(gp, { uid: "u" }, ports.get(gp.group.key))]),
  );
  assert.deepEqual(Object.fromEntries([...ports].sort()), {
    "kao/bogus": 9652,
    "kao/fixed": 9800,
    "kao/low": 9653,
    "kao/new": 9651,
    "kao/old": 9650,
  });
  for (const [key, ds] of dsOf) assert.equal(daemonSetMetricsPort(ds), ports.get(key), key);
  const ds = dsOf.get("kao/new")!;
  const container = (ds.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template
    .spec.containers[0]!;
  assert.deepEqual(container.ports, [
    { name: "metrics", containerPort: 9651, hostPort: 9651, protocol: "TCP" },
  ]);
  assert.deepEqual((container.livenessProbe as { httpGet: unknown }).httpGet, {
    path: "/healthz",
    port: 9651,
  });
  assert.deepEqual((container.readinessProbe as { httpGet: unknown }).httpGet, {
    path: "/readyz",
    port: 9651,
  });
  // The agent the DaemonSet runs listens where the probes and the port say.
  const [subcommand, ...args] = (container.args as string[]).map((a) => (a === "$(NODE_NAME)" ? "n1" : a));
  assert.equal(subcommand, "agent");
  const settings = parseAgentArgs(args, {});
  assert.ok(settings !== "help");
  assert.deepEqual(settings.listen, { host: "0.0.0.0", port: 9651, text: "0.0.0.0:9651" });
  // The DaemonSet is the record: read back, the choice is the same.
  const live = new Map([...dsOf].map(([k, d]) => [k, d]));
  assert.deepEqual(metricsPorts(metricsPortClaims(groups, live)).ports, ports);
  assert.equal(daemonSetMetricsPort(undefined), undefined);
  assert.equal(daemonSetMetricsPort({ metadata: {} }), undefined);
});
