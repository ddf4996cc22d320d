// The product as a user runs it: `keepalived-operator controller` and `agent` as their own processes, their
// stderr kept line by line, and a supervisor that restarts a process that exits (what the kubelet does for
// a Deployment or a DaemonSet), so a fault that makes the controller give up its lease is survived as in a
// cluster. Every process started here is recorded and killed by stopAll(), also when a test fails.
import { spawn, type ChildProcess } from "node:child_process";
import { agentArgv, controllerArgv, freePort } from "../../../src/lab/processes.js";
import { sleep, waitFor } from "../../../src/lab/wait.js";
import type { LabNode } from "../../../src/lab/netns.js";

export const OPERATOR_NS = "keepalived-operator";

export interface OperatorProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** stderr, one entry per line. */
  readonly lines: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** When it exited (ms since the epoch); undefined while it runs. */
  exitedAt(): number | undefined;
  running(): boolean;
  /** Sends `signal` and, unless it is SIGSTOP/SIGCONT, waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const started = new Set<OperatorProcess>();

/** Runs node with `argv` (agentArgv or controllerArgv: the flags the cluster's Pods get). */
function spawnOperator(name: string, argv: string[]): OperatorProcess {
  const child = spawn(process.execPath, argv, {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const lines: string[] = [];
  let partial = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (partial + chunk).split("\n");
    partial = parts.pop() ?? "";
    lines.push(...parts);
    if (process.env.KAO_E2E_VERBOSE === "1") for (const l of parts) process.stderr.write(`[${name}] ${l}\n`);
  });
  let exitedAt: number | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("exit", (code, signal) => {
      exitedAt = Date.now();
      resolve({ code, signal });
    });
  });
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const p: OperatorProcess = {
    name,
    child,
    pid: child.pid ?? 0,
    lines,
    exited,
    exitedAt: () => exitedAt,
    running,
    kill: async (signal = "SIGKILL") => {
      if (!running()) return;
      child.kill(signal);
      if (signal === "SIGSTOP" || signal === "SIGCONT") return;
      await exited;
    },
  };
  started.add(p);
  void exited.then(() => started.delete(p));
  return p;
}

/** Kills (SIGCONT first, for a stopped one) every process this module started that still runs. */
export async function stopAll(): Promise<void> {
  await Promise.all(
    [...started].map(async (p) => {
      p.child.kill("SIGCONT");
      await p.kill("SIGKILL");
    }),
  );
}

export interface ControllerFlags {
  kubeconfig: string;
  identity: string;
  /** --lease-duration, --renew-deadline, --retry-period in seconds; default 3, 2, 0.5. */
  lease?: [number, number, number];
}

export async function startController(f: ControllerFlags): Promise<OperatorProcess> {
  const [duration, deadline, retry] = f.lease ?? [3, 2, 0.5];
  return spawnOperator(
    `controller ${f.identity}`,
    controllerArgv([
      ...["--kubeconfig", f.kubeconfig, "--namespace", OPERATOR_NS],
      ...["--identity", f.identity, "--metrics-address", `127.0.0.1:${await freePort()}`],
      ...["--lease-duration", String(duration), "--renew-deadline", String(deadline)],
      ...["--retry-period", String(retry)],
    ]),
  );
}

/** Lines of a process's log that parse as JSON with this `msg`. */
export function logged(p: OperatorProcess, msg: string): Record<string, unknown>[] {
  return p.lines.flatMap((l) => {
    if (!l.includes(`"msg":${JSON.stringify(msg)}`)) return [];
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

/** Waits until the controller logs "became leader"; fails early when it exits. */
export async function waitLeader(p: OperatorProcess, timeoutMs = 30_000): Promise<void> {
  await waitFor(
    `${p.name} to become leader`,
    () => {
      if (!p.running()) throw new Error(`${p.name} exited before leading:\n${p.lines.slice(-10).join("\n")}`);
      return Promise.resolve(logged(p, "became leader").length > 0 ? true : undefined);
    },
    timeoutMs,
    10,
  );
}

export interface AgentFlags {
  group: string;
  node: LabNode;
  kubeconfig: string;
  stateDir: string;
}

/** An agent following its group through the API server, keepalived in the node's namespace (--netns). */
export async function startAgent(f: AgentFlags): Promise<OperatorProcess> {
  return spawnOperator(
    `agent ${f.node.name}`,
    agentArgv([
      ...["--group", `${OPERATOR_NS}/${f.group}`, "--node", f.node.name, "--netns", f.node.ns],
      ...["--kubeconfig", f.kubeconfig, "--state-dir", f.stateDir],
      ...["--metrics-address", `127.0.0.1:${await freePort()}`],
    ]),
  );
}

/**
 * Keeps one process of a kind running: when it exits, starts it again after `restartDelayMs` (the kubelet's
 * restart), until stop(). `restarts` counts the exits it answered.
 */
export class Supervised {
  current: OperatorProcess | undefined;
  /** Every process started, in order (their logs). */
  readonly incarnations: OperatorProcess[] = [];
  restarts = 0;
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly start: () => Promise<OperatorProcess>,
    private readonly restartDelayMs = 500,
  ) {}

  /** A call, not a property: awaits change it behind the type checker's back. */
  private isStopped(): boolean {
    return this.stopped;
  }

  async run(): Promise<OperatorProcess> {
    this.current = await this.start();
    this.incarnations.push(this.current);
    this.loop = (async () => {
      while (!this.isStopped() && this.current !== undefined) {
        await this.current.exited;
        if (this.isStopped()) return;
        this.restarts++;
        await sleep(this.restartDelayMs);
        if (this.isStopped()) return;
        this.current = await this.start();
        this.incarnations.push(this.current);
      }
    })();
    return this.current;
  }

  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    this.stopped = true;
    await this.current?.kill(signal);
    await this.loop;
  }
}
