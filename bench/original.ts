// The operator we replace, as the bench runs it: its keepalived.conf rendered by our own code from the
// semantics of its template, and plain keepalived started on that file in each node namespace (no agent).
// Its template gives every Service a vrrp_instance of its own named <namespace>/<name>, with the group's
// interface, the router ID recorded for the Service and the Service's IPs; it writes no priority (every
// node 100), no vrrp_version (VRRPv2), no advert_int (1 s) and no garp_master_delay (keepalived's 5 s), and
// every node gets the same file. Nothing here is copied from the original's code.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { NODE_IFACE, type Lab, type LabNode } from "../src/lab/netns.js";
import { sleep } from "../src/lab/wait.js";

/** One Service as the original's template sees it. */
export interface OriginalService {
  namespace: string;
  name: string;
  vips: string[];
  /** The router ID the original recorded in the group's status.routerIDs for `<namespace>/<name>`. */
  routerId: number;
}

/** What the original's template reads from the group. */
export interface OriginalGroup {
  name: string;
  interface: string;
}

/** The original's keepalived.conf for these Services: the same text for every node. Pure. */
export function renderOriginalConf(group: OriginalGroup, services: readonly OriginalService[]): string {
  const lines = ["global_defs {", `    router_id ${group.name}`, "}"];
  for (const s of services) {
    lines.push(
      "",
      `vrrp_instance ${s.namespace}/${s.name} {`,
      `    interface ${group.interface}`,
      `    virtual_router_id ${s.routerId}`,
      "    virtual_ipaddress {",
      ...s.vips.map((v) => `        ${v}`),
      "    }",
      "}",
    );
  }
  return `${lines.join("\n")}\n`;
}

/** The lab's Services for the original: `default/<name>`, router IDs 1, 2, … in the order given. */
export function originalServices(services: readonly { name: string; vips: string[] }[]): OriginalService[] {
  return services.map((s, i) => ({ namespace: "default", name: s.name, vips: s.vips, routerId: i + 1 }));
}

export const ORIGINAL_GROUP: OriginalGroup = { name: "lab", interface: NODE_IFACE };

/** A VRRP state change keepalived logged: `(<instance>) Entering MASTER STATE`. */
export interface StateChange {
  at: number;
  node: string;
  instance: string;
  state: string;
}

const ENTERING = /\(([^)]+)\) Entering (MASTER|BACKUP|FAULT) STATE/;

/** Plain keepalived on one node, started on the shared file, with its state changes collected. */
export class PlainKeepalived {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  readonly changes: StateChange[] = [];
  readonly lines: string[] = [];

  constructor(
    readonly node: LabNode,
    private readonly dir: string,
    private readonly config: string,
  ) {}

  get pidFile(): string {
    return join(this.dir, "keepalived.pid");
  }

  get vrrpPidFile(): string {
    return join(this.dir, "vrrp.pid");
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const args = [
      ...["netns", "exec", this.node.ns, "keepalived", "--dont-fork", "--log-console", "--log-detail"],
      ...["--no-syslog", "--vrrp", "--dont-respawn", `--use-file=${this.config}`, `--pid=${this.pidFile}`],
      `--vrrp_pid=${this.vrrpPidFile}`,
      `--checkers_pid=${join(this.dir, "checkers.pid")}`,
      `--bfd_pid=${join(this.dir, "bfd.pid")}`,
    ];
    const child = spawn("ip", args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, TMPDIR: this.dir },
    });
    this.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on("line", (line) => {
        this.lines.push(line);
        const m = ENTERING.exec(line);
        if (m !== null)
          this.changes.push({ at: Date.now(), node: this.node.name, instance: m[1]!, state: m[2]! });
      });
    }
    this.exited = new Promise((resolve) =>
      child.on("exit", () => {
        this.child = undefined;
        resolve();
      }),
    );
    // keepalived reads its pid files' directory and the config at once; wait until its VRRP child runs.
    for (let i = 0; i < 200 && !(await this.hasPid(this.vrrpPidFile)); i++) await sleep(25);
  }

  private async hasPid(file: string): Promise<boolean> {
    try {
      return Number((await readFile(file, "utf8")).trim()) > 0;
    } catch {
      return false;
    }
  }

  /** Re-reads the file, as the original's reloader does after kubelet updates the ConfigMap volume. */
  reload(): void {
    if (this.child?.pid !== undefined) process.kill(this.child.pid, "SIGHUP");
  }

  /** SIGTERM (a pod's graceful stop): keepalived announces priority 0 and removes its VIPs. */
  async stop(): Promise<void> {
    if (this.child?.pid === undefined) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child?.kill("SIGKILL"), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  /**
   * SIGKILL of keepalived and its VRRP child, as a crash: nothing is cleaned up. The child first: it gets
   * SIGTERM when its parent dies, and would remove its VIPs.
   */
  async kill(): Promise<void> {
    const pids = [await this.readPid(this.vrrpPidFile), this.child?.pid];
    for (const pid of pids) {
      if (pid === undefined) continue;
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone already
      }
    }
    await this.exited;
  }

  private async readPid(file: string): Promise<number | undefined> {
    try {
      const pid = Number((await readFile(file, "utf8")).trim());
      return pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }
}

/** The original's deployment in the lab: one file for every node, one plain keepalived per node. */
export class OriginalDeployment {
  readonly config: string;
  readonly nodes: PlainKeepalived[];

  constructor(
    readonly lab: Lab,
    name: string,
  ) {
    const dir = join(lab.dir, `original-${name}`);
    this.config = join(dir, "keepalived.conf");
    this.nodes = lab.nodes.map((n) => new PlainKeepalived(n, join(dir, n.name), this.config));
  }

  /** Writes the file (atomically, as a ConfigMap volume swaps its files). */
  async write(services: readonly OriginalService[]): Promise<void> {
    await mkdir(join(this.config, ".."), { recursive: true });
    await writeFile(`${this.config}.tmp`, renderOriginalConf(ORIGINAL_GROUP, services));
    await rename(`${this.config}.tmp`, this.config);
  }

  /** Starts keepalived on every node: at once, or one node after another `staggerMs` apart. */
  async start(services: readonly OriginalService[], staggerMs = 0): Promise<void> {
    await this.write(services);
    if (staggerMs === 0) {
      await Promise.all(this.nodes.map((k) => k.start()));
      return;
    }
    for (const [i, k] of this.nodes.entries()) {
      if (i > 0) await sleep(staggerMs);
      await k.start();
    }
  }

  /** Writes the file and reloads every node's keepalived. */
  async update(services: readonly OriginalService[]): Promise<void> {
    await this.write(services);
    for (const k of this.nodes) k.reload();
  }

  on(node: string): PlainKeepalived {
    const k = this.nodes.find((x) => x.node.name === node);
    if (k === undefined) throw new Error(`no node ${node} in the original's deployment`);
    return k;
  }

  changes(): StateChange[] {
    return this.nodes.flatMap((k) => k.changes).sort((a, b) => a.at - b.at);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((k) => k.stop()));
  }
}
