// Every install path — kustomize base, Helm chart, OLM bundle, OpenShift SCC — rendered by the real tool and
// applied to a real API server (server-side dry-run, namespaces and CRDs for real), so schema errors surface
// here; plus the Grafana dashboard's queries checked against the metrics the code exports.
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { parse, parseAllDocuments, stringify } from "yaml";
import { startControlPlane, type ControlPlane } from "../../src/lab/controlplane.js";
import { repoRoot } from "../../src/lab/processes.js";
import { CONTROLLER_NODE_FLAGS } from "../../src/render/objects.js";
import { ApiError, adminClient, eventually, type KubeClient } from "../support/kube.js";

const execFileP = promisify(execFile);
const root = repoRoot();
const at = (...parts: string[]): string => join(root, ...parts);
// A cold Helm build takes about 95 s on 2 cores (kustomize about 20 s); warm, both are instant.
const SLOW = { timeout: 600_000 };

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  spec?: Record<string, unknown>;
  [k: string]: unknown;
}
type Json = Record<string, unknown>;

/** Runs a build script of tools/ and returns the binary it prints last. */
async function tool(script: string): Promise<string> {
  const { stdout } = await execFileP("bash", [at(script)], { maxBuffer: 1 << 24, timeout: SLOW.timeout });
  const bin = stdout.trim().split("\n").pop() ?? "";
  assert.ok(existsSync(bin), `${script} printed ${JSON.stringify(bin)}, not a binary`);
  return bin;
}

async function run(bin: string, args: string[]): Promise<string> {
  const { stdout } = await execFileP(bin, args, { cwd: root, maxBuffer: 1 << 26 });
  return stdout;
}

function objects(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

const id = (o: Obj): string =>
  `${o.kind} ${o.metadata.namespace === undefined ? "" : `${o.metadata.namespace}/`}${o.metadata.name}`;
const ofKind = (objs: Obj[], kind: string): Obj[] => objs.filter((o) => o.kind === kind);
function one(objs: Obj[], kind: string, name?: string): Obj {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  assert.equal(found.length, 1, `expected one ${kind} ${name ?? ""}, got ${found.map(id).join(", ")}`);
  return found[0]!;
}
const podSpec = (d: Obj): Json => (d.spec as { template: { spec: Json } }).template.spec;

/** Resource name and scope of each kind, from the API server's discovery (so CRD kinds work too). */
class Discovery {
  private readonly cache = new Map<string, { name: string; kind: string; namespaced: boolean }[]>();
  constructor(private readonly client: KubeClient) {}

  async resource(apiVersion: string, kind: string): Promise<{ name: string; namespaced: boolean }> {
    let list = this.cache.get(apiVersion);
    if (list?.some((r) => r.kind === kind) !== true) {
      const path = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      const body = await this.client.request<{
        resources: { name: string; kind: string; namespaced: boolean }[];
      }>("GET", path);
      list = body.resources.filter((r) => !r.name.includes("/"));
      this.cache.set(apiVersion, list);
    }
    const r = list.find((x) => x.kind === kind);
    if (r === undefined) throw new Error(`the API server serves no ${kind} in ${apiVersion}`);
    return r;
  }
}

class Installer {
  readonly discovery: Discovery;
  constructor(readonly client: KubeClient) {
    this.discovery = new Discovery(client);
  }

  private async path(o: Obj): Promise<string> {
    const r = await this.discovery.resource(o.apiVersion, o.kind);
    const prefix = o.apiVersion.includes("/") ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
    if (r.namespaced && o.metadata.namespace === undefined) throw new Error(`${id(o)} has no namespace`);
    if (!r.namespaced && o.metadata.namespace !== undefined)
      throw new Error(`${id(o)} is cluster-scoped but names a namespace`);
    const ns = r.namespaced ? `/namespaces/${o.metadata.namespace ?? ""}` : "";
    return `${prefix}${ns}/${r.name}/${o.metadata.name}`;
  }

  /** Server-side apply; with dryRun the server validates and admits the object but stores nothing. */
  async apply(o: Obj, dryRun: boolean): Promise<Json> {
    try {
      return await this.client.request<Json>("PATCH", await this.path(o), {
        query: {
          fieldManager: "install-test",
          force: true,
          dryRun: dryRun ? "All" : undefined,
          fieldValidation: "Strict",
        },
        body: o,
        contentType: "application/apply-patch+yaml",
      });
    } catch (err) {
      const why = err instanceof ApiError ? err.message : String(err);
      throw new Error(`the API server refused ${id(o)}: ${why}`);
    }
  }

  /**
   * Applies an install path: its Namespaces, the namespaces its objects live in and its CRDs for real (the
   * rest needs them), then every other object with dryRun=All. Returns what the server answered for each.
   */
  async install(objs: Obj[]): Promise<Map<string, Json>> {
    const answers = new Map<string, Json>();
    const namespaces = new Set(
      objs.flatMap((o) => (o.metadata.namespace === undefined ? [] : [o.metadata.namespace])),
    );
    for (const o of ofKind(objs, "Namespace")) namespaces.delete(o.metadata.name);
    const namespaceObjects: Obj[] = [
      ...ofKind(objs, "Namespace"),
      ...[...namespaces].map((name) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name } })),
    ];
    for (const o of namespaceObjects) answers.set(id(o), await this.apply(o, false));
    for (const o of ofKind(objs, "CustomResourceDefinition")) {
      answers.set(id(o), await this.apply(o, false));
      await this.established(o.metadata.name);
    }
    for (const o of objs) {
      if (o.kind === "Namespace" || o.kind === "CustomResourceDefinition") continue;
      answers.set(id(o), await this.apply(o, true));
    }
    return answers;
  }

  async established(name: string): Promise<void> {
    await eventually(`CRD ${name} Established`, async () => {
      const crd = await this.client.request<{ status?: { conditions?: { type: string; status: string }[] } }>(
        "GET",
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
      );
      return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") === true
        ? true
        : undefined;
    });
  }
}

