// `keepalived-operator agent --plan-file` in a node's namespace: the agent without an API server, as the
// e2e tests and the failover benchmark run it, with its JSON log lines collected.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { NODE_IFACE, type Lab, type LabNode } from "./netns.js";
import { agentArgv } from "./processes.js";

export interface AgentProcess {
  node: LabNode;
  child: ChildProcess;
  /** Parsed JSON log lines of the agent, in order: the first MAX_KEPT_LINES of them. */
  logs: Record<string, unknown>[];
  /** Every line the agent logged, kept or not. */
  readonly counted: { lines: number };
  stateDir: string;
  exited: Promise<number | null>;
}

/** Starts `keepalived-operator agent` inside the node's namespace. */
export function startAgent(lab: Lab, node: LabNode, planFile: string, extra: string[] = []): AgentProcess {
  const stateDir = join(lab.dir, node.name);
  const child = spawn(
    "ip",
    [
      "netns",
      "exec",
      node.ns,
      process.execPath,
      ...agentArgv([
        ...["--plan-file", planFile, "--node", node.name, "--interface", NODE_IFACE],
        ...["--state-dir", stateDir, "--metrics-address", "127.0.0.1:9650", ...extra],
      ]),
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  return watchAgent(child, node, stateDir, node.name);
}

/**
 * Lines kept per agent: a test reads far fewer; a benchmark of thousands of VIPs must not hold them all
 * (an unbounded list once ran the bench out of its heap).
 */
export const MAX_KEPT_LINES = 100_000;

/** Collects a started agent's JSON log lines (echoed with KAO_E2E_VERBOSE=1) and its exit. */
export function watchAgent(
  child: ChildProcess,
  node: LabNode,
  stateDir: string,
  label: string,
): AgentProcess {
  const logs: Record<string, unknown>[] = [];
  const counted = { lines: 0 };
  if (child.stderr !== null) {
    createInterface({ input: child.stderr }).on("line", (line) => {
      counted.lines++;
      if (process.env.KAO_E2E_VERBOSE === "1") process.stderr.write(`[${label}] ${line}\n`);
      if (logs.length >= MAX_KEPT_LINES) return;
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: "raw", line });
      }
    });
  }
  const exited = new Promise<number | null>((r) =>
    child.on("exit", (code) => {
      r(code);
    }),
  );
  return { node, child, logs, counted, stateDir, exited };
}

/** SIGTERM and wait; SIGKILL if it does not exit in time. */
export async function stopAgent(a: AgentProcess, timeoutMs = 15_000): Promise<number | null> {
  if (a.child.exitCode !== null || a.child.signalCode !== null) return a.child.exitCode;
  a.child.kill("SIGTERM");
  const timer = setTimeout(() => a.child.kill("SIGKILL"), timeoutMs);
  const code = await a.exited;
  clearTimeout(timer);
  return code;
}
