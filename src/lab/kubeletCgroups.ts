// cgroup (v1) trees of the kubelet lab: one per cluster below the root of every mounted hierarchy, e.g.
// /sys/fs/cgroup/<h>/kao123-1-k8s/n1/{daemons,pods}. Every process the cluster starts (containerd, kubelet,
// kube-proxy, shims, containers) lives in it, so stopping a cluster is: kill what the tree holds, remove it.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isAlive } from "./processes.js";
import { sleep } from "./wait.js";

const CGROUP_FS = "/sys/fs/cgroup";

/** Mount points of the cgroup hierarchies (v1 and the hybrid unified one), from /proc/self/mountinfo. */
export function cgroupMounts(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((line) => line.split(" - "))
    .filter(([, fs]) => fs?.startsWith("cgroup ") === true || fs?.startsWith("cgroup2 ") === true)
    .map(([before]) => before?.split(" ")[4] ?? "")
    .filter((m) => m.startsWith(`${CGROUP_FS}/`))
    .sort();
}

/** The hierarchy used to find a tree's processes: pids when mounted, else the first one. */
function trackingMount(): string {
  const mounts = cgroupMounts();
  const pids = join(CGROUP_FS, "pids");
  if (mounts.includes(pids)) return pids;
  const first = mounts[0];
  if (first === undefined) throw new Error(`no cgroup hierarchy is mounted under ${CGROUP_FS}`);
  return first;
}

/** Creates `path` (e.g. /kao1-1-k8s/n1/daemons) in every hierarchy; cpuset levels inherit their parent's sets. */
export function createCgroup(path: string): void {
  for (const mount of cgroupMounts()) {
    let dir = mount;
    for (const part of path.split("/").filter((p) => p !== "")) {
      const parent = dir;
      dir = join(dir, part);
      if (existsSync(dir)) continue;
      mkdirSync(dir);
      for (const file of ["cpuset.cpus", "cpuset.mems"]) {
        if (existsSync(join(parent, file))) writeFileSync(join(dir, file), readFileSync(join(parent, file)));
      }
    }
  }
}

/** The file a process writes its pid to, to join `path` in the tracking hierarchy. */
export function cgroupProcsFile(path: string): string {
  return join(trackingMount(), path, "cgroup.procs");
}

function subtree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const children = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
  return [...children.flatMap((c) => subtree(join(dir, c.name))), dir];
}

/** Pids of every process in the tree `path`. */
export function cgroupPids(path: string): number[] {
  return subtree(join(trackingMount(), path)).flatMap((dir) => {
    try {
      return readFileSync(join(dir, "cgroup.procs"), "utf8")
        .split("\n")
        .filter((p) => p !== "")
        .map(Number);
    } catch {
      return [];
    }
  });
}

/** SIGKILLs every process of the tree until it is empty, then removes it from every hierarchy. */
export async function removeCgroup(path: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = cgroupPids(path).filter(isAlive);
    if (pids.length === 0) break;
    if (Date.now() > deadline) {
      throw new Error(`cgroup ${path} still holds pids ${pids.join(", ")} after SIGKILL`);
    }
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await sleep(100);
  }
  // An emptied cgroup stays busy for a moment while its last tasks finish exiting: retry the removal.
  for (let attempt = 0; attempt < 50 && cgroupMounts().some((m) => existsSync(join(m, path))); attempt++) {
    removeCgroupDirsSync(path);
    if (cgroupMounts().some((m) => existsSync(join(m, path)))) await sleep(100);
  }
  const left = cgroupMounts().filter((m) => existsSync(join(m, path)));
  if (left.length > 0) throw new Error(`cgroup ${path} could not be removed from ${left.join(", ")}`);
}

/** rmdir of the tree's (empty) directories, deepest first, in every hierarchy. */
export function removeCgroupDirsSync(path: string): void {
  for (const mount of cgroupMounts()) {
    for (const dir of subtree(join(mount, path))) {
      try {
        rmdirSync(dir);
      } catch {
        // still busy or gone: a later cleanup retries
      }
    }
  }
}

/** Synchronous SIGKILL of a tree's processes (for exit hooks); the directories go with removeCgroupDirsSync. */
export function killCgroupSync(path: string): void {
  for (const pid of cgroupPids(path)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

/** Top-level trees named kao<pid>-… whose process is gone: left by a crashed test run. */
export function staleCgroups(): string[] {
  const root = trackingMount();
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .filter((name) => {
      const m = /^kao(\d+)-.*-k8s$/.exec(name);
      return m !== null && !isAlive(Number(m[1]));
    })
    .map((name) => `/${name}`);
}
