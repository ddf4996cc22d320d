// Test helpers over the real control plane: an admin REST client, YAML apply, polling, controller processes.
import { spawn, type ChildProcess } from "node:child_process";
import type { ControlPlane } from "../../src/lab/controlplane.js";
import { controllerArgv, freePort } from "../../src/lab/processes.js";
import { waitFor } from "../../src/lab/wait.js";
import type { Manifest } from "../../src/api/kube.js";
import { applyManifest, applyManifestFile, objectPath } from "../../src/kube/apply.js";
import { ApiError, KubeClient, loadKubeConfig } from "../../src/kube/rest.js";

export { ApiError, KubeClient };

export function adminClient(cp: ControlPlane): KubeClient {
  return KubeClient.fromKubeConfig(loadKubeConfig(cp.kubeconfigPath));
}

type Obj = Manifest;

export { objectPath };

/** Server-side apply as the test's own field manager (like `kubectl apply --server-side`). */
export function apply(client: KubeClient, o: Obj, subresource?: "status"): Promise<unknown> {
  return applyManifest(client, o, "test", subresource);
}

export function applyFile(client: KubeClient, path: string): Promise<void> {
  return applyManifestFile(client, path, "test");
}

export async function get<T>(client: KubeClient, o: Obj): Promise<T | undefined> {
  try {
    return await client.request<T>("GET", objectPath(o));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}

export async function del(client: KubeClient, o: Obj): Promise<void> {
  try {
    await client.request("DELETE", objectPath(o));
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
  }
}

/**
 * Polls until `check` returns a value other than undefined, counting a thrown error as "not yet"; fails with
 * `what` and the last error after the limit.
 */
export function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  limitMs = 30_000,
  everyMs = 25,
): Promise<T> {
  let last: unknown;
  const probe = async (): Promise<T | undefined> => {
    try {
      return await check();
    } catch (err) {
      last = err;
      return undefined;
    }
  };
  return waitFor(what, probe, limitMs, everyMs).catch((err: unknown) => {
    throw last instanceof Error ? new Error(`${(err as Error).message}: ${last.message}`) : err;
  });
}

export interface ControllerProcess {
  child: ChildProcess;
  metricsPort: number;
  logs: string[];
  metrics(): Promise<string>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `keepalived-operator controller` as its own process with fast leader-election timers. */
export async function startController(
  kubeconfig: string,
  identity: string,
  extra: string[] = [],
): Promise<ControllerProcess> {
  const metricsPort = await freePort();
  const child = spawn(
    process.execPath,
    controllerArgv([
      "--kubeconfig",
      kubeconfig,
      "--namespace",
      "keepalived-operator",
      "--identity",
      identity,
      "--metrics-address",
      `127.0.0.1:${metricsPort}`,
      "--lease-duration",
      "3",
      "--renew-deadline",
      "2",
      "--retry-period",
      "0.5",
      ...extra,
    ]),
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const logs: string[] = [];
  let partial = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop() ?? "";
    logs.push(...lines);
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => {
      resolve(code);
    });
  });
  const metrics = async (): Promise<string> => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    return res.text();
  };
  await eventually(
    "controller metrics endpoint",
    async () => ((await metrics()).includes("keepalived_operator_leader") ? true : undefined),
    15_000,
  );
  return {
    child,
    metricsPort,
    logs,
    metrics,
    kill: async (signal: NodeJS.Signals = "SIGKILL") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export function metricValue(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`))
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}
