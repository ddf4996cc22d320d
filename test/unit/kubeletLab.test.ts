// The kubelet lab's pure parts: node configuration files, the forwarder's endpoints, the probe's counts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { parseEndpoint } from "../../src/lab/apiForward.js";
import {
  lossesAtMoves,
  parseProbeOutput,
  summarize,
  timeline,
  vipMoves,
  type ProbeLine,
} from "../../src/lab/httpProbe.js";
import {
  cniConflist,
  containerdToml,
  kubeletConfigYaml,
  kubeProxyConfigYaml,
  nodePodCidr,
  POD_CIDR,
  SERVICE_CIDR,
  KUBERNETES_SERVICE_IP,
} from "../../src/lab/kubeletConfig.js";

const paths = {
  dir: "/tmp/lab/k8s/node-2",
  containerdSocket: "/tmp/lab/k8s/node-2/containerd.sock",
  cgroup: "/kao1-1-k8s/node-2",
};

describe("kubelet lab configuration", () => {
  test("every address is inside 198.18.0.0/15 and the ranges do not overlap the lab's bridge", () => {
    for (const cidr of [
      POD_CIDR,
      SERVICE_CIDR,
      nodePodCidr(0),
      nodePodCidr(2),
      `${KUBERNETES_SERVICE_IP}/32`,
    ]) {
      assert.match(cidr, /^198\.19\./, cidr);
    }
    assert.equal(nodePodCidr(1), "198.19.2.0/24");
  });

  test("containerd keeps its root, state, socket and CNI configuration in the node's directory", () => {
    const toml = containerdToml(paths);
    for (const line of [
      'root = "/tmp/lab/k8s/node-2/containerd/root"',
      'state = "/tmp/lab/k8s/node-2/containerd/state"',
      'address = "/tmp/lab/k8s/node-2/containerd.sock"',
      'conf_dir = "/tmp/lab/k8s/node-2/cni/net.d"',
      'sandbox_image = "kao.local/pause:1"',
      "SystemdCgroup = false",
      "restrict_oom_score_adj = true",
    ]) {
      assert.ok(
        toml.split("\n").some((l) => l.trim() === line),
        `missing ${line} in\n${toml}`,
      );
    }
  });

  test("the CNI bridge gives the node's Pods its own range and keeps IPAM state in the node's directory", () => {
    const conf = JSON.parse(cniConflist(2, paths.dir)) as {
      plugins: { type: string; ipam?: { ranges: { subnet: string }[][]; dataDir: string } }[];
    };
    const ipam = conf.plugins.find((p) => p.type === "bridge")?.ipam;
    assert.ok(ipam !== undefined, "no bridge plugin with IPAM");
    assert.deepEqual(ipam.ranges, [[{ subnet: "198.19.3.0/24" }]]);
    assert.equal(ipam.dataDir, "/tmp/lab/k8s/node-2/cni/ipam");
  });

  test("the kubelet runs on cgroup v1 under its own root and never writes kernel settings", () => {
    const c = parse(kubeletConfigYaml(paths, "198.18.0.12", "/pki/ca.crt")) as Record<string, unknown>;
    assert.equal(c.failCgroupV1, false);
    assert.equal(c.protectKernelDefaults, true);
    assert.equal(c.cgroupRoot, "/kao1-1-k8s/node-2/pods");
    assert.equal(c.containerRuntimeEndpoint, "unix:///tmp/lab/k8s/node-2/containerd.sock");
    assert.equal(c.podLogsDir, "/tmp/lab/k8s/node-2/pod-logs");
    assert.equal(c.address, "198.18.0.12");
  });

  test("kube-proxy uses iptables and leaves the host's conntrack settings alone", () => {
    const c = parse(kubeProxyConfigYaml("/k/node.kubeconfig", "node-2")) as Record<string, unknown>;
    assert.equal(c.mode, "iptables");
    assert.equal(c.clusterCIDR, POD_CIDR);
    assert.equal(c.hostnameOverride, "node-2");
    assert.deepEqual(c.conntrack, {
      maxPerCore: 0,
      min: 0,
      tcpEstablishedTimeout: "0s",
      tcpCloseWaitTimeout: "0s",
    });
  });
});

describe("API forwarder endpoints", () => {
  test("tcp and unix endpoints parse; anything else is refused", () => {
    assert.deepEqual(parseEndpoint("tcp:198.18.0.1:6443"), { host: "198.18.0.1", port: 6443 });
    assert.deepEqual(parseEndpoint("unix:/run/x.sock"), { path: "/run/x.sock" });
    for (const bad of ["", "unix:", "tcp:1.2.3.4", "tcp:1.2.3.4:0", "tcp:1.2.3.4:70000", "http://x"]) {
      assert.equal(parseEndpoint(bad), undefined, bad);
    }
  });
});

