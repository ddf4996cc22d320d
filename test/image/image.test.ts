// The container image without a container engine: images/build.sh builds the OCI archive (seconds when
// warm), umoci unpacks it, and the image's own binaries run from its root filesystem through chroot:
// keepalived, and the agent in a network namespace announcing a VIP that a second namespace pings. skopeo and
// podman only read the archive (inspect, load into a private store) to check the name it loads under.
import assert from "node:assert/strict";
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { GROUP_ANNOTATION } from "../../src/api/names.js";
import type { KeepalivedGroup } from "../../src/api/types.js";
import type { NodeObject, ServiceObject } from "../../src/core/objects.js";
import { planCluster } from "../../src/core/plan.js";
import { serializeGroupPlan } from "../../src/render/planCodec.js";

const execFileP = promisify(execFile);
const repo = join(import.meta.dirname, "..", "..", "..");
// Only 198.18.0.0/15 (benchmarking range); a /24 of its own so it never meets the e2e labs' 198.18.0.0/24.
const NODE_IP = "198.19.77.1";
const PEER_IP = "198.19.77.2";
const VIP = "198.19.77.100";
const IFACE = "eth0";
const METRICS = "127.0.0.1:9650";

interface RuntimeConfig {
  process: { args: string[]; env: string[] };
}

async function run(file: string, args: string[], timeout = 30_000): Promise<string> {
  const { stdout, stderr } = await execFileP(file, args, { timeout, maxBuffer: 64 << 20 });
  return stdout + stderr;
}

/** Polls `probe` until it gives a value; `check` (outside the retry) fails at once, e.g. when a process died. */
async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  check: () => void = () => undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    check();
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Mounts under `dir` in this (the host's) mount namespace: there should never be any. */
function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
}

/** Ends the processes inside the namespaces (by pid) and deletes them. */
function deleteNamespaces(names: string[]): void {
  for (const ns of names) {
    try {
      for (const pid of execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8" }).split("\n")) {
        if (pid !== "") process.kill(Number(pid), "SIGKILL");
      }
    } catch {
      // namespace or process already gone
    }
    try {
      execFileSync("ip", ["netns", "del", ns], { stdio: "ignore" });
    } catch {
      // already gone
    }
  }
}

function snapshot(): Parameters<typeof planCluster>[0] {
  const group: KeepalivedGroup = {
    apiVersion: "redhatcop.redhat.io/v1alpha1",
    kind: "KeepalivedGroup",
    metadata: { name: "image", namespace: "keepalived-operator", creationTimestamp: "2024-01-01T00:00:00Z" },
    spec: { interface: IFACE, nodeSelector: {}, allowedCIDRs: ["198.18.0.0/15"] },
  };
  const service: ServiceObject = {
    metadata: {
      name: "web",
      namespace: "default",
      creationTimestamp: "2024-01-02T00:00:00Z",
      annotations: { [GROUP_ANNOTATION]: "keepalived-operator/image" },
    },
    spec: { type: "LoadBalancer", externalIPs: [VIP], ports: [{ port: 80, protocol: "TCP" }] },
  };
  const node: NodeObject = {
    metadata: { name: "n1", labels: {} },
    status: { addresses: [{ type: "InternalIP", address: NODE_IP }] },
  };
  return { groups: [group], services: [service], nodes: [node] };
}

/** The name the manifests use (deploy/, the Helm chart, the agent's default). */
const REFERENCE = `quay.io/redhat-cop/keepalived-operator-ts:${
  (JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { version: string }).version
}`;

/** podman on a private store under `store` (vfs: no mounts): it only loads and lists, never runs a container. */
function podmanArgs(store: string, ...args: string[]): string[] {
  return [
    ...["--root", join(store, "root"), "--runroot", join(store, "run"), "--tmpdir", join(store, "tmp")],
    ...["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none"],
    ...["--network-config-dir", join(store, "net")],
    ...args,
  ];
}

