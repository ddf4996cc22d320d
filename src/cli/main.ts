// The keepalived-operator command: a table of subcommands, each a thin runner over the modules it names.
import { CliError, type Io } from "./io.js";

type Command = (args: string[], io: Io) => Promise<number>;

const SUMMARIES = {
  render: "print a node's keepalived.conf for a group and Services read from files",
  controller: "run the controller (leader-elected) against a cluster",
  controlplane: "start or stop a local etcd + kube-apiserver (up | down)",
  lab: "as root: start, fail over or remove the local lab (up | failover [--json] | down)",
  agent: "run keepalived for one node, following its group (--group) or a GroupPlan file (--plan-file)",
};

/** A command's module is loaded only when it runs: the agent never loads the lab. */
const COMMANDS: Record<keyof typeof SUMMARIES, () => Promise<Command>> = {
  render: async () => (await import("./render.js")).runRender,
  controller: async () => (await import("./controller.js")).runController,
  controlplane: async () => (await import("./controlplane.js")).runControlplane,
  lab: async () => (await import("./lab.js")).runLab,
  agent: async () => (await import("./agent.js")).runAgent,
};

function usage(): string {
  const lines = Object.entries(SUMMARIES).map(([name, summary]) => `  ${name.padEnd(14)}${summary}`);
  return `usage: keepalived-operator <command> [options]\n\ncommands:\n${lines.join("\n")}\n`;
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    io.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name as keyof typeof COMMANDS] : undefined;
  if (load === undefined) {
    io.stderr.write(`keepalived-operator: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    const command = await load();
    return await command(rest, io);
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr.write(`keepalived-operator ${name}: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}
