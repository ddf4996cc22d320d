// etcd and kube-apiserver as processes: their flags, their logs (in the control plane's directory), and the
// wait for /readyz that reports a process exiting early with the end of its log.
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { join } from "node:path";
import { spawnLogged, tail } from "./processes.js";
import { sleep } from "./wait.js";

/** The issuer and audience of ServiceAccount tokens. */
export const SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";
const LOG_TAIL_LINES = 20;

export interface Started {
  child: ChildProcess;
  logPath: string;
  exit: { code: number | null; signal: string | null } | undefined;
}

/** Where a control plane's processes run: binaries, its directory, whether they outlive this process. */
export interface Placement {
  binDir: string;
  dir: string;
  detached: boolean;
}

function startProcess(at: Placement, binary: string, args: string[]): Started {
  const child = spawnLogged(join(at.binDir, binary), args, join(at.dir, `${binary}.log`), at.detached);
  const started: Started = { child, logPath: join(at.dir, `${binary}.log`), exit: undefined };
  child.on("exit", (code, signal) => {
    started.exit = { code, signal };
  });
  child.on("error", (err) => {
    started.exit = { code: null, signal: err.message };
  });
  return started;
}

export function startEtcd(at: Placement, clientUrl: string, peerUrl: string): Started {
  return startProcess(at, "etcd", [
    "--name=lab",
    `--data-dir=${join(at.dir, "etcd")}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=lab=${peerUrl}`,
    // Throwaway data: durability is not worth the fsync latency.
    "--unsafe-no-fsync",
    "--log-level=warn",
  ]);
}

/** kube-apiserver on 127.0.0.1:`securePort` with the certificates of `pki` (credentials.ts writePki). */
export function startApiserver(
  at: Placement,
  etcdUrl: string,
  securePort: number,
  pki: string,
  extraArgs: string[],
): Started {
  return startProcess(at, "kube-apiserver", [
    `--etcd-servers=${etcdUrl}`,
    `--secure-port=${securePort}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--cert-dir=${pki}`,
    `--tls-cert-file=${join(pki, "apiserver.crt")}`,
    `--tls-private-key-file=${join(pki, "apiserver.key")}`,
    `--client-ca-file=${join(pki, "ca.crt")}`,
    "--authorization-mode=Node,RBAC",
    `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
    `--service-account-key-file=${join(pki, "sa.pub")}`,
    `--service-account-signing-key-file=${join(pki, "sa.key")}`,
    // Only allocated inside the API server: nothing routes to this range.
    "--service-cluster-ip-range=10.96.0.0/16",
    `--api-audiences=${SERVICE_ACCOUNT_ISSUER}`,
    ...extraArgs,
  ]);
}

function exitedError(name: string, p: Started, before: string): Error {
  const how = p.exit?.code == null ? `by ${p.exit?.signal ?? "?"}` : `with code ${p.exit.code}`;
  return new Error(`${name} exited ${how} before ${before}: ${tail(p.logPath, LOG_TAIL_LINES)}`);
}

/** GET /readyz with the admin certificate; resolves to the HTTP status and body (or the connection error). */
function getReadyz(server: string, pki: string): Promise<string> {
  return new Promise((resolve) => {
    const req = request(
      `${server}/readyz`,
      {
        ca: readFileSync(join(pki, "ca.crt")),
        cert: readFileSync(join(pki, "admin.crt")),
        key: readFileSync(join(pki, "admin.key")),
        timeout: 5_000,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (s: string) => (body += s));
        res.on("end", () => {
          resolve(`${res.statusCode} ${body.trim()}`);
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => {
      resolve(err.message);
    });
    req.end();
  });
}

/** Waits for /readyz to answer 200; fails early when one of `procs` exits. */
export async function waitReady(
  server: string,
  pki: string,
  procs: Record<string, Started>,
  deadline: number,
): Promise<void> {
  let last = "";
  while (Date.now() < deadline) {
    for (const [name, p] of Object.entries(procs)) if (p.exit) throw exitedError(name, p, "/readyz");
    last = await getReadyz(server, pki);
    if (last.startsWith("200 ")) return;
    await sleep(250);
  }
  throw new Error(
    `kube-apiserver not ready at ${server}/readyz before the startup timeout; last answer: ${last.slice(0, 2000)}\n` +
      `kube-apiserver log: ${tail(procs["kube-apiserver"]?.logPath ?? "", LOG_TAIL_LINES)}`,
  );
}
