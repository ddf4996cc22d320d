// The API-following agent's pure parts: the Lease report, ConfigMap/Secret → desired config, the --netns
// command seam and the agent's flags. One line per case where a table fits.
import assert from "node:assert/strict";
import { test } from "node:test";
import { gzipSync } from "node:zlib";
import { passwordFromSecret, planFromConfigMap } from "../../../src/agent/apiPlanSource.js";
import { netnsPrefix, NO_PREFIX, prefixed } from "../../../src/agent/command.js";
import {
  nodeLease,
  REFUSED_REASON_LENGTH,
  reportAnnotations,
  vrrpReport,
} from "../../../src/agent/report.js";
import {
  GROUP_ANNOTATION,
  HELD_VIPS_ANNOTATION,
  nodePlanName,
  REFUSED_INSTANCES_ANNOTATION,
  VRRP_STATES_ANNOTATION,
} from "../../../src/api/names.js";
import type { PlanInstanceV1 } from "../../../src/api/plan.js";
import { planCluster } from "../../../src/core/plan.js";
import { parseAgentArgs } from "../../../src/cli/agent.js";
import { CliError } from "../../../src/cli/io.js";
import { planV1, serializeGroupPlan } from "../../../src/render/planCodec.js";

const router = (name: string, vips: string[]): PlanInstanceV1 => ({
  name,
  routerId: 1,
  family: vips[0]?.includes(":") === true ? 6 : 4,
  vips,
  anchor: vips[0] ?? "",
  priorities: [],
  services: [],
  settings: [],
});

test("vrrpReport: states of the plan's instances, VIPs of the MASTER ones in address order", () => {
  const instances = [
    router("b_v4", ["198.18.0.210", "198.18.0.9"]),
    router("a_v6", ["2001:db8::200"]),
    router("c_v4", ["198.18.0.220"]),
    router("d_v4", ["198.18.0.230"]),
  ];
  const states = new Map([
    ["b_v4", "MASTER"],
    ["a_v6", "MASTER"],
    ["c_v4", "BACKUP"],
    ["d_v4", "INIT"],
    ["old_v4", "MASTER"],
  ] as const);
  const r = vrrpReport(instances, states);
  assert.deepEqual(r, {
    states: { a_v6: "MASTER", b_v4: "MASTER", c_v4: "BACKUP" },
    vips: ["198.18.0.9", "198.18.0.210", "2001:db8::200"],
  });
  assert.deepEqual(reportAnnotations(r), {
    "keepalived-operator.redhat-cop.io/vrrp-states": '{"a_v6":"MASTER","b_v4":"MASTER","c_v4":"BACKUP"}',
    "keepalived-operator.redhat-cop.io/vips": '["198.18.0.9","198.18.0.210","2001:db8::200"]',
  });
  assert.deepEqual(vrrpReport(instances, new Map([["c_v4", "FAULT"]])), {
    states: { c_v4: "FAULT" },
    vips: [],
  });
  assert.deepEqual(vrrpReport([], new Map()), { states: {}, vips: [] });
});

test("vrrpReport: the same states in any order give the same annotation bytes", () => {
  const instances = [router("x", ["198.18.0.1"]), router("y", ["198.18.0.2"])];
  const a = reportAnnotations(
    vrrpReport(
      instances,
      new Map([
        ["x", "MASTER"],
        ["y", "BACKUP"],
      ] as const),
    ),
  );
  const b = reportAnnotations(
    vrrpReport(
      [...instances].reverse(),
      new Map([
        ["y", "BACKUP"],
        ["x", "MASTER"],
      ] as const),
    ),
  );
  assert.deepEqual(a, b);
});

test("vrrpReport: refused instances go to their own Lease annotation, sorted, their words cut short", () => {
  const instances = [router("a_v4", ["198.18.0.200"])];
  const long = "9".repeat(1101);
  const r = vrrpReport(instances, new Map([["a_v4", "MASTER"]]), [
    { instance: "z_v4", services: ["ns/z2", "ns/z1"], problems: [`garp_master_repeat '${long}' invalid`] },
    { instance: "b_v4", services: ["ns/b"], problems: ["(b_v4) advert_int out of range", "exited with 5"] },
  ]);
  const annotations = reportAnnotations(r);
  const refused = JSON.parse(annotations[REFUSED_INSTANCES_ANNOTATION] ?? "{}") as Record<
    string,
    { reason: string; services: string[] }
  >;
  assert.deepEqual(Object.keys(refused), ["b_v4", "z_v4"]);
  assert.deepEqual(refused.b_v4, {
    reason: "(b_v4) advert_int out of range; exited with 5",
    services: ["ns/b"],
  });
  assert.deepEqual(refused.z_v4?.services, ["ns/z1", "ns/z2"]);
  assert.equal(refused.z_v4.reason.length, REFUSED_REASON_LENGTH);
  assert.ok(refused.z_v4.reason.endsWith("…"));
  assert.equal(annotations[HELD_VIPS_ANNOTATION], '["198.18.0.200"]');
  // Nothing refused: no annotation at all, so server-side apply removes a stale one.
  assert.deepEqual(Object.keys(reportAnnotations(vrrpReport(instances, new Map()))).sort(), [
    HELD_VIPS_ANNOTATION,
    VRRP_STATES_ANNOTATION,
  ]);
});