describe("container image", { concurrency: 1 }, () => {
  let dir = "";
  let archive = "";
  let rootfs = "";
  let config: RuntimeConfig;

  before(async () => {
    // Installs podman and skopeo when missing, then builds the image. Cold, this debootstraps Debian (about a
    // minute or two); warm, it repacks the app layer in seconds.
    const { stdout } = await execFileP("bash", [join(repo, "scripts", "setup.sh"), "image"], {
      timeout: 20 * 60_000,
      maxBuffer: 64 << 20,
    });
    archive = stdout.trim().split("\n").at(-1) ?? "";
    assert.match(archive, /\.oci\.tar$/, `scripts/setup.sh image printed no archive path:\n${stdout}`);
    dir = await mkdtemp(join(tmpdir(), "kao-image-"));
    await mkdir(join(dir, "oci"));
    await run("tar", ["-xf", archive, "-C", join(dir, "oci")]);
    const index = JSON.parse(await readFile(join(dir, "oci", "index.json"), "utf8")) as {
      manifests: { annotations?: Record<string, string> }[];
    };
    const tag = index.manifests[0]?.annotations?.["org.opencontainers.image.ref.name"];
    assert.ok(tag !== undefined, "the archive's index.json names no tag");
    await run("umoci", ["unpack", "--image", `${join(dir, "oci")}:${tag}`, join(dir, "bundle")], 120_000);
    rootfs = join(dir, "bundle", "rootfs");
    config = JSON.parse(await readFile(join(dir, "bundle", "config.json"), "utf8")) as RuntimeConfig;
  });

  after(async () => {
    if (dir === "") return;
    const left = mountsUnder(dir);
    // Never rm -rf through a mount (it would delete the host's /dev or /proc entries).
    if (left.length > 0) throw new Error(`mounts left under ${dir}, not removed: ${left.join(", ")}`);
    await rm(dir, { recursive: true, force: true });
  });

  test("the image's config runs the wrapper as root", () => {
    assert.deepEqual(config.process.args, ["/usr/local/bin/keepalived-operator"]);
    assert.ok(config.process.env.includes("NODE_ENV=production"));
  });

  test("skopeo finds the image in the archive by its full reference, and not by the bare version", async () => {
    const { stdout } = await execFileP("skopeo", ["inspect", `oci-archive:${archive}:${REFERENCE}`], {
      timeout: 60_000,
      maxBuffer: 16 << 20,
    });
    const info = JSON.parse(stdout) as { Labels?: Record<string, string> };
    assert.equal(info.Labels?.["org.opencontainers.image.version"], REFERENCE.split(":").at(-1));
    // An index that names only the version (the old archive, which podman loaded as localhost/0.1.0:latest)
    // would answer to this one.
    const bare = `oci-archive:${archive}:${REFERENCE.split(":").at(-1) ?? ""}`;
    await assert.rejects(execFileP("skopeo", ["inspect", bare], { timeout: 60_000 }), /no descriptor found/);
  });

  test("podman load names the image by its full reference", { timeout: 240_000 }, async () => {
    const store = join(dir, "podman");
    const out = await run("podman", podmanArgs(store, "load", "-i", archive), 180_000);
    assert.match(out, new RegExp(`^Loaded image: ${REFERENCE.replaceAll(".", "\\.")}$`, "m"), out);
    const images = await execFileP(
      "podman",
      podmanArgs(store, "images", "--format", "{{.Repository}}:{{.Tag}}"),
    );
    assert.deepEqual(images.stdout.trim().split("\n"), [REFERENCE]);
  });

  test("the image's keepalived runs", async () => {
    const out = await run("chroot", [rootfs, "/usr/sbin/keepalived", "--version"]);
    assert.match(out, /^Keepalived v2\.\d+\.\d+/m);
  });

  test("the image's agent announces a VIP from a plan file", { timeout: 180_000 }, async () => {
    const suffix = `${process.pid}`;
    const nodeNs = `kaoimg${suffix}-n1`;
    const peerNs = `kaoimg${suffix}-peer`;
    const onExit = (): void => {
      deleteNamespaces([nodeNs, peerNs]);
    };
    process.on("exit", onExit);
    let agent: ChildProcess | undefined;
    let output = "";
    try {
      for (const ns of [nodeNs, peerNs]) {
        await run("ip", ["netns", "add", ns]);
        await run("ip", ["-n", ns, "link", "set", "lo", "up"]);
      }
      await run("ip", [
        "link",
        "add",
        IFACE,
        "netns",
        nodeNs,
        "type",
        "veth",
        "peer",
        "name",
        IFACE,
        "netns",
        peerNs,
      ]);
      for (const [ns, ip] of [
        [nodeNs, NODE_IP],
        [peerNs, PEER_IP],
      ] as const) {
        await run("ip", ["-n", ns, "addr", "add", `${ip}/24`, "dev", IFACE]);
        await run("ip", ["-n", ns, "link", "set", IFACE, "up"]);
      }

      const plan = planCluster(snapshot());
      const group = plan.groups[0];
      assert.ok(group !== undefined, `group invalid: ${JSON.stringify(plan.invalidGroups)}`);
      await mkdir(join(rootfs, "etc", "kao-test"), { recursive: true });
      await writeFile(join(rootfs, "etc", "kao-test", "plan.json"), serializeGroupPlan(group));

      // ip netns exec gives the agent a mount namespace of its own; unshare makes sure of it, so the mounts
      // below vanish with the agent's last process and never reach the host's mount table.
      const mountAndChroot =
        'r=$1; shift; mount -t proc proc "$r/proc" && mount --rbind /dev "$r/dev" && ' +
        'mount -t sysfs sysfs "$r/sys" && mount -t tmpfs tmpfs "$r/run" && exec chroot "$r" "$@"';
      const args = [
        ...config.process.args,
        "agent",
        "--plan-file",
        "/etc/kao-test/plan.json",
        "--node",
        "n1",
        "--state-dir",
        "/run/kao",
        "--metrics-address",
        METRICS,
      ];
      const env = Object.fromEntries(
        config.process.env.map((e): [string, string] => [
          e.slice(0, e.indexOf("=")),
          e.slice(e.indexOf("=") + 1),
        ]),
      );
      agent = spawn(
        "ip",
        [
          ...["netns", "exec", nodeNs, "unshare", "--mount", "--propagation", "private"],
          ...["sh", "-c", mountAndChroot, "sh", rootfs, ...args],
        ],
        { env, stdio: ["ignore", "pipe", "pipe"] },
      );
      const collect = (chunk: Buffer): void => {
        output = (output + chunk.toString()).slice(-20_000);
      };
      agent.stdout?.on("data", collect);
      agent.stderr?.on("data", collect);
      const running = agent;
      const exited = new Promise<void>((resolve) => {
        running.once("exit", () => {
          resolve();
        });
      });
      const agentAlive = (): void => {
        if (running.exitCode !== null || running.signalCode !== null)
          throw new Error(`the agent exited (${running.exitCode ?? running.signalCode ?? ""})`);
      };

      await waitFor(
        `${VIP} on ${IFACE} of ${nodeNs}`,
        async () => {
          const out = await run("ip", ["-n", nodeNs, "-4", "-o", "addr", "show", "dev", IFACE]);
          return out.includes(` ${VIP}/`) ? true : undefined;
        },
        30_000,
        agentAlive,
      );
      await waitFor(
        `${VIP} to answer ping from ${peerNs}`,
        async () => {
          await run("ip", ["netns", "exec", peerNs, "ping", "-n", "-c", "1", "-W", "1", VIP]);
          return true;
        },
        30_000,
        agentAlive,
      );
      // The image's own curl (the externalTrafficPolicy: Local health script uses it) scrapes the agent.
      const metrics = await waitFor(
        "keepalived_up 1",
        async () => {
          const text = await run("ip", [
            ...["netns", "exec", nodeNs, "chroot", rootfs, "/usr/bin/curl", "-sSf"],
            `http://${METRICS}/metrics`,
          ]);
          return /^keepalived_up(\{[^}]*\})? 1$/m.test(text) ? text : undefined;
        },
        30_000,
        agentAlive,
      );
      assert.match(metrics, /^keepalived_up(\{[^}]*\})? 1$/m);

      agent.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([
        exited.then(() => true),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => {
            resolve(false);
          }, 30_000);
        }),
      ]);
      clearTimeout(timer);
      assert.ok(stopped, "the agent did not stop within 30 s of SIGTERM");
      assert.equal(agent.exitCode, 0, `the agent exited with ${agent.exitCode}`);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- agent output (last 20 kB) ---\n${output}`, {
        cause: err,
      });
    } finally {
      if (agent !== undefined && agent.exitCode === null && agent.signalCode === null) agent.kill("SIGKILL");
      deleteNamespaces([nodeNs, peerNs]);
      process.off("exit", onExit);
      // The agent's processes are gone with the namespaces; wait until their mount namespace is too.
      await waitFor("the chroot's mounts to go", () =>
        Promise.resolve(mountsUnder(rootfs).length === 0 ? true : undefined),
      );
    }
  });
});
