// Runs the real `keepalived --config-test` inside a private network namespace that has an `eth0`,
// so interface checks pass. Any line keepalived prints (warnings included) counts as a problem.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ConfigTestResult {
  exitCode: number;
  output: string[];
}

export class ConfigTester {
  readonly ns = `kao-ct-${process.pid}`;
  private readonly dir = mkdtempSync(join(tmpdir(), "kao-ct-"));

  constructor() {
    spawnSync("ip", ["netns", "del", this.ns]);
    execFileSync("ip", ["netns", "add", this.ns]);
    const inNs = (...args: string[]): void => {
      execFileSync("ip", ["netns", "exec", this.ns, ...args]);
    };
    inNs("ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1");
    inNs("ip", "link", "set", "eth0", "up");
    inNs("ip", "link", "set", "eth1", "up");
    inNs("ip", "addr", "add", "198.18.0.11/24", "dev", "eth0");
  }

  check(conf: string, name = "keepalived.conf"): ConfigTestResult {
    const file = join(this.dir, name);
    writeFileSync(file, conf);
    const r = spawnSync("ip", ["netns", "exec", this.ns, "keepalived", "--config-test", "-f", file], {
      encoding: "utf8",
    });
    const output = `${r.stdout}${r.stderr}`.split("\n").filter((l) => l.trim() !== "");
    return { exitCode: r.status ?? -1, output };
  }

  close(): void {
    spawnSync("ip", ["netns", "del", this.ns]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
