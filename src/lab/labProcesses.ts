// The lab's background processes: the controller, one API-following agent per node, and a tiny HTTP server in
// each node's namespace. Each outlives `lab up` and is recorded (with `record`) as soon as it has started.
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { GROUP_NAME, OPERATOR_NAMESPACE } from "./labObjects.js";
import { processRuns, type LabProcess } from "./labState.js";
import type { Lab, LabNode } from "./netns.js";
import { agentArgv, controllerArgv, freePort, spawnLogged, tail, terminate } from "./processes.js";
import { waitFor } from "./wait.js";

const execFileP = promisify(execFile);

/** Records a started process (in the state file) before the next one starts. */
export type RecordProcess = (p: LabProcess) => Promise<void>;

/** Kubeconfigs of the controller's and the agents' ServiceAccounts. */
export interface Kubeconfigs {
  controller: string;
  agent: string;
}

// Answers every request with the node's name: bound to 0.0.0.0 in the node's namespace, so also on the VIP.
const HTTP_SERVER = `import { createServer } from "node:http";
const [name, port] = process.argv.slice(2);
createServer((req, res) => res.end(name + "\\n")).listen(Number(port), "0.0.0.0", () =>
  console.log(\`\${name}: listening on 0.0.0.0:\${port}\`),
);
process.on("SIGTERM", () => process.exit(0));
`;

/** Starts a process that outlives this one; its stdout and stderr go to `log`. */
function startDetached(role: string, cmd: string, args: string[], log: string, marker: string): LabProcess {
  const child = spawnLogged(cmd, args, log, true);
  if (child.pid === undefined) throw new Error(`could not start ${role} (${cmd})`);
  return { role, pid: child.pid, log, marker };
}

/** SIGTERM, then SIGKILL after a grace period; false when it was no longer running. */
export async function stopProcess(p: LabProcess): Promise<boolean> {
  if (!processRuns(p)) return false;
  return terminate(p.pid, p.role);
}

/** The end of a process's log, for error messages. */
export function logTail(p: LabProcess, lines = 15): string {
  return tail(p.log, lines);
}

/** GET http://<ip>/ from the client namespace; the body, or undefined when nothing answered. */
export async function curlFromClient(lab: Pick<Lab, "clientNs">, ip: string): Promise<string | undefined> {
  try {
    const { stdout } = await execFileP("ip", [
      ...["netns", "exec", lab.clientNs, "curl", "--silent", "--show-error"],
      ...["--connect-timeout", "0.5", "--max-time", "2", `http://${ip}/`],
    ]);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

/** The controller with fast leader election, and one agent per node following the API server (--netns). */
export async function startOperator(
  dir: string,
  nodes: LabNode[],
  kubeconfigs: Kubeconfigs,
  record: RecordProcess,
): Promise<void> {
  await record(
    startDetached(
      "controller",
      process.execPath,
      controllerArgv([
        ...["--kubeconfig", kubeconfigs.controller, "--namespace", OPERATOR_NAMESPACE],
        ...["--identity", "lab", "--metrics-address", `127.0.0.1:${await freePort()}`],
        ...["--lease-duration", "3", "--renew-deadline", "2", "--retry-period", "0.5"],
      ]),
      join(dir, "controller.log"),
      dir,
    ),
  );
  for (const node of nodes) {
    await record(
      startDetached(
        `agent ${node.name}`,
        process.execPath,
        agentArgv([
          ...["--group", `${OPERATOR_NAMESPACE}/${GROUP_NAME}`, "--node", node.name],
          ...["--netns", node.ns, "--kubeconfig", kubeconfigs.agent, "--state-dir", join(dir, node.name)],
          ...["--metrics-address", `127.0.0.1:${await freePort()}`],
        ]),
        join(dir, `agent-${node.name}.log`),
        dir,
      ),
    );
  }
}

/** An HTTP server on port 80 in each node's namespace, answering with the node's name. */
export async function startHttpServers(dir: string, nodes: LabNode[], record: RecordProcess): Promise<void> {
  const script = join(dir, "http-server.mjs");
  await writeFile(script, HTTP_SERVER);
  for (const node of nodes) {
    await record(
      startDetached(
        `http ${node.name}`,
        "ip",
        ["netns", "exec", node.ns, process.execPath, script, node.name, "80"],
        join(dir, `http-${node.name}.log`),
        dir,
      ),
    );
  }
}

/** Waits until every agent runs keepalived and every node's HTTP server answers; fails if a process died. */
export async function waitForProcesses(
  lab: Pick<Lab, "clientNs" | "nodes">,
  processes: LabProcess[],
): Promise<void> {
  const agents = processes.filter((p) => p.role.startsWith("agent "));
  await waitFor(
    "every agent to run keepalived",
    () => {
      const dead = processes.find((p) => !processRuns(p));
      if (dead !== undefined) throw new Error(`${dead.role} exited; its log: ${dead.log}`);
      return Promise.resolve(
        agents.every((a) => logTail(a, 1000).includes('"msg":"keepalived started"')) ? true : undefined,
      );
    },
    60_000,
    100,
  );
  for (const node of lab.nodes)
    await waitFor(`${node.name}'s HTTP server`, () => curlFromClient(lab, node.ip), 20_000, 100);
}
