// `keepalived-operator controller`: caches, leader election, reconcile loop, metrics and health endpoints.
import { hostname } from "node:os";
import { Controller } from "../controller/controller.js";
import { LeaderElector } from "../kube/leader.js";
import { KubeClient, loadKubeConfig } from "../kube/rest.js";
import { parseListenAddress, serveRoutes } from "../lib/http.js";
import { jsonLogger } from "../lib/log.js";
import { Registry } from "../lib/prom.js";
import { CliError, parseFlags, type Io } from "./io.js";

const HELP = `usage: keepalived-operator controller [--kubeconfig <file>] [--namespace <ns>] [--metrics-address <host:port>]
       [--leader-elect=false] [--lease-duration <s>] [--renew-deadline <s>] [--retry-period <s>] [--identity <id>]

Runs the controller. Without --kubeconfig it uses the in-cluster service account (or $KUBECONFIG).
The Lease "keepalived-operator" lives in --namespace (default $POD_NAMESPACE, else keepalived-operator).`;

function seconds(flags: Record<string, string | boolean>, name: string, fallback: number): number {
  const v = flags[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== "string" || !Number.isFinite(n) || n <= 0)
    throw new CliError(`--${name} must be a positive number of seconds, got ${JSON.stringify(v)}`);
  return n * 1000;
}

export async function runController(args: string[], io: Io): Promise<number> {
  const { flags } = parseFlags(args, {
    kubeconfig: "string",
    namespace: "string",
    "metrics-address": "string",
    "leader-elect": "boolean",
    "lease-duration": "string",
    "renew-deadline": "string",
    "retry-period": "string",
    identity: "string",
    help: "boolean",
  });
  if (flags.help === true) {
    io.stdout.write(`${HELP}\n`);
    return 0;
  }
  const identity = typeof flags.identity === "string" ? flags.identity : `${hostname()}_${process.pid}`;
  const namespace =
    typeof flags.namespace === "string" ? flags.namespace : (io.env.POD_NAMESPACE ?? "keepalived-operator");
  const listenText = typeof flags["metrics-address"] === "string" ? flags["metrics-address"] : "0.0.0.0:8080";
  const listen = parseListenAddress(listenText);
  if (listen === undefined)
    throw new CliError(
      `--metrics-address ${JSON.stringify(listenText)} is not host:port; write e.g. 0.0.0.0:8080`,
    );
  const leaseDurationMs = seconds(flags, "lease-duration", 15);
  const renewDeadlineMs = seconds(flags, "renew-deadline", 10);
  const retryPeriodMs = seconds(flags, "retry-period", 2);
  if (!(leaseDurationMs > renewDeadlineMs && renewDeadlineMs > retryPeriodMs)) {
    throw new CliError("need --lease-duration > --renew-deadline > --retry-period");
  }
  const log = jsonLogger(io.stderr, { component: "controller", identity });
  let client: KubeClient;
  try {
    client = KubeClient.fromKubeConfig(
      loadKubeConfig(typeof flags.kubeconfig === "string" ? flags.kubeconfig : io.env.KUBECONFIG),
    );
  } catch (err) {
    throw new CliError(`cannot load the kubeconfig: ${(err as Error).message}`);
  }
  const metrics = new Registry();
  const leaderGauge = metrics.gauge("keepalived_operator_leader", "1 while this replica leads.");
  leaderGauge.set(0);
  const controller = new Controller({ client, log, metrics, identity });
  const elector = new LeaderElector(
    client,
    { namespace, name: "keepalived-operator", identity, leaseDurationMs, renewDeadlineMs, retryPeriodMs },
    log,
  );
  const server = await serveRoutes(listen.host, listen.port, {
    "/metrics": () =>
      Promise.resolve({
        status: 200,
        body: metrics.render(),
        contentType: "text/plain; version=0.0.4; charset=utf-8",
      }),
    "/healthz": () => Promise.resolve({ status: 200, body: "ok\n" }),
    "/readyz": () =>
      Promise.resolve(
        controller.cachesSynced
          ? { status: 200, body: "ok\n" }
          : { status: 503, body: "caches not synced\n" },
      ),
  }).catch((err: unknown) => {
    throw new CliError(`--metrics-address ${listenText}: ${(err as Error).message}`);
  });

  let exitCode = 0;
  const done = new Promise<void>((resolve) => {
    const shutdown = (signal: string): void => {
      log.info("shutting down", { signal });
      controller.stop();
      void elector.release().then(resolve);
    };
    process.once("SIGTERM", () => {
      shutdown("SIGTERM");
    });
    process.once("SIGINT", () => {
      shutdown("SIGINT");
    });
    // Every replica keeps warm caches (so a standby is Ready and takes over without a full list);
    // only the leader reconciles.
    const synced = controller.startCaches();
    const lead = (): void => {
      leaderGauge.set(1);
      void synced.then(() => {
        controller.startReconciling();
      });
    };
    if (flags["leader-elect"] === false) {
      lead();
      return;
    }
    void elector.run(lead, () => {
      // Leadership lost: stop writing at once; the process exits so that it restarts clean.
      leaderGauge.set(0);
      controller.stop();
      exitCode = 1;
      resolve();
    });
  });
  log.info("controller started", {
    namespace,
    metrics: listenText,
    leaderElection: flags["leader-elect"] !== false,
  });
  await done;
  server.close();
  server.closeAllConnections();
  return exitCode;
}
