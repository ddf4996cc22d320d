// The folders of src/ are layers; this test holds the import rules docs/architecture.md states, so a new
// upward import fails here instead of growing unnoticed.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

/** Which folders each folder may import from (besides itself). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  api: [],
  lib: [],
  core: ["api"],
  render: ["api", "core"],
  kube: ["api", "lib"],
  controller: ["api", "core", "render", "kube", "lib"],
  agent: ["api", "core", "render", "kube", "lib"],
  lab: ["api", "core", "render", "kube", "lib", "agent"],
  cli: ["api", "core", "render", "kube", "lib", "agent", "controller", "lab"],
};

/** Node built-ins the pure layers may use: address parsing and hashing, nothing that does I/O. */
const PURE_BUILTINS: Record<string, readonly string[]> = {
  api: [],
  core: ["node:net"],
  render: ["node:crypto", "node:zlib"],
};

const SRC = join(process.cwd(), "src");

function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/^(?:import|export)[^;]*?from "([^"]+)";/gms)].map((m) => m[1] ?? "");
}

function sourceFiles(folder: string): string[] {
  return readdirSync(join(SRC, folder))
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(SRC, folder, f));
}

describe("layers of src/", () => {
  it("every folder of src/ has a rule", () => {
    const folders = readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    assert.deepEqual(folders, Object.keys(MAY_IMPORT).sort());
  });

  it("src/ and bench/ never import test/: what the product and the benchmarks use lives in src/", () => {
    const files = [
      ...Object.keys(MAY_IMPORT).flatMap(sourceFiles),
      ...readdirSync(join(process.cwd(), "bench"), { recursive: true, encoding: "utf8" })
        .filter((f) => f.endsWith(".ts"))
        .map((f) => join(process.cwd(), "bench", f)),
    ];
    const wrong = files.flatMap((file) =>
      imports(file)
        .filter((spec) => /(^|\/)test\//.test(spec))
        .map((spec) => `${file}: ${spec}`),
    );
    assert.deepEqual(wrong, []);
  });

  for (const [folder, allowed] of Object.entries(MAY_IMPORT)) {
    it(`${folder}/ imports only from ${allowed.length === 0 ? "itself" : allowed.join(", ")}`, () => {
      const wrong: string[] = [];
      for (const file of sourceFiles(folder)) {
        for (const spec of imports(file)) {
          const layer = /^\.\.\/([a-z]+)\//.exec(spec)?.[1];
          if (layer !== undefined && !allowed.includes(layer)) wrong.push(`${file}: ${spec}`);
          const builtins = PURE_BUILTINS[folder];
          if (builtins !== undefined && spec.startsWith("node:") && !builtins.includes(spec))
            wrong.push(`${file}: ${spec} (pure layer)`);
        }
      }
      assert.deepEqual(wrong, []);
    });
  }
});
