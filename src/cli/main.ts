// The keepalived-operator command: a table of subcommands, each a thin runner over the modules it names.
import { CliError, type Io } from "./io.js";

type Command = (args: string[], io: Io) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  render: {
    summary: "print a node's keepalived.conf for a group and Services read from files",
    load: async () => (await import("./render.js")).runRender,
  },
  controller: {
    summary: "run the controller (leader-elected) against a cluster",
    load: async () => (await import("./controller.js")).runController,
  },
  controlplane: {
    summary: "start or stop a local etcd + kube-apiserver (up | down)",
    load: async () => (await import("./controlplane.js")).runControlplane,
  },
  lab: {
    summary: "as root: start, fail over or remove the local lab (up | failover [--json] | down)",
    load: async () => (await import("./lab.js")).runLab,
  },
  agent: {
    summary: "run keepalived for one node, following its group (--group) or a GroupPlan file (--plan-file)",
    load: async () => (await import("./agent.js")).runAgent,
  },
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(14)}${c.summary}`);
  return `usage: keepalived-operator <command> [options]\n\ncommands:\n${lines.join("\n")}\n`;
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    io.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    io.stderr.write(`keepalived-operator: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await (
      await command.load()
    )(rest, io);
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr.write(`keepalived-operator ${name}: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}
