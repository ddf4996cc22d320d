// keepalived as the agent's foreground child: started on a validated config, reloaded with SIGHUP,
// restarted with backoff when it dies, stopped with SIGTERM; or, after the agent itself was killed, the
// keepalived it left running, adopted (orphan.ts). The decisions live in agent.ts.
import { execFile, spawn } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { backoffDelay } from "../lib/backoff.js";
import type { Logger } from "../lib/log.js";
import { removeFiles } from "./files.js";
import { configTestProblems } from "./config.js";
import { netnsPathOf, NO_PREFIX, prefixed, type CommandPrefix } from "./command.js";
import { isOurKeepalived, leftKeepalived } from "./orphan.js";

const execFileP = promisify(execFile);

export interface KeepalivedPaths {
  stateDir: string;
  config: string;
  pid: string;
  vrrpPid: string;
  checkersPid: string;
  bfdPid: string;
}

export function keepalivedPaths(stateDir: string): KeepalivedPaths {
  return {
    stateDir,
    config: join(stateDir, "keepalived.conf"),
    pid: join(stateDir, "keepalived.pid"),
    vrrpPid: join(stateDir, "vrrp.pid"),
    checkersPid: join(stateDir, "checkers.pid"),
    bfdPid: join(stateDir, "bfd.pid"),
  };
}

/** Runs `keepalived --config-test` on a file in keepalived's network namespace; returns its problems. */
export async function testConfigFile(
  path: string,
  binary = "keepalived",
  cmdPrefix: CommandPrefix = NO_PREFIX,
): Promise<string[]> {
  const [file, args] = prefixed(cmdPrefix, binary, ["--config-test", "-f", path, "-l"]);
  return new Promise((resolve) => {
    // No 1 MiB cap: a config of thousands of VIPs may draw a long report.
    execFile(file, args, { timeout: 10_000, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : 1;
      resolve(configTestProblems(`${stdout}\n${stderr}`, code));
    });
  });
}

