// The controller's decisions, MetalLB style (controller/controller_test.go): table cases of cluster state and
// previous observations → the ordered actions, replayed through the ActionRunner against a recording writer;
// every case also replayed with its lists shuffled, and settled (written back) to show nothing is rewritten.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Manifest } from "../../../src/api/kube.js";
import {
  GROUP_LABEL,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  NODE_LABEL,
  nodePlanName,
} from "../../../src/api/names.js";
import { parsePlan } from "../../../src/render/planCodec.js";
import type { KeepalivedGroupStatus } from "../../../src/api/types.js";
import {
  decide,
  decideGroups,
  decideRest,
  planState,
  serviceStatusWrites,
  type Action,
  type Decision,
  type EventAction,
  type Holders,
  type Observations,
  type ClusterState,
} from "../../../src/controller/decide.js";
import type { EventWrite } from "../../../src/controller/eventCorrelator.js";
import { ActionRunner, type ClusterWriter } from "../../../src/controller/writer.js";
import type { Logger } from "../../../src/lib/log.js";
import type { ServiceWithManagedFields } from "../../../src/render/serviceStatus.js";
import {
  LB,
  NOW,
  NS,
  cluster,
  converged,
  group,
  lease,
  node,
  ours,
  owned,
  planConfigMap,
  service,
  settled,
  theirs,
  web,
} from "./cluster.js";

// --- a recording writer behind the real ActionRunner -------------------------------------------------------

function line(a: Action): string {
  if (a.kind === "event") {
    const { involved: o } = a;
    return `event ${a.type} ${a.reason} ${o.kind} ${o.namespace}/${o.name}${a.standing ? "" : " (each time)"}`;
  }
  const m = a.kind === "delete" ? a.target : a.manifest;
  // A node plan's name ends in a hash of (group, node): written as "#" to keep the table readable.
  const name = `${m.kind} ${m.metadata.namespace ?? ""}/${m.metadata.name.replace(/-[0-9a-f]{10}$/, "-#")}`;
  if (a.kind === "apply") return `apply ${name}`;
  if (a.kind === "delete") return `delete ${name}`;
  const lb = (a.manifest.status as ServiceWithManagedFields["status"])?.loadBalancer;
  return m.kind === "Service"
    ? `status ${name} ingress=[${(lb?.ingress ?? []).map((i) => i.ip ?? "").join(",")}]`
    : `status ${name}`;
}

const quiet: Logger = { info() {}, warn() {}, error() {}, with: () => quiet };
const noCounter = { inc() {} };

class RecordingWriter implements ClusterWriter {
  readonly calls: string[] = [];
  apply(manifest: Manifest, subresource?: "status"): Promise<undefined> {
    this.calls.push(
      line(subresource === "status" ? { kind: "applyStatus", manifest } : { kind: "apply", manifest }),
    );
    return Promise.resolve(undefined);
  }
  delete(target: Manifest): Promise<void> {
    this.calls.push(line({ kind: "delete", target }));
    return Promise.resolve();
  }
  event(w: EventWrite): Promise<string> {
    this.calls.push(line(w.event));
    return Promise.resolve(`${w.event.involved.name}.${this.calls.length}`);
  }
}

// --- the table: objects are written in the order decided, Events after them --------------------------------

interface Case {
  name: string;
  state: () => ClusterState;
  holders?: () => Holders;
  want: string[];
  check?: (d: Decision) => void;
}

const applied = (d: Decision, kind: string): Manifest =>
  (
    d.actions.find((a) => a.kind !== "event" && a.kind !== "delete" && a.manifest.kind === kind) as {
      manifest: Manifest;
    }
  ).manifest;
const events = (d: Decision, reason: string): EventAction[] =>
  d.actions.filter((a): a is EventAction => a.kind === "event" && a.reason === reason);
const heldBy = (vip: string, ...nodes: string[]): Holders =>
  new Map([[`${NS}/workers`, new Map([[vip, nodes]])]]);

