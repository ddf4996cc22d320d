// The walkthrough on real kubelet nodes (src/lab/kubeletCluster.ts): three network-namespace nodes, each with
// its own containerd, kubelet and kube-proxy, the Helm chart's controller Deployment, the agents as the
// DaemonSet the controller writes, and a client that reaches the demo Pods through the VIP and kube-proxy.
// Counts and states are asserted; gaps and timings are diagnostics. Run it under `flock /tmp/kao-e2e.lock`.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { KubeClient } from "../../src/kube/rest.js";
import { clusterPrereqs, startKubeletCluster, type KubeletCluster } from "../../src/lab/kubeletCluster.js";
import {
  AGENT_SELECTOR,
  applyWalkthrough,
  CONTROLLER_SELECTOR,
  curlOnce,
  DEMO,
  DEMO_PODS,
  externalIP,
  GROUP_NAME,
  helmInstall,
  labelNodes,
  LB_NODES,
  OPERATOR_NAMESPACE,
  plannedHolder,
  pods,
  startProbe,
  waitPodsReady,
  watchVipMoves,
  type PodView,
} from "../../src/lab/kubeletWalkthrough.js";
import { lossesAtMoves, notable, timeline, type ProbeLine, type VipMove } from "../../src/lab/httpProbe.js";
import { holdersOf, setSwitchPort } from "../../src/lab/netns.js";
import { LAB_POOL } from "../../src/lab/labObjects.js";
import { waitFor } from "../../src/lab/wait.js";

const SLOW = { timeout: 600_000 };
// Cold, the prerequisites install Debian packages and build four Kubernetes components (minutes).
const SETUP = { timeout: 1_800_000 };
const sorted = (xs: string[]): string[] => [...xs].sort();

interface Table {
  columnDefinitions: { name: string }[];
  rows: { cells: (string | number | boolean | null)[] }[];
}

/** What `kubectl get` prints: the API server's Table for a resource, as column → cell per row. */
async function kubectlGet(client: KubeClient, path: string): Promise<Record<string, string>[]> {
  const t = await client.request<Table>("GET", path, {
    accept: "application/json;as=Table;v=v1;g=meta.k8s.io",
  });
  return t.rows.map((r) =>
    Object.fromEntries(t.columnDefinitions.map((c, i) => [c.name, String(r.cells[i] ?? "")])),
  );
}

/**
 * What a planned restart of the holder's agent must look like to the client: the VIP moves exactly twice, to
 * the other labelled node and back, and no request is lost. Both moves are drained (agent/drain.ts): the node
 * giving the VIP up refuses new connections for a moment first, so none is open on it when the VIP moves. A
 * loss is told apart: one open across a move (the drain did not happen) or another (the VIP did not answer).
 */
function assertTwoMoves(
  t: { diagnostic(s: string): void },
  lines: ProbeLine[],
  moves: (VipMove & { node: string })[],
  holder: string,
  t0: number,
): void {
  const losses = lossesAtMoves(lines, moves);
  for (const m of moves)
    t.diagnostic(`the VIP moved to ${m.node} at +${m.at - t0} ms (as the client saw it)`);
  for (const l of losses.atMove)
    t.diagnostic(`lost, open across a move: started +${l.at - t0} ms, reset after ${l.ms} ms`);
  const away = LB_NODES.find((n) => n !== holder) ?? "";
  assert.deepEqual(
    moves.map((m) => m.node),
    [away, holder],
    `moves: ${JSON.stringify(moves.map((m) => `${m.node} +${m.at - t0}`))}`,
  );
  assert.deepEqual(
    losses.other.map((l) => `+${l.at - t0} ms: ${l.answer}`),
    [],
    "requests lost that no move explains",
  );
  assert.deepEqual(
    losses.atMove.map((l) => `+${l.at - t0} ms: ${l.answer}`),
    [],
    "requests open across a move were lost: the move was not drained",
  );
}