test("nodeLease: name, labels, holder, MicroTime renewTime", () => {
  const lease = nodeLease(
    { namespace: "kao", group: "workers", node: "node-1" },
    { states: {}, vips: [] },
    new Date("2024-01-01T00:00:00.123Z"),
    10,
  );
  assert.deepEqual(lease, {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: {
      name: "workers-node-1",
      namespace: "kao",
      labels: {
        keepalivedGroup: "workers",
        "app.kubernetes.io/managed-by": "keepalived-operator",
        "keepalived-operator.redhat-cop.io/node": "node-1",
      },
      annotations: {
        "keepalived-operator.redhat-cop.io/vrrp-states": "{}",
        "keepalived-operator.redhat-cop.io/vips": "[]",
      },
    },
    spec: { holderIdentity: "node-1", leaseDurationSeconds: 10, renewTime: "2024-01-01T00:00:00.123000Z" },
  });
});

const groupPlan = (passwordAuth?: { secretRef: { name: string }; secretKey?: string }) =>
  planCluster({
    groups: [
      {
        metadata: { name: "g", namespace: "ns", creationTimestamp: "2024-01-01T00:00:00Z" },
        spec: {
          interface: "eth0",
          ...(passwordAuth === undefined ? {} : { passwordAuth, vrrp: { version: 2 as const } }),
        },
      },
    ],
    services: [
      {
        metadata: {
          name: "s",
          namespace: "default",
          creationTimestamp: "2024-01-02T00:00:00Z",
          annotations: { [GROUP_ANNOTATION]: "ns/g" },
        },
        spec: { type: "LoadBalancer" },
        status: { loadBalancer: { ingress: [{ ip: "198.18.0.200" }] } },
      },
    ],
    nodes: [{ metadata: { name: "a" } }],
  }).groups[0]!;

test("planFromConfigMap: missing object, missing key, a broken plan, another group's plan each say what to do", () => {
  const ref = { namespace: "ns", name: "g", node: "a" };
  const name = nodePlanName("g", "a");
  const text = serializeGroupPlan(groupPlan());
  const ok = planFromConfigMap(ref, { metadata: {}, data: { "plan.json": text } });
  assert.ok("plan" in ok && ok.text === text && ok.plan.group.key === "ns/g");
  const error = (r: ReturnType<typeof planFromConfigMap>): string => ("error" in r ? r.error : "(no error)");
  assert.equal(
    error(planFromConfigMap(ref, undefined)),
    `ConfigMap ns/${name} not found; the controller writes it for node a of KeepalivedGroup ns/g: check that the group exists, is valid (its status conditions), selects this node (spec.nodeSelector) and that the controller runs`,
  );
  assert.match(
    error(planFromConfigMap(ref, { metadata: {}, data: {} })),
    new RegExp(
      `^ConfigMap ns/${name} has neither data\\.plan\\.json nor binaryData\\.plan\\.json\\.gz; .*do not edit it by hand`,
    ),
  );
  assert.match(
    error(planFromConfigMap(ref, { metadata: {}, data: { "plan.json": "{" } })),
    new RegExp(`^ConfigMap ns/${name}: \\(file\\): not valid JSON`),
  );
  assert.match(
    error(planFromConfigMap({ ...ref, name: "h" }, { metadata: {}, data: { "plan.json": text } })),
    /holds a plan of KeepalivedGroup ns\/g, not ns\/h/,
  );
  const gz = gzipSync(text).toString("base64");
  const packed = planFromConfigMap(ref, { metadata: {}, data: {}, binaryData: { "plan.json.gz": gz } });
  assert.ok("plan" in packed && packed.text === text);
});