const cases: Case[] = [
  {
    name: "a valid group with a Service: node plans, DaemonSet, status, VIPAssigned, ingress",
    state: () => cluster({ services: [web()] }),
    want: [
      "apply ConfigMap kao/workers-master-0-#",
      "apply ConfigMap kao/workers-master-1-#",
      "apply DaemonSet kao/workers",
      "status KeepalivedGroup kao/workers",
      "status Service demo/web ingress=[198.18.6.10]",
      "event Normal VIPAssigned Service demo/web",
    ],
    check: (d) => {
      const cm = applied(d, "ConfigMap");
      assert.deepEqual(
        cm.metadata.ownerReferences?.map((o) => [o.kind, o.name, o.uid]),
        [["KeepalivedGroup", "workers", "uid-workers"]],
      );
      assert.equal(cm.metadata.name, nodePlanName("workers", "master-0"));
      assert.deepEqual(cm.metadata.labels, {
        [GROUP_LABEL]: "workers",
        [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
        [NODE_LABEL]: "master-0",
      });
      const share = parsePlan((cm.data as Record<string, string>)["plan.json"] ?? "", "test");
      assert.deepEqual(share.nodes.map((n) => n.name).sort(), ["master-0", "master-1"]);
      assert.deepEqual(Object.keys(cm.data as object), ["plan.json"], "no example config is stored");
      const status = applied(d, "KeepalivedGroup").status as KeepalivedGroupStatus;
      assert.deepEqual([status.nodes, status.vips], [2, 1]);
      const ready = status.conditions?.find((c) => c.type === "Ready");
      // The transition time is the clock passed in.
      assert.deepEqual([ready?.status, ready?.lastTransitionTime], ["True", new Date(NOW).toISOString()]);
      const [assigned] = events(d, "VIPAssigned");
      assert.match(
        assigned?.message ?? "",
        /^198\.18\.6\.10 is announced by KeepalivedGroup kao\/workers; node master-[01] holds it/,
      );
      assert.equal(assigned?.involved.uid, "uid-demo-web");
      assert.deepEqual(d.gauges, {
        groups: [{ group: "kao/workers", vips: 1, nodes: 2 }],
        servicesWithProblems: 0,
      });
      assert.ok(["master-0", "master-1"].includes(d.plan.groups[0]?.placement["198.18.6.10"] ?? ""));
    },
  },
  {
    name: "an unchanged cluster: nothing is rewritten",
    state: () => converged(cluster({ services: [web()] })),
    want: [],
  },
  {
    name: "a group the API server has not given a uid yet is left alone",
    state: () => cluster({ groups: [group("workers", { uid: "" })] }),
    want: [],
    check: (d) => {
      assert.deepEqual(d.gauges.groups, []);
    },
  },
  {
    name: "an invalid group: status says why, Warnings on it and its Services; its ConfigMap stays",
    state: () =>
      cluster({
        groups: [
          group("workers", {
            spec: { interface: "ens3", nodeSelector: LB, verbatimConfig: { notify_fifo_script: "/bin/sh" } },
            status: { routerIDs: { "node/master-0/ipv4": 7 } },
          }),
        ],
        services: [web()],
        configMaps: [planConfigMap("workers", { "198.18.6.10": "master-0" })],
        daemonSets: [owned("DaemonSet", "workers")],
      }),
    want: [
      "status KeepalivedGroup kao/workers",
      "event Warning InvalidVerbatimConfig KeepalivedGroup kao/workers",
      "event Warning GroupNotFound Service demo/web",
    ],
    check: (d) => {
      const status = applied(d, "KeepalivedGroup").status as KeepalivedGroupStatus;
      const ready = status.conditions?.find((c) => c.type === "Ready");
      assert.deepEqual([ready?.status, ready?.reason], ["False", "InvalidVerbatimConfig"]);
      assert.match(ready?.message ?? "", /notify_fifo_script/);
      assert.deepEqual(status.routerIDs, { "node/master-0/ipv4": 7 }, "router IDs survive the bad spec");
      assert.equal(events(d, "InvalidVerbatimConfig")[0]?.involved.uid, "uid-workers");
      assert.equal(
        events(d, "InvalidVerbatimConfig")[0]?.involved.apiVersion,
        "redhatcop.redhat.io/v1alpha1",
      );
      assert.match(events(d, "GroupNotFound")[0]?.message ?? "", /is invalid/);
      assert.deepEqual(d.gauges, { groups: [], servicesWithProblems: 1 });
    },
  },
  {
    name: "someone else's ingress is left alone (its IP is announced)",
    state: () =>
      cluster({ services: [service("demo", { ingress: ["172.21.6.50"], managedFields: theirs })] }),
    want: [
      "apply ConfigMap kao/workers-master-0-#",
      "apply ConfigMap kao/workers-master-1-#",
      "apply DaemonSet kao/workers",
      "status KeepalivedGroup kao/workers",
      "event Normal VIPAssigned Service demo/demo",
    ],
  },
  {
    name: "our ingress on a Service that is no longer a LoadBalancer: cleared",
    state: () => ({
      ...converged(cluster()),
      services: [service("was-lb", { type: "ClusterIP", ingress: ["198.18.6.11"], managedFields: ours })],
    }),
    want: ["status Service demo/was-lb ingress=[]"],
    check: (d) => {
      assert.deepEqual(d.plan.groups[0]?.placement, {});
    },
  },
  {
    name: "a ClusterIP Service with externalIPs: the VIP is announced, no status is written",
    state: () => cluster({ services: [service("cip", { type: "ClusterIP", externalIPs: ["198.18.6.12"] })] }),
    want: [
      "apply ConfigMap kao/workers-master-0-#",
      "apply ConfigMap kao/workers-master-1-#",
      "apply DaemonSet kao/workers",
      "status KeepalivedGroup kao/workers",
      "event Normal VIPAssigned Service demo/cip",
    ],
  },
  {
    name: "the VIP's previous node left the group: VIPMoved",
    state: () =>
      cluster({ services: [web()], configMaps: [planConfigMap("workers", { "198.18.6.10": "master-2" })] }),
    want: [
      "apply ConfigMap kao/workers-master-0-#",
      "apply ConfigMap kao/workers-master-1-#",
      "delete ConfigMap kao/workers",
      "apply DaemonSet kao/workers",
      "status KeepalivedGroup kao/workers",
      "status Service demo/web ingress=[198.18.6.10]",
      "event Normal VIPMoved Service demo/web",
    ],
    check: (d) => {
      assert.match(
        events(d, "VIPMoved")[0]?.message ?? "",
        /^198\.18\.6\.10 moved from node master-2 to node master-[01] /,
      );
    },
  },
  {
    name: "the first observation of holders emits nothing (a restart is not a change)",
    state: () => ({
      ...converged(cluster({ services: [web()] })),
      leases: [lease("master-0", ["198.18.6.10"])],
    }),
    want: [],
    check: (d) => {
      assert.deepEqual(d.holders.get("kao/workers")?.get("198.18.6.10"), ["master-0"]);
    },
  },
  {
    name: "another node holds the VIP: VIPHeld, every time",
    state: () => ({
      ...converged(cluster({ services: [web()] })),
      leases: [lease("master-1", ["198.18.6.10"])],
    }),
    holders: () => heldBy("198.18.6.10", "master-0"),
    want: ["event Normal VIPHeld Service demo/web (each time)"],
    check: (d) => {
      assert.equal(events(d, "VIPHeld")[0]?.message, "198.18.6.10 is held by node master-1 (was master-0).");
    },
  },
  {
    name: "two nodes report the VIP: VIPOnSeveralNodes",
    state: () => ({
      ...converged(cluster({ services: [web()] })),
      leases: [lease("master-1", ["198.18.6.10"]), lease("master-0", ["198.18.6.10"])],
    }),
    holders: () => heldBy("198.18.6.10", "master-0"),
    want: ["event Warning VIPOnSeveralNodes Service demo/web (each time)"],
    check: (d) => {
      assert.match(
        events(d, "VIPOnSeveralNodes")[0]?.message ?? "",
        /^198\.18\.6\.10 is reported by nodes master-0, master-1 at once/,
      );
    },
  },
  {
    name: "nobody reports the VIP any more (the Lease expired): VIPNotHeld",
    state: () => ({
      ...converged(cluster({ services: [web()] })),
      leases: [lease("master-0", ["198.18.6.10"], 60_000)],
    }),
    holders: () => heldBy("198.18.6.10", "master-0"),
    want: ["event Warning VIPNotHeld Service demo/web (each time)"],
    check: (d) => {
      assert.equal(
        events(d, "VIPNotHeld")[0]?.message,
        "no node reports holding 198.18.6.10 (was master-0); check the agent pods of group kao/workers.",
      );
    },
  },
  {
    name: "objects of a deleted group are deleted; others stay",
    state: () => ({
      ...converged(cluster()),
      configMaps: [
        ...converged(cluster()).configMaps,
        owned("ConfigMap", "old"),
        owned("ConfigMap", "stray", "old"),
      ],
      daemonSets: [...converged(cluster()).daemonSets, owned("DaemonSet", "old")],
    }),
    want: ["delete ConfigMap kao/old", "delete ConfigMap kao/stray", "delete DaemonSet kao/old"],
  },
  {
    name: "problems of Services become Warning Events on them; other Services are unaffected",
    state: () =>
      cluster({
        services: [
          service("bad-annotation", { group: "no-slash", externalIPs: ["198.18.6.20"] }),
          service("unknown-group", { group: `${NS}/nope`, externalIPs: ["198.18.6.21"] }),
          service("thief", { ns: "other", externalIPs: ["198.18.6.22"], created: "2025-02-01T00:00:00Z" }),
          service("good", { externalIPs: ["198.18.6.22"] }),
        ],
      }),
    want: [
      "apply ConfigMap kao/workers-master-0-#",
      "apply ConfigMap kao/workers-master-1-#",
      "apply DaemonSet kao/workers",
      "status KeepalivedGroup kao/workers",
      "status Service demo/good ingress=[198.18.6.22]",
      "event Normal VIPAssigned Service demo/good",
      "event Warning InvalidGroupAnnotation Service demo/bad-annotation",
      "event Warning GroupNotFound Service demo/unknown-group",
      "event Warning IPInUse Service other/thief",
    ],
    check: (d) => {
      assert.match(events(d, "IPInUse")[0]?.message ?? "", /demo\/good/);
      assert.equal(events(d, "IPInUse")[0]?.involved.uid, "uid-other-thief");
      assert.match(events(d, "GroupNotFound")[0]?.message ?? "", /kao\/nope does not exist/);
      assert.equal(d.gauges.servicesWithProblems, 3);
      assert.deepEqual(Object.keys(d.plan.groups[0]?.placement ?? {}), ["198.18.6.22"]);
    },
  },
  {
    name: "a problem of a Node is logged, not evented",
    state: () => converged(cluster({ nodes: [node("master-0", 0), node("Bad_Node", 1)] })),
    want: [],
    check: (d) => {
      assert.equal(d.nodeProblems.length, 1);
      assert.match(d.nodeProblems[0] ?? "", /^Node Bad_Node: metadata\.name: /);
    },
  },
  {
    name: "a problem of a group becomes a Warning on it and its status",
    state: () => cluster({ nodes: [node("master-2", 2, {})] }),
    want: [
      "apply DaemonSet kao/workers",
      "status KeepalivedGroup kao/workers",
      "event Warning NoNodes KeepalivedGroup kao/workers",
    ],
    check: (d) => {
      const ready = (applied(d, "KeepalivedGroup").status as KeepalivedGroupStatus).conditions?.[0];
      assert.deepEqual([ready?.status, ready?.reason], ["False", "NoNodes"]);
    },
  },
];

function observe(c: Case): Observations {
  return { nowMs: NOW, holders: c.holders?.() };
}

// A seeded shuffle: the replays are the same on every run.
function shuffler(seed: number): <T>(list: readonly T[]) => T[] {
  let s = seed;
  const next = (): number => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
  return (list) => {
    const out = [...list];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  };
}

function shuffled(state: ClusterState, shuffle: <T>(list: readonly T[]) => T[]): ClusterState {
  return Object.fromEntries(
    Object.entries(state).map(([k, v]) => [k, shuffle(v as unknown[])]),
  ) as unknown as ClusterState;
}

describe("serviceStatusWrites", () => {
  it("counts the actions that write a Service's status, and nothing else", () => {
    const meta = { name: "a", namespace: "n" };
    const actions: Action[] = [
      { kind: "applyStatus", manifest: { apiVersion: "v1", kind: "Service", metadata: meta } },
      { kind: "apply", manifest: { apiVersion: "v1", kind: "Service", metadata: meta } },
      {
        kind: "applyStatus",
        manifest: { apiVersion: "v1", kind: "Service", metadata: { ...meta, name: "b" } },
      },
      {
        kind: "applyStatus",
        manifest: { apiVersion: "redhatcop.redhat.io/v1alpha1", kind: "KeepalivedGroup", metadata: meta },
      },
      { kind: "delete", target: { apiVersion: "v1", kind: "ConfigMap", metadata: meta } },
    ];
    assert.equal(serviceStatusWrites(actions), 2);
    assert.equal(serviceStatusWrites([]), 0);
  });
});

describe("controller decisions", () => {
  for (const c of cases) {
    it(c.name, async () => {
      const state = c.state();
      const before = structuredClone(state);
      const d = decide(state, observe(c));
      assert.deepEqual(state, before, "decide changes none of its inputs");
      const writer = new RecordingWriter();
      const failures = await new ActionRunner(writer, { writes: noCounter, errors: noCounter }, quiet).run(
        d.actions,
      );
      assert.deepEqual(failures, []);
      assert.deepEqual(writer.calls, c.want);
      c.check?.(d);
    });
  }
});

describe("controller decisions in two halves (the controller writes the first while it decides the second)", () => {
  for (const c of cases) {
    it(`${c.name}: the groups' objects first, then the Services', together decide()'s actions`, () => {
      const state = c.state();
      const seen = observe(c);
      const plan = planState(state, seen);
      const first = decideGroups(plan, state, seen);
      const whole = decideRest(first, plan, state, seen);
      assert.deepEqual(whole.actions, decide(state, observe(c)).actions);
      assert.deepEqual(whole.actions.slice(0, first.actions.length), first.actions);
      const isServiceStatus = (a: Action): boolean =>
        a.kind === "applyStatus" && a.manifest.kind === "Service";
      const isNodePlan = (a: Action): boolean =>
        a.kind === "apply" && a.manifest.metadata.labels?.[NODE_LABEL] !== undefined;
      assert.ok(!first.actions.some(isServiceStatus), "no Service status in the first half");
      const rest = whole.actions.slice(first.actions.length);
      assert.ok(!rest.some(isNodePlan), "every node plan in the first half");
    });
  }
});

describe("controller decisions, shuffled", () => {
  for (const c of cases) {
    it(`${c.name}: 50 shuffled orders, one answer`, () => {
      const state = c.state();
      const want = decide(state, observe(c));
      for (let seed = 1; seed <= 50; seed++) {
        const got = decide(shuffled(state, shuffler(seed)), observe(c));
        assert.deepEqual(got.actions, want.actions, `seed ${seed}`);
        assert.deepEqual(got.gauges, want.gauges, `seed ${seed}`);
        assert.deepEqual(got.nodeProblems, want.nodeProblems, `seed ${seed}`);
      }
    });
  }
});

describe("a new group", () => {
  it("is written once: after its first pass is written back, the next pass writes nothing", () => {
    const state = cluster({ services: [web(), service("pool", { externalIPs: ["198.18.6.11"] })] });
    const first = decide(state, { nowMs: NOW, holders: undefined });
    const writes = first.actions.filter((a) => a.kind !== "event");
    assert.ok(writes.length >= 4, "ConfigMap, DaemonSet, group status, Service statuses");
    const second = decide(settled(state, writes), { nowMs: NOW + 1000, holders: first.holders });
    assert.deepEqual(
      second.actions.filter((a) => a.kind !== "event"),
      [],
    );
  });
});

describe("controller decisions, settled", () => {
  for (const c of cases) {
    it(`${c.name}: written back, it settles within three passes and then writes nothing`, async () => {
      const writer = new RecordingWriter();
      const runner = new ActionRunner(writer, { writes: noCounter, errors: noCounter }, quiet);
      let state = c.state();
      let seen = observe(c);
      for (let pass = 0; pass < 3; pass++) {
        const d = decide(state, seen);
        await runner.run(d.actions);
        state = settled(state, d.actions);
        seen = { nowMs: seen.nowMs + 1000, holders: d.holders };
      }
      const recorded = writer.calls.length;
      await runner.run(decide(state, seen).actions);
      assert.deepEqual(writer.calls.slice(recorded), []);
    });
  }
});
