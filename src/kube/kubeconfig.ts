// Where the API server is and who we are to it: a kubeconfig file or the in-cluster service account.
// Deliberately small (no client library: it would double the agent's memory); exec and auth-provider
// plugins are refused with a message saying what to use instead.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";

/**
 * The YAML parser, loaded when a kubeconfig file is read: in a cluster (the service account) the agent and the
 * controller never load it, which keeps about 5 MiB of code out of their resident memory.
 */
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)("yaml") as typeof import("yaml");
  return yaml.parse(text);
}

export interface Connection {
  server: URL;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** A static token, or a file re-read on every request (bound service-account tokens rotate). */
  token?: string;
  tokenFile?: string;
  insecureSkipTlsVerify?: boolean;
  /** Where it came from, for messages. */
  source: string;
}

export class KubeconfigError extends Error {
  constructor(source: string, message: string) {
    super(`${source}: ${message}`);
    this.name = "KubeconfigError";
  }
}

const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

interface Named<T> {
  name?: string;
  cluster?: T;
  user?: T;
  context?: T;
}
type Doc = {
  "current-context"?: string;
  clusters?: Named<Record<string, unknown>>[];
  users?: Named<Record<string, unknown>>[];
  contexts?: Named<Record<string, unknown>>[];
};

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** Parses kubeconfig text; `base` resolves relative file paths (the kubeconfig's directory). */
export function parseKubeconfig(
  text: string,
  source: string,
  base: string,
  read: (path: string) => Buffer = readFileSync,
): Connection {
  let doc: Doc;
  try {
    doc = (parseYaml(text) as Doc | null) ?? {};
  } catch (err) {
    throw new KubeconfigError(source, `not valid YAML: ${(err as Error).message.split("\n")[0] ?? ""}`);
  }
  const contextName = str(doc["current-context"]);
  if (contextName === undefined)
    throw new KubeconfigError(source, "no current-context; set one with kubectl config use-context");
  const context = doc.contexts?.find((c) => c.name === contextName)?.context;
  if (context === undefined)
    throw new KubeconfigError(source, `current-context ${JSON.stringify(contextName)} is not in contexts`);
  const clusterName = str(context.cluster);
  const userName = str(context.user);
  const cluster = doc.clusters?.find((c) => c.name === clusterName)?.cluster;
  if (cluster === undefined)
    throw new KubeconfigError(
      source,
      `cluster ${JSON.stringify(clusterName ?? "")} of context ${contextName} is not in clusters`,
    );
  const user = (userName === undefined ? {} : doc.users?.find((u) => u.name === userName)?.user) ?? {};
  const file = (p: string): Buffer => read(isAbsolute(p) ? p : join(base, p));
  const data = (inline: unknown, path: unknown): Buffer | undefined => {
    const d = str(inline);
    if (d !== undefined) return Buffer.from(d, "base64");
    const p = str(path);
    return p === undefined ? undefined : file(p);
  };
  const server = str(cluster.server);
  if (server === undefined) throw new KubeconfigError(source, `cluster ${clusterName ?? ""} has no server`);
  if (user.exec !== undefined || user["auth-provider"] !== undefined) {
    throw new KubeconfigError(
      source,
      `user ${userName ?? ""} uses an exec or auth-provider plugin, which this operator does not run; use a token or a client certificate (e.g. a ServiceAccount token)`,
    );
  }
  const conn: Connection = { server: new URL(server), source };
  const ca = data(cluster["certificate-authority-data"], cluster["certificate-authority"]);
  if (ca !== undefined) conn.ca = ca;
  const cert = data(user["client-certificate-data"], user["client-certificate"]);
  const key = data(user["client-key-data"], user["client-key"]);
  if (cert !== undefined) conn.cert = cert;
  if (key !== undefined) conn.key = key;
  const token = str(user.token);
  if (token !== undefined) conn.token = token;
  const tokenFile = str(user.tokenFile);
  if (tokenFile !== undefined) conn.tokenFile = isAbsolute(tokenFile) ? tokenFile : join(base, tokenFile);
  if (cluster["insecure-skip-tls-verify"] === true) conn.insecureSkipTlsVerify = true;
  return conn;
}

/** The in-cluster service account, as every Pod has it. */
export function inClusterConnection(
  env: Record<string, string | undefined>,
  read: (path: string) => Buffer = readFileSync,
): Connection {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT ?? "443";
  if (host === undefined)
    throw new KubeconfigError("in-cluster", "KUBERNETES_SERVICE_HOST is not set; pass --kubeconfig");
  const hostPart = host.includes(":") ? `[${host}]` : host;
  return {
    server: new URL(`https://${hostPart}:${port}`),
    ca: read(`${SERVICE_ACCOUNT_DIR}/ca.crt`),
    tokenFile: `${SERVICE_ACCOUNT_DIR}/token`,
    source: "in-cluster",
  };
}

/** --kubeconfig, else in-cluster when running in a Pod, else $KUBECONFIG, else ~/.kube/config. */
export function loadKubeConfig(
  path?: string,
  env: Record<string, string | undefined> = process.env,
): Connection {
  const explicit =
    path ??
    (env.KUBERNETES_SERVICE_HOST === undefined
      ? (env.KUBECONFIG?.split(":")[0] ?? join(homedir(), ".kube", "config"))
      : undefined);
  if (explicit === undefined) return inClusterConnection(env);
  let text: string;
  try {
    text = readFileSync(explicit, "utf8");
  } catch (err) {
    throw new KubeconfigError(explicit, `cannot read it: ${(err as Error).message}`);
  }
  return parseKubeconfig(text, explicit, dirname(explicit));
}