/** keepalived's number for a signal function (JSON, STATS, …), as this build defines it. */
export async function signalNumber(
  name: "JSON" | "STATS" | "DATA",
  binary = "keepalived",
): Promise<number | undefined> {
  try {
    const { stdout } = await execFileP(binary, [`--signum=${name}`]);
    const n = Number(stdout.trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

export interface SupervisorHooks {
  /** Before each start: remove what a dead keepalived left behind. */
  beforeStart: () => Promise<void>;
  /** After keepalived exits for any reason. */
  onExit: (code: number | null, signal: NodeJS.Signals | null) => void;
  onLine: (line: string) => void;
}

/** Runs stay this long before a death counts as a new failure rather than the next of a series. */
const STABLE_RUN_MS = 10_000;
/** How often an adopted keepalived (not our child: no exit event) is checked for life. */
const ADOPTED_POLL_MS = 200;

/** The keepalived being supervised: our child, or one an earlier agent left running that we adopted. */
interface Supervised {
  pid: number;
  adopted: boolean;
  signal(sig: NodeJS.Signals | number): void;
}

function signalPid(pid: number, sig: NodeJS.Signals | number): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone: its exit is seen by the exit watch.
  }
}

export class KeepalivedSupervisor {
  private proc: Supervised | undefined;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private jsonSignal: number | undefined;
  startedAt = 0;
  starts = 0;

  constructor(
    readonly paths: KeepalivedPaths,
    private readonly log: Logger,
    private readonly hooks: SupervisorHooks,
    private readonly binary = "keepalived",
    private readonly cmdPrefix: CommandPrefix = NO_PREFIX,
  ) {}

  get running(): boolean {
    return this.proc !== undefined;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Whether the keepalived running now was adopted rather than started by this agent. */
  get adopted(): boolean {
    return this.proc?.adopted === true;
  }

  private cancelled(): boolean {
    return this.proc !== undefined || this.stopping;
  }

  /**
   * Takes over a keepalived an earlier agent of this state directory left running, so that there is never a
   * second one; one that cannot be adopted (another network namespace, a VRRP child without its parent) is
   * stopped. Returns the adopted pid.
   */
  async adoptLeftover(): Promise<number | undefined> {
    if (this.proc !== undefined || this.stopping) return undefined;
    for (const left of await leftKeepalived(this.paths, this.binary, netnsPathOf(this.cmdPrefix))) {
      if (!left.adoptable) {
        this.log.warn("stopping a keepalived an earlier agent left running elsewhere", { pid: left.pid });
        await stopPid(left.pid, () => isOurKeepalived(left.pid, this.paths, this.binary));
        continue;
      }
      this.jsonSignal ??= await signalNumber("JSON", this.binary);
      if (this.cancelled()) return undefined;
      const pid = left.pid;
      this.watch({
        pid,
        adopted: true,
        signal: (sig) => {
          signalPid(pid, sig);
        },
      });
      this.log.info("adopted the keepalived an earlier agent left running; its own output is not seen", {
        pid,
      });
      return pid;
    }
    return undefined;
  }

  /** Follows an adopted process's life by polling /proc: it is not our child, so no exit event comes. */
  private watch(proc: Supervised): void {
    this.proc = proc;
    this.startedAt = Date.now();
    this.exited = new Promise((resolve) => {
      const timer = setInterval(() => {
        void isOurKeepalived(proc.pid, this.paths, this.binary).then((alive) => {
          if (alive || this.proc !== proc) return;
          clearInterval(timer);
          this.ended(null, null, resolve);
        });
      }, ADOPTED_POLL_MS);
    });
  }

  private ended(code: number | null, signal: NodeJS.Signals | null, resolve: () => void): void {
    this.proc = undefined;
    this.hooks.onExit(code, signal);
    resolve();
    if (!this.stopping) this.scheduleRestart();
  }

  async start(): Promise<void> {
    if (this.proc !== undefined || this.stopping) return;
    if ((await this.adoptLeftover()) !== undefined || this.cancelled()) return;
    this.jsonSignal ??= await signalNumber("JSON", this.binary);
    // No keepalived of ours runs now (adoptLeftover); stale pid files would make a new one refuse to start.
    await removeFiles([this.paths.pid, this.paths.vrrpPid, this.paths.checkersPid, this.paths.bfdPid]);
    await this.hooks.beforeStart();
    // stop() or another start() may have run while we awaited.
    if (this.cancelled()) return;
    this.spawnChild();
  }

  private spawnChild(): void {
    const args = [
      "--dont-fork",
      // No --log-detail: it logs a line per gratuitous ARP and neighbour advert (36,039 lines, 2.8 MB for a
      // takeover of 3,000 VIPs), and keepalived writes them to our pipe synchronously: while the agent is slow
      // to read, its VRRP process blocks and sends no advert (seconds at 3,333 VIPs: the peers took over).
      "--log-console",
      "--no-syslog",
      "--vrrp",
      // A dead VRRP child must end keepalived, so that the agent sees it, cleans up and restarts.
      "--dont-respawn",
      `--use-file=${this.paths.config}`,
      `--pid=${this.paths.pid}`,
      `--vrrp_pid=${this.paths.vrrpPid}`,
      `--checkers_pid=${this.paths.checkersPid}`,
      `--bfd_pid=${this.paths.bfdPid}`,
    ];
    // TMPDIR: keepalived writes its JSON and stats dumps there instead of the shared /tmp.
    // `ip netns exec` execs keepalived in place, so the child's pid stays keepalived's for signals.
    const child = spawn(...prefixed(this.cmdPrefix, this.binary, args), {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, TMPDIR: this.paths.stateDir },
    });
    const pid = child.pid;
    // process.kill, not child.kill: keepalived's JSON signal is a real-time one that has no name.
    if (pid !== undefined)
      this.proc = {
        pid,
        adopted: false,
        signal: (sig) => {
          signalPid(pid, sig);
        },
      };
    this.startedAt = Date.now();
    this.starts++;
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => {
        this.hooks.onLine(line);
      });
    }
    this.exited = new Promise((resolve) => {
      child.on("exit", (code, signal) => {
        this.ended(code, signal, resolve);
      });
    });
    child.on("error", (err) => {
      this.log.error("cannot run keepalived", {
        error: err.message,
        fix: "install keepalived 2.x on the node image",
      });
    });
    this.log.info("keepalived started", { pid });
  }

  private scheduleRestart(): void {
    if (Date.now() - this.startedAt > STABLE_RUN_MS) this.failures = 0;
    const delay = backoffDelay(this.failures++);
    this.log.warn("keepalived exited; restarting", { delayMs: delay, failures: this.failures });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.start().catch((err: unknown) => {
        this.log.error("keepalived restart failed", { error: (err as Error).message });
        this.scheduleRestart();
      });
    }, delay);
  }

  /** Makes keepalived re-read its config. */
  reload(): void {
    this.proc?.signal("SIGHUP");
  }

  /** Asks keepalived for its JSON dump and returns it parsed, or undefined if none came within the timeout. */
  async dumpJson(timeoutMs = 1000): Promise<unknown> {
    const proc = this.proc;
    if (proc === undefined || this.jsonSignal === undefined) return undefined;
    const file = join(this.paths.stateDir, "keepalived.json");
    const before = await stat(file).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    const asked = Date.now();
    proc.signal(this.jsonSignal);
    // keepalived writes the file from its VRRP process a moment later; watch its mtime move.
    while (Date.now() - asked < timeoutMs) {
      await new Promise((r) => setTimeout(r, 10));
      const s = await stat(file).catch(() => undefined);
      if (s !== undefined && s.mtimeMs !== before && s.size > 0) {
        await new Promise((r) => setTimeout(r, 5));
        const text = await readFile(file, "utf8");
        try {
          // Parsed once, here: a thousand VIPs make a dump worth not parsing twice at every sample.
          return JSON.parse(text) as unknown;
        } catch {
          // Still being written; look again.
        }
      }
    }
    return undefined;
  }

  /** Stops keepalived (SIGTERM, then SIGKILL after the grace period) and does not restart it. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    const proc = this.proc;
    if (proc === undefined) {
      // Never adopted (no plan came): a keepalived an earlier agent left must not outlive this one either.
      for (const left of await leftKeepalived(this.paths, this.binary, netnsPathOf(this.cmdPrefix)))
        await stopPid(left.pid, () => isOurKeepalived(left.pid, this.paths, this.binary), graceMs);
      return;
    }
    proc.signal("SIGTERM");
    const timer = setTimeout(() => {
      proc.signal("SIGKILL");
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** SIGTERM, SIGKILL after the grace period; resolves once `alive()` says it is gone (or twice the grace). */
async function stopPid(pid: number, alive: () => Promise<boolean>, graceMs = 5000): Promise<void> {
  signalPid(pid, "SIGTERM");
  const started = Date.now();
  while ((await alive()) && Date.now() - started < 2 * graceMs) {
    if (Date.now() - started > graceMs) signalPid(pid, "SIGKILL");
    await new Promise((r) => setTimeout(r, 50));
  }
}
