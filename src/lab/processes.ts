// Host plumbing shared by the control plane and the lab: where the repository is, a free loopback port, and
// background processes (started with their output in a log file, recognised by pid, stopped with a grace period).
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { AGENT_NODE_FLAGS, CONTROLLER_NODE_FLAGS } from "../render/objects.js";
import { sleep } from "./wait.js";

const STOP_GRACE_MS = 10_000;

/** The repository root, found from this module's own location (src/lab or dist/src/lab). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "tools", "controlplane", "build.sh"))) return dir;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error(`tools/controlplane/build.sh not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Node's arguments for `keepalived-operator agent <args>`, with the flags the DaemonSet gives the agent. */
export function agentArgv(args: readonly string[]): string[] {
  return [...AGENT_NODE_FLAGS, join(repoRoot(), "bin", "keepalived-operator.js"), "agent", ...args];
}

/** Node's arguments for `keepalived-operator controller <args>`, with the flags its Deployment gives it. */
export function controllerArgv(args: readonly string[]): string[] {
  return [...CONTROLLER_NODE_FLAGS, join(repoRoot(), "bin", "keepalived-operator.js"), "controller", ...args];
}

// Ports the kernel hands out for outgoing connections (and for bind(0)). A port picked there can be taken by any
// client socket between our check and the server's bind, so free ports are picked below that range.
const FALLBACK_EPHEMERAL_LOW = 32768;
const LOWEST_PICKED_PORT = 10_000;
const PICK_ATTEMPTS = 200;
const handedOut = new Set<number>();

let ephemeralLowCached: number | undefined;

/** The lowest port of the kernel's ephemeral range, read once. */
function ephemeralLow(): number {
  ephemeralLowCached ??= readEphemeralLow();
  return ephemeralLowCached;
}

function readEphemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > LOWEST_PICKED_PORT + 1000 ? low : FALLBACK_EPHEMERAL_LOW;
  } catch {
    return FALLBACK_EPHEMERAL_LOW;
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => {
      resolve(false);
    });
    server.listen(port, "127.0.0.1", () => {
      server.close(() => {
        resolve(true);
      });
    });
  });
}

/**
 * A loopback port nobody listens on right now, below the kernel's ephemeral range (so no client connection takes
 * it before the server binds) and never handed out twice by this process. Another process can still race for it:
 * a server that loses says "address already in use", which startControlPlane retries.
 */
export async function freePort(): Promise<number> {
  const high = ephemeralLow() - 1;
  for (let i = 0; i < PICK_ATTEMPTS; i++) {
    const port = LOWEST_PICKED_PORT + Math.floor(Math.random() * (high - LOWEST_PICKED_PORT + 1));
    if (handedOut.has(port) || !(await bindable(port))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(
    `no free loopback port between ${LOWEST_PICKED_PORT} and ${high} after ${PICK_ATTEMPTS} tries`,
  );
}

/** True while the process exists and is not a zombie (a reparented child may never be reaped in a container). */
export function isAlive(pid: number): boolean {
  // pid 0 or negative would address a whole process group, ours included.
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}

/** The process still runs the binary we started (guards against a recycled pid). */
export function runsBinary(pid: number, binary: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0]?.endsWith(`/${binary}`) === true;
  } catch {
    return isAlive(pid);
  }
}

/** The process still runs and `marker` appears in its command line (guards against a recycled pid). */
export function runsWith(pid: number, marker: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(marker);
  } catch {
    return false;
  }
}

/** Starts `cmd` with stdout and stderr appended to `logPath`; a detached one outlives this process. */
export function spawnLogged(cmd: string, args: string[], logPath: string, detached: boolean): ChildProcess {
  const fd = openSync(logPath, "a");
  const child = spawn(cmd, args, { stdio: ["ignore", fd, fd], detached });
  closeSync(fd);
  if (detached) child.unref();
  return child;
}

/**
 * SIGTERM, then SIGKILL after a grace period; resolves once the process is gone, with false when it could not
 * be signalled (already gone). The caller checks first that the pid is still the process it started.
 */
export async function terminate(pid: number, name: string): Promise<boolean> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return false;
  }
  const deadline = Date.now() + STOP_GRACE_MS;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (!isAlive(pid)) return true;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return true;
  }
  const killDeadline = Date.now() + STOP_GRACE_MS;
  while (isAlive(pid)) {
    if (Date.now() > killDeadline) throw new Error(`${name} (pid ${pid}) still runs after SIGKILL`);
    await sleep(50);
  }
  return true;
}

/** The last lines of a log file, for error messages. */
export function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
