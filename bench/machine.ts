// The machine a run measured on: CPU, cores, kernel, keepalived and Node.js versions, load averages.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { cpus, loadavg, release } from "node:os";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

export interface Machine {
  cpu: string;
  cores: number;
  kernel: string;
  keepalived: string;
  node: string;
}

async function cpuModel(): Promise<string> {
  try {
    const info = await readFile("/proc/cpuinfo", "utf8");
    const m = /^model name\s*:\s*(.+)$/m.exec(info);
    if (m?.[1] !== undefined) return m[1].trim();
  } catch {
    // not Linux /proc: fall back to what Node.js reports
  }
  return cpus()[0]?.model ?? "unknown";
}

async function keepalivedVersion(): Promise<string> {
  try {
    const { stdout, stderr } = await execFileP("keepalived", ["--version"]);
    const first = `${stderr}\n${stdout}`.split("\n").find((l) => /Keepalived v/.test(l));
    return first?.trim() ?? "unknown";
  } catch (err) {
    return `not found (${(err as Error).message})`;
  }
}

export async function machine(): Promise<Machine> {
  return {
    cpu: await cpuModel(),
    cores: cpus().length,
    kernel: `Linux ${release()}`,
    keepalived: await keepalivedVersion(),
    node: process.version,
  };
}

/** The 1, 5 and 15 minute load averages, rounded to two places. */
export function loadAverage(): number[] {
  return loadavg().map((l) => Math.round(l * 100) / 100);
}