describe("the walkthrough on kubelet nodes", { concurrency: 1 }, () => {
  let c: KubeletCluster;
  let started: KubeletCluster | undefined;
  let client: KubeClient;
  let helm = "";
  let vip = "";
  const t0 = Date.now();

  before(async () => {
    const prereqs = await clusterPrereqs();
    helm = prereqs.helm;
    c = await startKubeletCluster(prereqs);
    started = c;
    client = c.client();
  }, SETUP);

  after(async () => {
    await started?.stop();
  });

  test("the cluster: three Ready nodes, each with its own containerd, kubelet and kube-proxy", async (t) => {
    t.diagnostic(`cluster up in ${Date.now() - t0} ms (prerequisites included)`);
    const nodes = await kubectlGet(client, "/api/v1/nodes");
    assert.deepEqual(
      nodes.map((n) => `${n.Name} ${n.Status}`),
      ["node-1 Ready", "node-2 Ready", "node-3 Ready"],
    );
    assert.equal(c.processes.filter((p) => p.role === "kubelet").length, 3);
    assert.equal(c.processes.filter((p) => p.role === "kube-proxy").length, 3);
  });

  test(
    "Helm installs the controller: its Deployment's two Pods run Ready (in-cluster config, probes)",
    SLOW,
    async (t) => {
      const start = Date.now();
      await helmInstall(c, helm);
      const controllers = await waitPodsReady(client, OPERATOR_NAMESPACE, CONTROLLER_SELECTOR, 2);
      assert.equal(controllers.length, 2);
      t.diagnostic(`controller Pods Ready ${Date.now() - start} ms after helm install`);
    },
  );

  test(
    "steps 1–2: two nodes labelled, group and demo.yaml applied: one agent Pod per labelled node",
    SLOW,
    async (t) => {
      const start = Date.now();
      await labelNodes(client);
      await applyWalkthrough(client);
      const agents = await waitPodsReady(client, OPERATOR_NAMESPACE, AGENT_SELECTOR, 2);
      assert.deepEqual(sorted(agents.map((p) => p.node)), LB_NODES);
      const demo = await waitPodsReady(client, DEMO.namespace, "env=test", DEMO_PODS.length);
      assert.deepEqual(
        sorted(demo.map((p) => `${p.name} ${p.node}`)),
        DEMO_PODS.map((p) => `${p.name} ${p.node}`),
      );
      t.diagnostic(`agent and demo Pods Ready ${Date.now() - start} ms after the objects were applied`);
    },
  );

  test(
    "step 3: the EXTERNAL-IP appears and the client reaches both demo Pods through kube-proxy",
    SLOW,
    async (t) => {
      const start = Date.now();
      vip = await externalIP(client);
      t.diagnostic(`EXTERNAL-IP ${vip} after ${Date.now() - start} ms`);
      const [low = "", high = ""] = LAB_POOL.split("-");
      assert.ok(
        Number(vip.split(".")[3]) >= Number(low.split(".")[3]) &&
          Number(vip.split(".")[3]) <= Number(high.split(".")[3]),
      );
      const first = await waitFor(`an HTTP answer from ${vip}`, () => curlOnce(c, vip), 60_000, 100);
      t.diagnostic(`first answer "${first}" ${Date.now() - start} ms after the Service was read`);
      // The VIP ends on the node the plan chose, alone. A node that started first may hold it for a moment:
      // the preferred node then asks for it back and takes it, drained (agent/handback.ts).
      const planned = await waitFor(
        `a planned holder of ${vip}`,
        () => plannedHolder(client, vip),
        30_000,
        100,
      );
      assert.ok(LB_NODES.includes(planned), `${vip} is planned on ${planned}`);
      const holders = await waitFor(
        `${vip} on ${planned} alone`,
        async () => {
          const now = await holdersOf(c.lab, vip);
          return now.join() === planned ? now : undefined;
        },
        30_000,
        50,
      );
      t.diagnostic(
        `${vip} on ${holders.join()}, as planned, ${Date.now() - start} ms after the Service was read`,
      );
      // The answers name Pods on node-3, which holds no VIP: only kube-proxy's DNAT on the holder gets them there.
      // At least 40 requests, and on until both Pods answered: a Pod that is Ready may reach the holder's
      // kube-proxy rules a moment later (EndpointSlice → kube-proxy), so the first 40 can all go to the other.
      const answers = new Map<string, number>();
      const deadline = Date.now() + 30_000;
      const both = (): boolean => answers.has("demo-1 on node-3") && answers.has("demo-2 on node-3");
      for (let i = 0; i < 40 || (!both() && Date.now() < deadline); i++) {
        const a = (await curlOnce(c, vip)) ?? "(no answer)";
        answers.set(a, (answers.get(a) ?? 0) + 1);
      }
      assert.deepEqual(
        sorted([...answers.keys()]),
        ["demo-1 on node-3", "demo-2 on node-3"],
        JSON.stringify([...answers]),
      );
    },
  );

  test("step 4a: hard failover (the holder's link cut): the other labelled node answers", SLOW, async (t) => {
    const [from = ""] = await holdersOf(c.lab, vip);
    const node = c.lab.nodes.find((n) => n.name === from);
    assert.ok(node !== undefined, `no holder of ${vip}`);
    const probe = startProbe(c, `http://${vip}/`, 20, 3000);
    await new Promise((r) => setTimeout(r, 1000));
    const cutAt = Date.now();
    await setSwitchPort(c.lab, node, false);
    // The `ip link set down` is a child process: the link goes down somewhere in this span after cutAt.
    const cutTookMs = Date.now() - cutAt;
    const to = await waitFor(
      `another node to hold ${vip}`,
      async () => (await holdersOf(c.lab, vip)).find((h) => h !== from),
      30_000,
      20,
    );
    // A request in flight to the cut node may hang until its timeout: wait for answers sent after the cut.
    await waitFor(
      "five answers to requests sent after the cut",
      () => Promise.resolve(probe.lines().filter((l) => l.ok && l.at > cutAt).length >= 5 ? true : undefined),
      30_000,
      50,
    );
    const s = await probe.stop();
    await setSwitchPort(c.lab, node, true);
    t.diagnostic(
      `failover ${from} → ${to}: longest gap ${s.longestGapMs} ms, slowest answer ${s.slowestMs} ms, lost ${s.lost} of ${s.requests}`,
    );
    t.diagnostic(`answers ${JSON.stringify(s.answeredBy)}, errors ${JSON.stringify(s.errors)}`);
    for (const line of notable(s.lines, cutAt)) t.diagnostic(`after the cut ${line}`);
    t.diagnostic(
      `cut at ${new Date(cutAt).toISOString()} (the link went down within ${cutTookMs} ms); requests started in the 1.5 s after: ${timeline(s.lines, cutAt, -50, 1500)}`,
    );
    assert.ok(LB_NODES.includes(to) && to !== from);
    const answeredAfterCut = s.lines.filter((l) => l.ok && l.at > cutAt).length;
    assert.ok(
      answeredAfterCut > 0,
      `no request sent after the cut was answered: ${JSON.stringify(s.errors)}`,
    );
    // Settle: the node is back on the bridge and, as the VIP's preferred node, takes it back (preemption, a
    // second move about 3 adverts after its link came up); the client answered. Waiting for one holder only
    // let that move happen during step 4b's probe, which then counted its reset flow against the rollout.
    await waitFor(
      `${vip} back on ${from} alone`,
      async () => ((await holdersOf(c.lab, vip)).join() === from ? true : undefined),
      60_000,
      50,
    );
    await waitFor(`an answer from ${vip} after the link came back`, () => curlOnce(c, vip), 60_000, 100);
    await waitPodsReady(client, OPERATOR_NAMESPACE, AGENT_SELECTOR, 2);
  });

  test(
    "step 4b: `kubectl rollout restart` of the agents' DaemonSet: the VIP moves away and back, both moves drained: no request lost",
    SLOW,
    async (t) => {
      const before = await pods(client, OPERATOR_NAMESPACE, AGENT_SELECTOR);
      const [holder = ""] = await holdersOf(c.lab, vip);
      const watch = await watchVipMoves(c, vip);
      const probe = startProbe(c, `http://${vip}/`, 20, 3000);
      await new Promise((r) => setTimeout(r, 1000));
      const start = Date.now();
      // What kubectl rollout restart does: a new template annotation.
      await client.request(
        "PATCH",
        `/apis/apps/v1/namespaces/${OPERATOR_NAMESPACE}/daemonsets/${GROUP_NAME}`,
        {
          contentType: "application/strategic-merge-patch+json",
          body: {
            spec: {
              template: {
                metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": new Date().toISOString() } },
              },
            },
          },
        },
      );
      const after = await waitFor(
        "every agent Pod replaced and Ready",
        async () => {
          const now = await pods(client, OPERATOR_NAMESPACE, AGENT_SELECTOR);
          const fresh = now.filter((p) => p.ready && !before.some((b) => b.uid === p.uid));
          return fresh.length === 2 && now.length === 2 ? fresh : undefined;
        },
        300_000,
        250,
      );
      await new Promise((r) => setTimeout(r, 3000));
      const s = await probe.stop();
      await watch.stop();
      t.diagnostic(
        `rollout done in ${Date.now() - start} ms: longest gap ${s.longestGapMs} ms, slowest answer ${s.slowestMs} ms, lost ${s.lost} of ${s.requests}`,
      );
      t.diagnostic(`answers ${JSON.stringify(s.answeredBy)}, errors ${JSON.stringify(s.errors)}`);
      for (const line of notable(s.lines, start)) t.diagnostic(`after the restart ${line}`);
      assert.deepEqual(sorted(after.map((p: PodView) => p.node)), LB_NODES);
      assert.ok(s.requests > 50, `only ${s.requests} requests`);
      assertTwoMoves(t, s.lines, watch.moves(), holder, start);
    },
  );

  test(
    "step 5: a deleted agent Pod comes back on its node and the VIP with it: two drained moves, no request lost",
    SLOW,
    async (t) => {
      const [holder = ""] = await holdersOf(c.lab, vip);
      const victim = (await pods(client, OPERATOR_NAMESPACE, AGENT_SELECTOR)).find((p) => p.node === holder);
      assert.ok(victim !== undefined, `no agent Pod on ${holder}`);
      const watch = await watchVipMoves(c, vip);
      const probe = startProbe(c, `http://${vip}/`, 20, 3000);
      await new Promise((r) => setTimeout(r, 1000));
      const start = Date.now();
      await client.request("DELETE", `/api/v1/namespaces/${OPERATOR_NAMESPACE}/pods/${victim.name}`);
      const back = await waitFor(
        `a new agent Pod Ready on ${holder}`,
        async () =>
          (await pods(client, OPERATOR_NAMESPACE, AGENT_SELECTOR)).find(
            (p) => p.node === holder && p.uid !== victim.uid && p.ready,
          ),
        180_000,
        250,
      );
      await waitFor(
        `${vip} back on ${holder}`,
        async () => ((await holdersOf(c.lab, vip)).join() === holder ? true : undefined),
        30_000,
        50,
      );
      await new Promise((r) => setTimeout(r, 2000));
      const s = await probe.stop();
      await watch.stop();
      t.diagnostic(
        `${victim.name} deleted, ${back.name} Ready after ${Date.now() - start} ms: longest gap ${s.longestGapMs} ms, lost ${s.lost} of ${s.requests}`,
      );
      assert.equal(await externalIP(client), vip);
      assert.deepEqual(await holdersOf(c.lab, vip), [holder]);
      assertTwoMoves(t, s.lines, watch.moves(), holder, start);
    },
  );

  test("step 6: `kubectl get keepalivedgroup` shows Ready, `kubectl get svc` the IP", async (t) => {
    const groups = await kubectlGet(
      client,
      `/apis/redhatcop.redhat.io/v1alpha1/namespaces/${OPERATOR_NAMESPACE}/keepalivedgroups`,
    );
    const svcs = await kubectlGet(client, `/api/v1/namespaces/${DEMO.namespace}/services`);
    t.diagnostic(`keepalivedgroup: ${JSON.stringify(groups)}`);
    t.diagnostic(`svc: ${JSON.stringify(svcs)}`);
    assert.deepEqual(
      groups.map((g) => [g.Name, g.Ready, g.Nodes, g.VIPs]),
      [[GROUP_NAME, "True", "2", "1"]],
    );
    assert.deepEqual(
      svcs.map((s) => [s.Name, s.Type, s["External-IP"]]),
      [[DEMO.name, "LoadBalancer", vip]],
    );
    // No agent or controller Pod restarted along the way (probes, capabilities, read-only root held).
    const restarts = [
      ...(await pods(client, OPERATOR_NAMESPACE, AGENT_SELECTOR)),
      ...(await pods(client, OPERATOR_NAMESPACE, CONTROLLER_SELECTOR)),
    ].filter((p) => p.restarts > 0);
    assert.deepEqual(
      restarts.map((p) => `${p.name} ${p.restarts}`),
      [],
    );
  });
});
