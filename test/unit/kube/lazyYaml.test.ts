// The agent and the controller load the YAML parser only when they read a kubeconfig or manifest file: in a
// cluster (service-account credentials) they never do, and its code stays out of their resident memory.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

/** Runs `script` (ESM) in a fresh node and returns whether the yaml package was loaded by its end. */
function yamlLoadedAfter(script: string): boolean {
  const probe = `${script}
const { createRequire } = await import("node:module");
const cache = createRequire(import.meta.url).cache;
console.log(Object.keys(cache).some((k) => k.includes("/node_modules/yaml/")) ? "loaded" : "not loaded");`;
  const run = spawnSync(process.execPath, ["--input-type=module", "-e", probe], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trim().split("\n").at(-1) === "loaded";
}

const root = process.cwd();

describe("the YAML parser is loaded on demand", () => {
  it("importing the agent and controller commands loads no YAML parser", () => {
    const script = `await import(${JSON.stringify(join(root, "dist/src/cli/agent.js"))});
await import(${JSON.stringify(join(root, "dist/src/cli/controller.js"))});`;
    assert.equal(yamlLoadedAfter(script), false);
  });

  it("reading a kubeconfig file loads it, and parses the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "kao-yaml-"));
    try {
      const path = join(dir, "kubeconfig");
      writeFileSync(
        path,
        [
          "current-context: c",
          "contexts: [{name: c, context: {cluster: k, user: u}}]",
          "clusters: [{name: k, cluster: {server: 'https://198.18.0.1:6443', insecure-skip-tls-verify: true}}]",
          "users: [{name: u, user: {token: t}}]",
          "",
        ].join("\n"),
      );
      const script = `const { loadKubeConfig } = await import(${JSON.stringify(join(root, "dist/src/kube/kubeconfig.js"))});
const c = loadKubeConfig(${JSON.stringify(path)});
if (c.server.host !== "198.18.0.1:6443" || c.token !== "t") throw new Error("misread: " + c.server.host);`;
      assert.equal(yamlLoadedAfter(script), true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