/** Labels of `selector` all present in `labels`. */
function selects(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** The controller Deployment is unprivileged, probed, resourced, leader-elected and selected by its PDB/Service. */
function checkController(objs: Obj[], replicas: number): void {
  const deployment = one(objs, "Deployment", "keepalived-operator");
  const spec = deployment.spec as {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> } };
  };
  assert.equal(spec.replicas, replicas);
  const pod = podSpec(deployment) as {
    serviceAccountName: string;
    hostNetwork?: boolean;
    securityContext: Json;
    containers: Json[];
  };
  assert.equal(pod.serviceAccountName, "keepalived-operator");
  assert.notEqual(pod.hostNetwork, true);
  assert.equal(pod.securityContext.runAsNonRoot, true);
  const c = pod.containers[0] as {
    args: string[];
    livenessProbe: { httpGet: { path: string } };
    readinessProbe: { httpGet: { path: string } };
    securityContext: {
      privileged?: boolean;
      allowPrivilegeEscalation: boolean;
      capabilities: { drop: string[] };
    };
    resources: { requests?: Json };
    env: { name: string; value?: string }[];
  };
  assert.equal(c.args[0], "controller");
  assert.ok(c.args.includes("--leader-elect=true"), `args ${c.args.join(" ")}`);
  assert.equal(c.livenessProbe.httpGet.path, "/healthz");
  assert.equal(c.readinessProbe.httpGet.path, "/readyz");
  assert.notEqual(c.securityContext.privileged, true);
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(c.securityContext.capabilities.drop, ["ALL"]);
  assert.ok(c.resources.requests !== undefined);
  assert.ok(c.env.some((e) => e.name === "POD_NAMESPACE"));
  // The flags the lab, the tests and the benchmarks start the controller with (its memory is measured so).
  const nodeOptions = c.env.find((e) => e.name === "NODE_OPTIONS")?.value;
  assert.equal(nodeOptions, CONTROLLER_NODE_FLAGS.join(" "));
  assert.ok(selects(spec.selector.matchLabels, spec.template.metadata.labels));
  const pdb = one(objs, "PodDisruptionBudget") as Obj & {
    spec: { selector: { matchLabels: Record<string, string> } };
  };
  assert.deepEqual(pdb.spec.selector.matchLabels, spec.selector.matchLabels);
  const svc = one(objs, "Service", "keepalived-operator-metrics") as Obj & {
    spec: { selector: Record<string, string> };
  };
  assert.ok(
    selects(svc.spec.selector, spec.template.metadata.labels),
    "the metrics Service selects the pods",
  );
  const binding = one(objs, "ClusterRoleBinding", "keepalived-operator") as Obj & {
    subjects: { name: string; namespace: string }[];
  };
  assert.deepEqual(
    binding.subjects.map((s) => `${s.namespace}/${s.name}`),
    [`${deployment.metadata.namespace ?? ""}/keepalived-operator`],
  );
}

