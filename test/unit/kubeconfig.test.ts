import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inClusterConnection, KubeconfigError, parseKubeconfig } from "../../src/kube/kubeconfig.js";

const files: Record<string, string> = {
  "/etc/kao/ca.crt": "CA-FROM-FILE",
  "/etc/kao/sub/client.crt": "CERT-FROM-FILE",
};
const read = (p: string): Buffer => {
  const v = files[p];
  if (v === undefined) throw new Error(`ENOENT ${p}`);
  return Buffer.from(v);
};
const doc = (cluster: string, user: string, current = "ctx"): string =>
  `apiVersion: v1\nkind: Config\ncurrent-context: ${current}\ncontexts:\n- name: ctx\n  context: {cluster: c, user: u}\nclusters:\n- name: c\n  cluster: ${cluster}\nusers:\n- name: u\n  user: ${user}\n`;

describe("parseKubeconfig", () => {
  it("inline data and a static token", () => {
    const c = parseKubeconfig(
      doc(
        `{server: "https://127.0.0.1:6443", certificate-authority-data: ${Buffer.from("CA").toString("base64")}}`,
        "{token: abc}",
      ),
      "k",
      "/etc/kao",
      read,
    );
    assert.equal(c.server.href, "https://127.0.0.1:6443/");
    assert.equal(c.ca?.toString(), "CA");
    assert.equal(c.token, "abc");
  });
  it("files relative to the kubeconfig's directory, and a token file", () => {
    const c = parseKubeconfig(
      doc(
        "{server: https://api:6443, certificate-authority: ca.crt}",
        "{client-certificate: sub/client.crt, tokenFile: tok}",
      ),
      "k",
      "/etc/kao",
      read,
    );
    assert.equal(c.ca?.toString(), "CA-FROM-FILE");
    assert.equal(c.cert?.toString(), "CERT-FROM-FILE");
    assert.equal(c.tokenFile, "/etc/kao/tok");
  });
  const bad: [string, string, RegExp][] = [
    ["no current context", doc("{server: https://a}", "{}", '""'), /no current-context/],
    ["unknown context", doc("{server: https://a}", "{}", "other"), /"other" is not in contexts/],
    ["no server", doc("{}", "{}"), /has no server/],
    ["exec plugin", doc("{server: https://a}", "{exec: {command: aws}}"), /exec or auth-provider plugin/],
    ["not YAML", "{:", /not valid YAML/],
  ];
  for (const [name, text, message] of bad) {
    it(`${name} is a clear error`, () => {
      assert.throws(
        () => parseKubeconfig(text, "/home/u/.kube/config", "/home/u/.kube", read),
        (err: unknown) =>
          err instanceof KubeconfigError &&
          message.test(err.message) &&
          err.message.startsWith("/home/u/.kube/config:"),
      );
    });
  }
});

describe("inClusterConnection", () => {
  it("uses the service account's token file and CA", () => {
    const c = inClusterConnection(
      { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" },
      () => Buffer.from("CA"),
    );
    assert.equal(c.server.href, "https://[fd00::1]/");
    assert.equal(c.tokenFile, "/var/run/secrets/kubernetes.io/serviceaccount/token");
  });
  it("outside a Pod it says to pass --kubeconfig", () => {
    assert.throws(() => inClusterConnection({}), /pass --kubeconfig/);
  });
});