describe("HTTP probe summary", () => {
  const line = (at: number, ms: number, ok: boolean, answer: string): ProbeLine => ({ at, ms, ok, answer });

  test("counts lost requests, answers per Pod, and the longest gap between answers", () => {
    const s = summarize([
      line(0, 5, true, "demo-1 on node-3"),
      line(25, 1000, false, "no answer in 1000 ms"),
      line(1045, 1000, false, "no answer in 1000 ms"),
      line(2065, 5, true, "demo-2 on node-3"),
      line(2090, 5, true, "demo-1 on node-3"),
    ]);
    assert.equal(s.requests, 5);
    assert.equal(s.lost, 2);
    assert.equal(s.longestGapMs, 2065);
    assert.equal(s.slowestMs, 5);
    assert.deepEqual(s.answeredBy, { "demo-1 on node-3": 2, "demo-2 on node-3": 1 });
    assert.deepEqual(s.errors, { "no answer in 1000 ms": 2 });
  });

  test("requests that overlap (lines in the order they ended): the gap users see and the slowest answer", () => {
    // A failover from 100 to 400 ms: the requests started at 100 and 200 lost their SYN and were answered after
    // TCP's 1 s retransmission; those started from 420 on (every 100 ms here) were answered at once.
    const s = summarize([
      line(0, 5, true, "a"),
      ...[420, 520, 620, 720, 820, 920, 1020].map((at) => line(at, 5, true, "a")),
      line(100, 1010, true, "b"),
      line(200, 1008, true, "b"),
      line(1120, 5, true, "a"),
    ]);
    assert.equal(s.longestGapMs, 420);
    assert.equal(s.slowestMs, 1010);
    assert.equal(s.lost, 0);
  });

  test("answers that end after the last start close no gap: the probe had stopped asking", () => {
    // Stopped at 430, just after the VIP answered again; the retransmitted SYNs end at 1110 and 1208.
    const s = summarize([
      line(0, 5, true, "a"),
      line(100, 1010, true, "b"),
      line(200, 1008, true, "b"),
      line(420, 5, true, "a"),
      line(430, 5, true, "a"),
    ]);
    assert.equal(s.longestGapMs, 420);
    assert.equal(s.slowestMs, 1010);
    // Nothing answered after 5 although requests went on until 430: the gap runs to the last start.
    assert.equal(summarize([line(0, 5, true, "a"), line(430, 3000, false, "x")]).longestGapMs, 425);
  });

  test("the timeline after an event: start and time taken, slow connects and lost requests marked", () => {
    const lines: ProbeLine[] = [
      { at: 1_000, ms: 3, ok: true, answer: "a", connectMs: 1 },
      { at: 1_077, ms: 1040, ok: true, answer: "a", connectMs: 1039 },
      { at: 1_006, ms: 3004, ok: false, answer: "no answer in 3000 ms", connectMs: 1 },
      { at: 3_000, ms: 3, ok: true, answer: "a" },
    ];
    assert.equal(timeline(lines, 1_000, -50, 1500), "+0:3 +6:3004! +77:1040/c1039");
  });

  test("no request, no gap; a partial last line is skipped", () => {
    assert.deepEqual(summarize([]), {
      requests: 0,
      lost: 0,
      longestGapMs: 0,
      slowestMs: 0,
      answeredBy: {},
      errors: {},
    });
    const text = `${JSON.stringify(line(1, 2, true, "a"))}\n{"at":3,"ms"`;
    assert.equal(parseProbeOutput(text).length, 1);
  });
});

describe("VIP moves as the client sees them", () => {
  const VIP = "198.18.0.200";
  const A = "d2:6e:91:5b:9d:69";
  const B = "0a:11:22:33:44:55";

  test("a move is a new link-layer address after another one; other IPs, deletions and no address are not", () => {
    const moves = vipMoves(
      [
        [1, `${VIP} dev eth0 lladdr ${A} REACHABLE`],
        [2, `${VIP} dev eth0 lladdr ${A} STALE`],
        [3, `198.18.0.12 dev eth0 lladdr ${B} REACHABLE`],
        [4, `${VIP} dev eth0  FAILED`],
        [5, `Deleted ${VIP} dev eth0 lladdr ${B} STALE`],
        [6, `${VIP} dev eth0 lladdr ${B.toUpperCase()} STALE`],
        [7, `${VIP} dev eth0 lladdr ${B} REACHABLE`],
        [8, `${VIP} dev eth0 lladdr ${A} REACHABLE`],
      ],
      VIP,
    );
    assert.deepEqual(moves, [
      { at: 6, from: A, to: B },
      { at: 8, from: B, to: A },
    ]);
    assert.deepEqual(vipMoves([[1, `${VIP} dev eth0 lladdr ${A} REACHABLE`]], VIP), []);
  });

  test("a loss is put on a move only when its connection was open across it and it was reset", () => {
    const moves = [{ at: 1000, from: A, to: B }];
    const lost = (at: number, ms: number, answer: string, connectMs?: number): ProbeLine =>
      connectMs === undefined ? { at, ms, ok: false, answer } : { at, ms, ok: false, answer, connectMs };
    const acrossMove = lost(999, 2, "read ECONNRESET", 1);
    const hangUp = lost(995, 30, "socket hang up", 1);
    const resetLongAfter = lost(1500, 2, "read ECONNRESET", 1);
    const resetLongBefore = lost(500, 2, "read ECONNRESET", 1);
    const neverConnected = lost(999, 3000, "no answer in 3000 ms");
    const timedOutAcross = lost(990, 3000, "no answer in 3000 ms", 1);
    const { atMove, other } = lossesAtMoves(
      [
        { at: 998, ms: 2, ok: true, answer: "demo-1" },
        acrossMove,
        hangUp,
        resetLongAfter,
        resetLongBefore,
        neverConnected,
        timedOutAcross,
      ],
      moves,
    );
    assert.deepEqual(atMove, [acrossMove, hangUp]);
    assert.deepEqual(other, [resetLongAfter, resetLongBefore, neverConnected, timedOutAcross]);
    assert.deepEqual(lossesAtMoves([acrossMove], []).other, [acrossMove]);
  });
});
