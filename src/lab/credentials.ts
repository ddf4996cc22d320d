// The control plane's credentials: a throwaway CA with the API server's and the admin's certificates (openssl),
// the ServiceAccount signing key, and kubeconfig files for the admin and for ServiceAccount tokens.
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { stringify } from "yaml";
import type { KubeClient } from "../kube/rest.js";

const execFileP = promisify(execFile);

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execFileP("openssl", args, { cwd });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error("openssl not found on PATH: install it (Debian/Ubuntu: apt-get install openssl)");
    }
    throw new Error(
      `openssl ${args.join(" ")} failed: ${(err as { stderr?: string }).stderr ?? String(err)}`,
    );
  }
}

/** A key pair and a certificate signed by the lab CA. */
async function issueCert(pki: string, name: string, subject: string, extensions: string): Promise<void> {
  await writeFile(join(pki, `${name}.ext`), extensions);
  await openssl(
    [
      ...["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject],
    ],
    pki,
  );
  await openssl(
    [
      ...["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"],
      ...["-days", "7", "-out", `${name}.crt`, "-extfile", `${name}.ext`],
    ],
    pki,
  );
}

/**
 * ca, apiserver and admin certificates and the ServiceAccount key pair (sa.key, sa.pub) in `pki`; the API
 * server's certificate also names `extraIPs` (the kubelet lab's bridge address and `kubernetes` ClusterIP).
 */
export async function writePki(pki: string, extraIPs: string[] = []): Promise<void> {
  await mkdir(pki, { recursive: true });
  await openssl(
    [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-keyout", "ca.key", "-out", "ca.crt", "-days", "7", "-subj", "/CN=keepalived-operator-lab-ca"],
    ],
    pki,
  );
  await issueCert(
    pki,
    "apiserver",
    "/CN=kube-apiserver",
    `subjectAltName=${["IP:127.0.0.1", ...extraIPs.map((a) => `IP:${a}`), "DNS:localhost"].join(",")}\n` +
      "extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n",
  );
  // system:masters is bound to cluster-admin by the API server's bootstrap RBAC policy.
  await issueCert(
    pki,
    "admin",
    "/O=system:masters/CN=admin",
    "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n",
  );
  const sa = generateKeyPairSync("ec", { namedCurve: "P-256" });
  await writeFile(join(pki, "sa.key"), sa.privateKey.export({ type: "sec1", format: "pem" }));
  await writeFile(join(pki, "sa.pub"), sa.publicKey.export({ type: "spki", format: "pem" }));
}

/** A kubeconfig with one cluster, one user and one context, all named lab. */
export function kubeconfigYaml(server: string, caPem: string, user: Record<string, string>): string {
  const b64 = (s: string): string => Buffer.from(s).toString("base64");
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "lab", cluster: { server, "certificate-authority-data": b64(caPem) } }],
    users: [{ name: "lab", user }],
    contexts: [{ name: "lab", context: { cluster: "lab", user: "lab" } }],
    "current-context": "lab",
  });
}

/** A token of an existing ServiceAccount (TokenRequest); `audiences` default to the API server's own. */
export async function serviceAccountToken(
  client: KubeClient,
  namespace: string,
  name: string,
  spec: { expirationSeconds: number; audiences?: string[] },
): Promise<string> {
  const tr = await client.request<{ status?: { token?: string } }>(
    "POST",
    `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    { body: { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec } },
  );
  return tr.status?.token ?? "";
}