const CRD_PATH = at("deploy", "crds", "redhatcop.redhat.io_keepalivedgroups.yaml");
const crdSource = (): Obj => parse(readFileSync(CRD_PATH, "utf8")) as Obj;

describe("install paths on a real API server", () => {
  let cp: ControlPlane;
  let installer: Installer;
  let kustomized: Obj[] | undefined;
  const kustomizeBuild = async (): Promise<Obj[]> =>
    (kustomized ??= objects(
      await run(await tool("tools/kustomize/build.sh"), ["build", at("deploy", "kustomize")]),
    ));

  before(async () => {
    cp = await startControlPlane();
    installer = new Installer(adminClient(cp));
  }, SLOW);
  after(async () => {
    await cp.stop();
  });

  test("the generated copies of the CRD, RBAC and SCC and the OLM bundle are up to date", () => {
    const r = spawnSync(process.execPath, [at("scripts", "gen-install.mjs"), "--check"], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
  });

  test("the kustomize base builds and every object is accepted", SLOW, async () => {
    const kustomized = await kustomizeBuild();
    assert.deepEqual([...new Set(kustomized.map((o) => o.kind))].sort(), [
      "ClusterRole",
      "ClusterRoleBinding",
      "CustomResourceDefinition",
      "Deployment",
      "Namespace",
      "PodDisruptionBudget",
      "Role",
      "RoleBinding",
      "Service",
      "ServiceAccount",
    ]);
    assert.ok(
      kustomized.every(
        (o) =>
          o.kind === "Namespace" ||
          o.kind.startsWith("Cluster") ||
          o.kind === "CustomResourceDefinition" ||
          o.metadata.namespace === "keepalived-operator",
      ),
    );
    checkController(kustomized, 2);
    const { spec } = one(kustomized, "CustomResourceDefinition");
    assert.deepEqual(spec, crdSource().spec, "the base ships deploy/crds unchanged");
    const answers = await installer.install(kustomized);
    const served = answers.get("Deployment keepalived-operator/keepalived-operator") as {
      spec: { replicas: number };
    };
    assert.equal(served.spec.replicas, 2);
  });

  test("the Helm chart renders into any namespace and every object is accepted", SLOW, async () => {
    const helm = await tool("tools/helm/build.sh");
    const chart = at("deploy", "helm", "keepalived-operator");
    await run(helm, ["lint", "--strict", chart]);
    const rendered = objects(await run(helm, ["template", "kao", chart, "-n", "kao-helm", "--include-crds"]));
    assert.ok(
      rendered.every((o) => o.metadata.namespace === undefined || o.metadata.namespace === "kao-helm"),
    );
    assert.deepEqual(
      ofKind(rendered, "SecurityContextConstraints").length + ofKind(rendered, "PodMonitor").length,
      0,
      "optional objects are off by default",
    );
    checkController(rendered, 2);
    assert.deepEqual(one(rendered, "CustomResourceDefinition").spec, crdSource().spec);
    await installer.install(rendered);

    // The chart's pod is the kustomize base's pod: one Deployment, two renderings that must not drift.
    const base = await kustomizeBuild();
    assert.deepEqual(podSpec(one(rendered, "Deployment")), podSpec(one(base, "Deployment")));
    const [h, k] = [one(rendered, "Deployment"), one(base, "Deployment")].map((d) => ({
      ...(d.spec as Json),
      template: undefined,
    }));
    assert.deepEqual(h, k);

    // Every toggle on: OpenShift SCC, Prometheus Operator monitors (stand-in CRDs), agents in two namespaces.
    const fixtures = ["openshift-scc-crd.yaml", "prometheus-operator-crds.yaml"].flatMap((f) =>
      objects(readFileSync(at("test", "fixtures", "install", f), "utf8")),
    );
    await installer.install(fixtures);
    const all = objects(
      await run(helm, [
        "template",
        "kao",
        chart,
        "-n",
        "kao-helm",
        "--set",
        "replicas=3,openshift.scc.enabled=true,metrics.serviceMonitor.enabled=true,metrics.podMonitor.enabled=true",
        "--set",
        "agent.namespaces={kao-edge-a,kao-edge-b}",
      ]),
    );
    checkController(all, 3);
    one(all, "SecurityContextConstraints", "keepalived-agent");
    one(all, "ServiceMonitor");
    one(all, "PodMonitor");
    for (const ns of ["kao-edge-a", "kao-edge-b"]) {
      for (const [kind, name] of [
        ["ServiceAccount", "keepalived-agent"],
        ["Role", "keepalived-agent"],
        ["RoleBinding", "keepalived-agent"],
        ["RoleBinding", "keepalived-agent-scc"],
      ] as const)
        assert.equal(
          all.filter((o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === ns)
            .length,
          1,
          `${kind} ${ns}/${name}`,
        );
    }
    await installer.install(all);
  });

  test(
    "the OLM bundle: its CRD, its example, and every object of the CSV's install strategy are accepted",
    SLOW,
    async () => {
      const dir = at("deploy", "olm");
      const annotations = (
        parse(readFileSync(join(dir, "metadata", "annotations.yaml"), "utf8")) as {
          annotations: Record<string, string>;
        }
      ).annotations;
      assert.equal(annotations["operators.operatorframework.io.bundle.mediatype.v1"], "registry+v1");
      assert.equal(annotations["operators.operatorframework.io.bundle.manifests.v1"], "manifests/");
      const manifests = readdirSync(join(dir, "manifests")).flatMap((f) =>
        objects(readFileSync(join(dir, "manifests", f), "utf8")),
      );
      const crd = one(manifests, "CustomResourceDefinition");
      assert.deepEqual(crd.spec, crdSource().spec);
      await installer.install([crd]);

      const csv = one(manifests, "ClusterServiceVersion") as Obj & { spec: Json };
      assert.equal(csv.apiVersion, "operators.coreos.com/v1alpha1");
      const spec = csv.spec as {
        version: string;
        installModes: { type: string; supported: boolean }[];
        customresourcedefinitions: {
          owned: {
            name: string;
            version: string;
            kind: string;
            specDescriptors: { path: string }[];
            statusDescriptors: { path: string }[];
          }[];
        };
        install: {
          strategy: string;
          spec: {
            clusterPermissions: { serviceAccountName: string; rules: Json[] }[];
            permissions: { serviceAccountName: string; rules: Json[] }[];
            deployments: { name: string; spec: Json }[];
          };
        };
      };
      assert.equal(csv.metadata.name, `keepalived-operator.v${spec.version}`);
      assert.equal(spec.install.strategy, "deployment");
      assert.ok(spec.installModes.some((m) => m.supported));

      // Owned CRD: the one in the bundle, every descriptor path a field of its schema.
      const owned = spec.customresourcedefinitions.owned;
      assert.equal(owned.length, 1);
      const o = owned[0]!;
      const crdSpec = crd.spec as {
        names: { kind: string };
        versions: { name: string; schema: { openAPIV3Schema: Json } }[];
      };
      assert.deepEqual([o.name, o.kind], [crd.metadata.name, crdSpec.names.kind]);
      const version = crdSpec.versions.find((v) => v.name === o.version);
      assert.ok(version !== undefined, `the CRD serves ${o.version}`);
      const field = (schema: Json, path: string): boolean => {
        let node: Json | undefined = schema;
        for (const part of path.split(".")) {
          const props = (node?.properties ?? (node?.items as Json | undefined)?.properties) as
            Record<string, Json> | undefined;
          node = props?.[part];
        }
        return node !== undefined;
      };
      const top = version.schema.openAPIV3Schema.properties as Record<string, Json>;
      for (const d of o.specDescriptors) assert.ok(field(top.spec!, d.path), `spec descriptor ${d.path}`);
      for (const d of o.statusDescriptors)
        assert.ok(field(top.status!, d.path), `status descriptor ${d.path}`);
      assert.ok(o.specDescriptors.length >= 10 && o.statusDescriptors.length >= 3);

      // What OLM would create from the install strategy, as real objects in an install namespace.
      const ns = "kao-olm";
      const strategy = spec.install.spec;
      const wrapped: Obj[] = [];
      const accounts = new Set(
        [...strategy.clusterPermissions, ...strategy.permissions].map((p) => p.serviceAccountName),
      );
      for (const name of accounts)
        wrapped.push({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name, namespace: ns } });
      strategy.clusterPermissions.forEach((p, i) => {
        const name = `kao-olm-cluster-${i}`;
        wrapped.push({
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "ClusterRole",
          metadata: { name },
          rules: p.rules,
        });
        wrapped.push({
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "ClusterRoleBinding",
          metadata: { name },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name },
          subjects: [{ kind: "ServiceAccount", name: p.serviceAccountName, namespace: ns }],
        });
      });
      strategy.permissions.forEach((p, i) => {
        const name = `kao-olm-${i}`;
        wrapped.push({
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "Role",
          metadata: { name, namespace: ns },
          rules: p.rules,
        });
        wrapped.push({
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "RoleBinding",
          metadata: { name, namespace: ns },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
          subjects: [{ kind: "ServiceAccount", name: p.serviceAccountName, namespace: ns }],
        });
      });
      for (const d of strategy.deployments)
        wrapped.push({
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name: d.name, namespace: ns },
          spec: d.spec,
        });
      assert.deepEqual([...accounts].sort(), ["keepalived-agent", "keepalived-operator"]);
      await installer.install(wrapped);

      // The CSV carries the same RBAC and controller as deploy/ (generated, so this guards the generator).
      const rbac = objects(readFileSync(at("deploy", "rbac", "controller.yaml"), "utf8"));
      assert.deepEqual(strategy.clusterPermissions[0]!.rules, one(rbac, "ClusterRole").rules);
      const base = await kustomizeBuild();
      assert.deepEqual(
        podSpec({ ...one(base, "Deployment"), spec: strategy.deployments[0]!.spec }),
        podSpec(one(base, "Deployment")),
      );

      // alm-examples: what the console offers as a starting KeepalivedGroup must be valid.
      const examples = JSON.parse(
        (csv.metadata.annotations as Record<string, string>)["alm-examples"] ?? "[]",
      ) as Obj[];
      assert.ok(examples.length > 0);
      await installer.install(examples);
    },
  );

  test("the OpenShift SCC grants the agents exactly host network, host ports, root and four capabilities (SYS_NICE for real-time VRRP)", async () => {
    await installer.install(
      objects(readFileSync(at("test", "fixtures", "install", "openshift-scc-crd.yaml"), "utf8")),
    );
    const objs = objects(readFileSync(at("deploy", "openshift", "scc.yaml"), "utf8"));
    for (const o of objs)
      if (o.metadata.namespace !== undefined)
        await installer.install([
          { apiVersion: "v1", kind: "Namespace", metadata: { name: o.metadata.namespace } },
        ]);
    // For real: the SCC is a custom object here, its content is what matters.
    const stored = new Map<string, Json>();
    for (const o of objs) stored.set(o.kind, await installer.apply(o, false));
    const scc = stored.get("SecurityContextConstraints")!;
    assert.equal(scc.allowHostNetwork, true);
    assert.equal(scc.allowHostPorts, true);
    for (const no of [
      "allowPrivilegedContainer",
      "allowHostPID",
      "allowHostIPC",
      "allowHostDirVolumePlugin",
      "allowPrivilegeEscalation",
    ])
      assert.equal(scc[no], false, no);
    assert.deepEqual([...(scc.allowedCapabilities as string[])].sort(), [
      "NET_ADMIN",
      "NET_BROADCAST",
      "NET_RAW",
      "SYS_NICE",
    ]);
    assert.deepEqual(scc.defaultAddCapabilities, []);
    assert.deepEqual(scc.runAsUser, { type: "RunAsAny" });
    assert.ok(!(scc.volumes as string[]).some((v) => v === "hostPath" || v === "*"), "no hostPath");
    assert.deepEqual([scc.users, scc.groups], [[], []], "granted through RBAC only");
    const role = stored.get("ClusterRole") as { rules: Json[] };
    assert.deepEqual(role.rules, [
      {
        apiGroups: ["security.openshift.io"],
        resources: ["securitycontextconstraints"],
        resourceNames: ["keepalived-agent"],
        verbs: ["use"],
      },
    ]);
    const binding = stored.get("RoleBinding") as { subjects: Json[]; roleRef: { name: string } };
    assert.deepEqual(binding.subjects, [
      { kind: "ServiceAccount", name: "keepalived-agent", namespace: "keepalived-operator" },
    ]);
    assert.equal(binding.roleRef.name, one(objs, "ClusterRole").metadata.name);
    const agentRbac = objects(readFileSync(at("deploy", "rbac", "agent.yaml"), "utf8"));
    one(agentRbac, "ServiceAccount", "keepalived-agent");
  });
});

