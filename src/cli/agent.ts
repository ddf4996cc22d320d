// `keepalived-operator agent`: the node agent fed from a GroupPlan file. Thin: flags → Agent + metrics endpoint.
import { readFileSync } from "node:fs";
import { Agent } from "../agent/agent.js";
import { renderMetrics } from "../agent/metrics.js";
import { FilePlanSource } from "../agent/planSource.js";
import { METRICS_PORT } from "../api/names.js";
import { parseListenAddress, serveRoutes } from "../lib/http.js";
import { jsonLogger } from "../lib/log.js";
import { CliError, parseFlags, type Io } from "./io.js";

const HELP = `usage: keepalived-operator agent --plan-file <groupplan.json> --node <name> [--interface <nic>]
                                 [--password-file <file>] [--state-dir <dir>] [--metrics-address <host:port>]

Runs keepalived for one node of a KeepalivedGroup, following the GroupPlan in <groupplan.json> (as written
by serializeGroupPlan). Each change is rendered, checked with keepalived --config-test and loaded with
SIGHUP; a config keepalived refuses is never loaded. On SIGTERM the node hands its VIPs to its peers first.
Metrics: http://<metrics-address>/metrics (default 0.0.0.0:${METRICS_PORT}), /healthz, /readyz.`;

export async function runAgent(args: string[], io: Io): Promise<number> {
  const { flags } = parseFlags(args, {
    "plan-file": "string",
    node: "string",
    interface: "string",
    "password-file": "string",
    "state-dir": "string",
    "metrics-address": "string",
    help: "boolean",
  });
  if (flags.help === true) {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }
  const planFile = flags["plan-file"];
  if (typeof planFile !== "string") throw new CliError(`--plan-file <groupplan.json> is required\n${HELP}`);
  const node = typeof flags.node === "string" ? flags.node : io.env.NODE_NAME;
  if (node === undefined || node === "") throw new CliError("--node <name> is required (or set NODE_NAME)");
  const listenText =
    typeof flags["metrics-address"] === "string" ? flags["metrics-address"] : `0.0.0.0:${METRICS_PORT}`;
  const listen = parseListenAddress(listenText);
  if (listen === undefined)
    throw new CliError(
      `--metrics-address ${JSON.stringify(listenText)} is not host:port; write e.g. 127.0.0.1:${METRICS_PORT}`,
    );
  let password: string | undefined;
  if (typeof flags["password-file"] === "string") {
    try {
      password = readFileSync(flags["password-file"], "utf8").replace(/\r?\n$/, "");
    } catch (err) {
      throw new CliError(`--password-file: cannot read ${flags["password-file"]}: ${(err as Error).message}`);
    }
  }
  const stateDir = typeof flags["state-dir"] === "string" ? flags["state-dir"] : "/run/keepalived-operator";
  const log = jsonLogger(io.stderr);
  const opts: ConstructorParameters<typeof Agent>[0] = {
    node,
    stateDir,
    source: new FilePlanSource(planFile),
    log,
  };
  if (typeof flags.interface === "string") opts.interface = flags.interface;
  if (password !== undefined) opts.password = password;
  const agent = new Agent(opts);

  const server = await serveRoutes(listen.host, listen.port, {
    "/metrics": async () => {
      await agent.sample();
      return {
        status: 200,
        body: renderMetrics(agent.metrics()),
        contentType: "text/plain; version=0.0.4; charset=utf-8",
      };
    },
    "/healthz": () => Promise.resolve({ status: 200, body: "ok\n" }),
    "/readyz": () =>
      Promise.resolve(
        agent.ready()
          ? { status: 200, body: "ok\n" }
          : { status: 503, body: "keepalived is not running a validated config yet\n" },
      ),
  }).catch((err: unknown) => {
    throw new CliError(`--metrics-address ${listenText}: ${(err as Error).message}`);
  });
  await agent.start();
  log.info("agent started", { node, planFile, stateDir, metrics: listenText });

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => {
      resolve("SIGTERM");
    });
    process.once("SIGINT", () => {
      resolve("SIGINT");
    });
  });
  log.info("stopping", { signal });
  await agent.stop();
  server.close();
  server.closeAllConnections();
  log.info("stopped");
  return 0;
}
