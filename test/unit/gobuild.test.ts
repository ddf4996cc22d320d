// tools/*/build.sh over tools/gobuild.sh, with a fake `go`: what each prints, and that a warm cache never runs Go.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

/** The KEY=value lines of tools/<tool>/versions.env. */
function versions(tool: string): Record<string, string> {
  const text = readFileSync(join("tools", tool, "versions.env"), "utf8");
  const out: Record<string, string> = {};
  for (const [, key = "", value = ""] of text.matchAll(/^([A-Z_]+)=(\S+)$/gm)) out[key] = value;
  return out;
}
const { KUBERNETES_VERSION, ETCD_VERSION } = versions("controlplane");

const tools: [script: string, cacheKey: string, prints: string, binaries: string[]][] = [
  [
    "controlplane",
    `controlplane/kubernetes-${KUBERNETES_VERSION}-etcd-${ETCD_VERSION}`,
    "",
    ["etcd", "kube-apiserver"],
  ],
  ["helm", `helm/${versions("helm").HELM_VERSION}`, "/helm", ["helm"]],
  ["kustomize", `kustomize/${versions("kustomize").KUSTOMIZE_VERSION}`, "/kustomize", ["kustomize"]],
];

/** A `go` that logs each call and writes the -o file as an executable. */
function fakeGo(dir: string): string {
  const bin = join(dir, "bin");
  mkdirSync(bin);
  writeFileSync(
    join(bin, "go"),
    `#!/bin/sh\necho "$PWD $*" >> "${join(dir, "go.log")}"\nwhile [ $# -gt 0 ]; do [ "$1" = -o ] && printf '#!/bin/sh\\n' > "$2" && chmod +x "$2"; shift; done\n`,
  );
  chmodSync(join(bin, "go"), 0o755);
  return bin;
}

const run = (script: string, cache: string, bin: string) =>
  spawnSync(join("tools", script, "build.sh"), [], {
    encoding: "utf8",
    env: { PATH: `${bin}:/usr/bin:/bin`, KAO_CACHE_DIR: cache, HOME: "/nonexistent" },
  });
const goCalls = (dir: string): string[] => {
  try {
    return readFileSync(join(dir, "go.log"), "utf8").trim().split("\n");
  } catch {
    return [];
  }
};

for (const [script, cacheKey, prints, binaries] of tools) {
  test(`tools/${script}/build.sh: a cold cache builds ${binaries.join(" and ")}; a warm one prints the same path without Go`, () => {
    const dir = mkdtempSync(join(tmpdir(), "kao-gobuild-"));
    const cache = join(dir, "cache");
    const bin = fakeGo(dir);
    const expected = `${join(cache, cacheKey)}${prints}\n`;
    const cold = run(script, cache, bin);
    assert.equal(cold.status, 0, cold.stderr);
    assert.equal(cold.stdout, expected);
    assert.deepEqual(
      goCalls(dir).map((line) => /-o \S+\/([^/ ]+)\.tmp /.exec(line)?.[1]),
      binaries,
    );
    assert.ok(goCalls(dir).every((line) => line.includes(" build -trimpath ")));
    const warm = run(script, cache, bin);
    assert.equal(warm.status, 0, warm.stderr);
    assert.equal(warm.stdout, expected);
    assert.equal(warm.stderr, "");
    assert.equal(goCalls(dir).length, binaries.length, "a warm run must not call go");
  });
}