test("planFromConfigMap: the node's object gone after a plan with the node means it left: no instances", () => {
  const ref = { namespace: "ns", name: "g", node: "a" };
  const last = planV1(groupPlan());
  assert.ok(last.instances.length > 0);
  const left = planFromConfigMap(ref, undefined, last);
  assert.ok("plan" in left);
  assert.deepEqual(left.plan.instances, []);
  assert.deepEqual(left.plan.nodes, []);
  assert.match(left.text, /node a left KeepalivedGroup ns\/g/);
  // Still gone at the next relist: the same plan and text again, so nothing is delivered twice.
  assert.ok("plan" in left);
  assert.deepEqual(planFromConfigMap(ref, undefined, left.plan), left);
  // Without a last plan naming the node, a missing object stays an error.
  assert.ok("error" in planFromConfigMap({ ...ref, node: "b" }, undefined, last));
});

test("passwordFromSecret: decodes, drops one trailing newline, names the Secret, key and field", () => {
  const p = planV1(groupPlan({ secretRef: { name: "vrrp" }, secretKey: "pw" }));
  const b64 = (s: string): string => Buffer.from(s).toString("base64");
  assert.deepEqual(passwordFromSecret(p, { metadata: {}, data: { pw: b64("s3cret\n") } }), {
    password: "s3cret",
  });
  assert.deepEqual(passwordFromSecret(p, undefined), {
    error:
      "Secret ns/vrrp not found (KeepalivedGroup ns/g spec.passwordAuth.secretRef.name); create it with key pw",
  });
  assert.deepEqual(passwordFromSecret(p, { metadata: {}, data: { password: b64("x") } }), {
    error:
      "Secret ns/vrrp has no key pw (KeepalivedGroup ns/g spec.passwordAuth.secretKey); add the key or fix the field",
  });
});

test("prefixed: no prefix runs the command itself; --netns runs it through ip netns exec", () => {
  assert.deepEqual(prefixed(NO_PREFIX, "ip", ["-j", "addr"]), ["ip", ["-j", "addr"]]);
  assert.deepEqual(prefixed(netnsPrefix("n1"), "keepalived", ["--config-test"]), [
    "ip",
    ["netns", "exec", "n1", "keepalived", "--config-test"],
  ]);
});

const args = (line: string): string[] => line.split(" ").filter((w) => w !== "");
const parsed = (line: string, env: Record<string, string> = {}) => parseAgentArgs(args(line), env);
const refused = (line: string, pattern: RegExp, env: Record<string, string> = {}): void => {
  assert.throws(
    () => parseAgentArgs(args(line), env),
    (e: unknown) => e instanceof CliError && pattern.test(e.message),
  );
};

test("agent flags: API mode, file mode and the mistakes", () => {
  assert.deepEqual(
    parsed("--group kao/workers --node n1 --netns lab-n1 --kubeconfig /k --metrics-address 127.0.0.1:1"),
    {
      source: { kind: "api", namespace: "kao", group: "workers", kubeconfig: "/k" },
      node: "n1",
      netns: "lab-n1",
      stateDir: "/run/keepalived-operator",
      listen: { host: "127.0.0.1", port: 1, text: "127.0.0.1:1" },
    },
  );
  assert.deepEqual(parsed("--plan-file /p.json --password-file /pw --interface eth0", { NODE_NAME: "n2" }), {
    source: { kind: "file", planFile: "/p.json", passwordFile: "/pw" },
    node: "n2",
    interface: "eth0",
    stateDir: "/run/keepalived-operator",
    listen: { host: "0.0.0.0", port: 9650, text: "0.0.0.0:9650" },
  });
  assert.equal(parsed("--help"), "help");
  refused("--node n1", /exactly one of --group .* or --plan-file/);
  refused("--group a/b --plan-file p --node n1", /exactly one of/);
  refused("--group workers --node n1", /--group "workers" is not <namespace>\/<name>/);
  refused("--group a/b/c --node n1", /is not <namespace>\/<name>/);
  refused("--group a/b", /--node <name> is required \(or set NODE_NAME\)/);
  refused("--group a/b --node n1 --password-file /pw", /--password-file is for --plan-file only/);
  refused("--plan-file p --node n1 --kubeconfig k", /--kubeconfig is for --group only/);
  refused("--group a/b --node n1 --netns x/y", /--netns "x\/y" is not a network namespace name/);
  refused("--group a/b --node N_1", /--node "N_1" is not a Kubernetes node name/);
  refused("--group a/b --node n1 --metrics-address nope", /--metrics-address "nope" is not host:port/);
  refused("--group a/b --node n1 extra", /unexpected argument "extra"/);
});