describe("Grafana dashboard", () => {
  const dashboard = JSON.parse(readFileSync(at("deploy", "grafana", "keepalived-operator.json"), "utf8")) as {
    uid: string;
    panels: { type: string; title: string; targets?: { expr: string }[] }[];
  };
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

  test("every metric it queries is exported by the code, and the key ones are all there", () => {
    const source = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory()
          ? source(join(dir, e.name))
          : e.name.endsWith(".ts")
            ? [readFileSync(join(dir, e.name), "utf8")]
            : [],
      );
    const code = source(at("src")).join("\n");
    const queried = new Set(
      exprs.flatMap((e) =>
        [...e.matchAll(/\bkeepalived_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, "")),
      ),
    );
    for (const metric of queried)
      assert.ok(
        code.includes(`"${metric}`) || code.includes(`${metric} `),
        `${metric} is not exported by src/`,
      );
    for (const metric of [
      "keepalived_operator_vip_state",
      "keepalived_vrrp_state",
      "keepalived_become_master_total",
      "keepalived_operator_failover_seconds",
      "keepalived_operator_config_rejected_total",
      "keepalived_operator_reconciles_total",
      "keepalived_operator_reconcile_duration_seconds",
      "keepalived_operator_write_errors_total",
      "keepalived_operator_leader",
    ])
      assert.ok(queried.has(metric), `the dashboard shows ${metric}`);
    assert.ok(
      exprs.some((e) => /keepalived_operator_vip_state\{[^}]*\}\s*==\s*2/.test(e)),
      "VIP holders are state 2",
    );
  });

  test("every query is valid PromQL (promtool)", async (t) => {
    const promtool = spawnSync("sh", ["-c", "command -v promtool"], { encoding: "utf8" }).stdout.trim();
    if (promtool === "") {
      t.skip("promtool is not installed (scripts/setup.sh installs it)");
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), "kao-dashboard-"));
    try {
      const rules = exprs.map((e, i) => ({
        record: `dashboard:query_${i}`,
        expr: e.replaceAll("$__rate_interval", "5m").replaceAll("$namespace", ".*"),
      }));
      const file = join(dir, "rules.yaml");
      await writeFile(file, stringify({ groups: [{ name: dashboard.uid, rules }] }));
      await run(promtool, ["check", "rules", file]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
