// Two groups on the same nodes both run (issue #11, item 11): each node namespace (a node's host network)
// runs the agents of two groups, each listening on the metrics address its group's DaemonSet gives it
// (render/metricsPorts.ts → desiredDaemonSet). Both groups' VIPs answer and every agent is ready. The old
// single port is tried too, and fails the way the issue says, so this test can tell the difference.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, test } from "node:test";
import { GROUP_ANNOTATION } from "../../src/api/names.js";
import type { KeepalivedGroup } from "../../src/api/types.js";
import { planCluster, type GroupPlan } from "../../src/core/plan.js";
import { stopAgent, watchAgent, type AgentProcess } from "../../src/lab/agents.js";
import { settledHolder } from "../../src/lab/failover.js";
import { NODE_IFACE, type Lab, type LabNode } from "../../src/lab/netns.js";
import { GROUP_NS, labGroup, labNodes, labService, labVip, writePlan } from "../../src/lab/plans.js";
import { repoRoot } from "../../src/lab/processes.js";
import { waitFor } from "../../src/lab/wait.js";
import { metricsPortClaims, metricsPorts } from "../../src/render/metricsPorts.js";
import { desiredDaemonSet } from "../../src/render/objects.js";
import { labSuite } from "../support/lab.js";
import { nsExec } from "../../src/lab/probes.js";

const SLOW = { timeout: 240_000 };

function otherGroup(): KeepalivedGroup {
  const g = labGroup();
  return { ...g, metadata: { ...g.metadata, name: "other", creationTimestamp: "2024-01-05T00:00:00Z" } };
}

/** The value of --metrics-address in the agent container's args of a DaemonSet. */
function metricsAddressOf(ds: ReturnType<typeof desiredDaemonSet>): string {
  const containers = (ds.spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec
    .containers;
  const args = containers[0]!.args;
  const at = args.indexOf("--metrics-address");
  assert.ok(at >= 0, "the DaemonSet gives the agent its metrics address");
  return args[at + 1]!;
}

function startGroupAgent(
  lab: Lab,
  node: LabNode,
  group: string,
  planFile: string,
  address: string,
): AgentProcess {
  const stateDir = join(lab.dir, `${group}-${node.name}`);
  const child = spawn(
    "ip",
    [
      ...["netns", "exec", node.ns, process.execPath, join(repoRoot(), "bin/keepalived-operator.js")],
      ...["agent", "--plan-file", planFile, "--node", node.name, "--interface", NODE_IFACE],
      ...["--state-dir", stateDir, "--metrics-address", address],
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  return watchAgent(child, node, stateDir, `${group}/${node.name}`);
}

describe("two groups with agents on the same nodes", { concurrency: 1 }, () => {
  const suite = labSuite(3);

  test("each group's agents listen on their own port; both groups' VIPs answer", SLOW, async () => {
    const lab = suite.lab;
    const groups = [labGroup(), otherGroup()];
    const [labVip0, otherVip] = [labVip(0), labVip(1)];
    const plan = planCluster({
      groups,
      services: [
        labService("web", [labVip0], 0),
        labService("api", [otherVip], 1, { [GROUP_ANNOTATION]: `${GROUP_NS}/other` }),
      ],
      nodes: labNodes(lab),
    });
    assert.deepEqual(plan.invalidGroups, []);
    const ports = metricsPorts(metricsPortClaims(groups, new Map())).ports;
    const byGroup = new Map<string, { gp: GroupPlan; file: string; address: string }>();
    for (const gp of plan.groups) {
      const file = join(lab.dir, `${gp.group.name}.json`);
      await writePlan(file, gp);
      const ds = desiredDaemonSet(gp, { uid: `uid-${gp.group.name}` }, ports.get(gp.group.key));
      // The agent runs in the node namespace; the address the DaemonSet gives binds every interface there.
      byGroup.set(gp.group.name, { gp, file, address: metricsAddressOf(ds) });
    }
    const addresses = [...byGroup.values()].map((g) => g.address);
    console.log(`# metrics addresses: ${[...byGroup].map(([n, g]) => `${n} ${g.address}`).join(", ")}`);
    assert.equal(new Set(addresses).size, 2, "two groups, two ports");
    const agents: { a: AgentProcess; port: string }[] = [];
    try {
      for (const node of lab.nodes)
        for (const [name, g] of byGroup)
          agents.push({
            a: startGroupAgent(lab, node, name, g.file, g.address),
            port: g.address.split(":")[1]!,
          });
      const holders = [await settledHolder(lab, labVip0), await settledHolder(lab, otherVip)];
      for (const { a, port } of agents) {
        const ready = await waitFor(`${a.node.name}'s agent on port ${port} to be ready`, async () => {
          const body = await nsExec(a.node.ns, "curl", [
            "--silent",
            "--max-time",
            "2",
            `http://127.0.0.1:${port}/readyz`,
          ]).catch(() => "");
          return body.trim() === "ok" ? body : undefined;
        });
        assert.equal(ready.trim(), "ok");
        assert.equal(a.child.exitCode, null, "still running");
      }
      console.log(
        `# both groups on all 3 nodes: 6 agents ready; lab VIP on ${holders[0]}, other VIP on ${holders[1]}`,
      );

      // The defect: a second group's agent on the first group's port cannot start.
      const clash = startGroupAgent(
        lab,
        lab.nodes[0]!,
        "clash",
        byGroup.get("other")!.file,
        byGroup.get("lab")!.address,
      );
      const code = await clash.exited;
      const said = clash.logs.map((l) => JSON.stringify(l)).join("\n");
      console.log(`# an agent on an already used port: exit ${code}: ${said.slice(0, 200)}`);
      assert.notEqual(code, 0);
      assert.match(said, /EADDRINUSE/);
    } finally {
      await Promise.all(agents.map(({ a }) => stopAgent(a)));
    }
  });
});
